/* SPDX-License-Identifier: Apache-2.0 */
/* A fresh filesystem made for one run (fstest's backing filesystems,
 * bench --fs): its mkfs in a sparse image, mounted from a loop device. */
#ifndef SNAP_SCRATCH_FS_H
#define SNAP_SCRATCH_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <snapctl/driver.h>

/* ext4, xfs or btrfs. */
bool snap_scratch_fs_known(const char *type);

/*
 * Create the sparse file `image` of `size` bytes (it must not exist), make
 * a `type` filesystem in it and mount it at `mnt` (which exists) from a
 * loop device attached with autoclear, with direct I/O where the host
 * filesystem allows it (a disk has no page cache below it: the buffered
 * loop of `mount -o loop` copies every page written back into the image
 * file's page cache).  Nothing writes behind the caller's work: no lazy
 * inode-table init (ext4 mounted with noinit_itable), no discard.
 * Unmounting detaches the loop device; removing the image is the
 * caller's, also on failure (it may do so as soon as this returns: the
 * loop device holds it open).  *ret_direct_io (may be NULL): whether the
 * loop device does direct I/O.  0, or -errno with err saying what failed
 * (mkfs's last line of output).
 */
int snap_scratch_fs_make(const char *type, const char *image, int64_t size, const char *mnt, bool *ret_direct_io,
			 struct snap_error *err);

#endif
