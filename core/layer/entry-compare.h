/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one rule by which every differ decides whether an entry present in
 * both trees changed: the generic walk (core/layer/layer-diff.c) and the drivers'
 * fast paths (drivers/overlay/diff.c, drivers/btrfs/diff.c).  The fast diffs
 * are byte-identical to the generic one only because they share it.
 *
 * It is containerd's continuity rule: type, mode, owner, size (not for
 * directories), mtime with nanoseconds, device numbers, link target,
 * xattrs (overlayfs' own trusted.overlay.* / user.overlay.* never count),
 * and the content of regular files only when everything else is equal and
 * the mtime has no nanoseconds (a filesystem that cannot tell).  Content
 * is not read when both files map to the same extents of one filesystem
 * (a btrfs snapshot's inherited file, a reflink): the same blocks.
 *
 * Built into libsnapctl and into every plugin (libc only), like fs-util.c.
 */
#ifndef SNAP_ENTRY_COMPARE_H
#define SNAP_ENTRY_COMPARE_H

#include <sys/stat.h>

/* Compare `name` in old_dirfd (stat *os) with `name` in new_dirfd (*ns),
 * never following a symlink.  Returns 1 changed, 0 unchanged, or -errno
 * with *ret_step naming the step that failed ("readlink", "read xattrs of",
 * "open", "read"), for the caller's message. */
int snap_entry_changed(int old_dirfd, int new_dirfd, const char *name, const struct stat *os,
		       const struct stat *ns, const char **ret_step);

#endif
