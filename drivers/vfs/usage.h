/* SPDX-License-Identifier: Apache-2.0 */
/* Disk usage of a directory tree, walked with directory fds. */
#ifndef SNAP_VFS_USAGE_H
#define SNAP_VFS_USAGE_H

#include <snapctl/driver.h>

/*
 * Sum the disk usage of the tree at directory `dirfd`, the directory itself
 * included: size = st_blocks * 512 of every inode, inodes = number of
 * inodes; an inode with several names inside the tree is counted once (as
 * containerd's fs.DiskUsage does).  Symlinks are not followed.  Returns 0
 * and fills *ret, or -errno with *err naming the entry (relative path).
 */
int snap_tree_usage_at(int dirfd, struct snap_usage *ret, struct snap_error *err);

#endif
