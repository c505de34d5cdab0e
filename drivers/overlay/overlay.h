/* SPDX-License-Identifier: Apache-2.0 */
/* The overlayfs driver: snapshots are upper/work directories stacked over
 * their parents' upper directories with overlayfs. */
#ifndef SNAP_DRIVER_OVERLAY_H
#define SNAP_DRIVER_OVERLAY_H

#include <snapctl/driver.h>

extern const struct snap_driver snap_overlay_driver;

#endif
