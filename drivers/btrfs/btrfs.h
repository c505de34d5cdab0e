/* SPDX-License-Identifier: Apache-2.0 */
/* The btrfs driver: every snapshot's tree is a btrfs subvolume. */
#ifndef SNAP_DRIVER_BTRFS_H
#define SNAP_DRIVER_BTRFS_H

#include <snapctl/driver.h>

extern const struct snap_driver snap_btrfs_driver;

#endif
