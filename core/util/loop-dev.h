/* SPDX-License-Identifier: Apache-2.0 */
/* Loop devices for images the code makes itself (the btrfs driver's own
 * filesystem, fstest's backing filesystems). */
#ifndef SNAP_LOOP_DEV_H
#define SNAP_LOOP_DEV_H

#include <snapctl/driver.h>

/* Attach the image open as imgfd to a free loop device with autoclear
 * (LOOP_CONFIGURE, or LOOP_SET_FD + LOOP_SET_STATUS64 before 5.8), direct
 * I/O where the host filesystem allows.  Returns an fd on the loop device:
 * keep it open until the device is mounted (with autoclear, closing the
 * last reference detaches it), and its number in *ret_n; or -errno with
 * err set. */
int snap_loop_attach(int imgfd, const char *image, unsigned *ret_n, struct snap_error *err);

#endif
