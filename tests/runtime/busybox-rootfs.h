/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal rootfs for the runtime tests: Debian's busybox-static with its
 * applet links, /etc/passwd and /etc/group with a "tester" user. */
#ifndef SNAP_TEST_BUSYBOX_ROOTFS_H
#define SNAP_TEST_BUSYBOX_ROOTFS_H

/* Where busybox-static is; NULL when it is not installed. */
const char *busybox_path(void);

/* Build the rootfs in the existing empty directory `dir`.  0 or -errno. */
int busybox_rootfs_make(const char *dir);

#endif
