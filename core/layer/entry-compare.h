/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one rule by which every differ decides whether an entry present in
 * both trees changed: the generic walk (core/layer/layer-diff.c) and the drivers'
 * fast paths (drivers/overlay/diff.c, drivers/btrfs/diff.c).  The fast diffs
 * are byte-identical to the generic one only because they share it.
 *
 * It is containerd's continuity rule: type, mode, owner, size (not for
 * directories), mtime with nanoseconds, device numbers, link target,
 * xattrs (overlayfs' own trusted.overlay.* / user.overlay.* and xfs'
 * trusted.SGI_ACL_* never count), plus one rule continuity lacks: when all
 * of that is equal, the content of a regular file is read when its ctime
 * is at or after the snapshot's prepare time (the inode was written,
 * renamed or exchanged since; same size and mtime prove nothing then), or
 * when the mtime has no nanoseconds (a filesystem or tar that cannot tell).
 * The files a driver copied (vfs) or shared (btrfs snapshot, overlay lower)
 * when it built the snapshot are older than that time and are not read.
 * Content is not read either when both files map to the same extents of
 * one filesystem (a btrfs snapshot's inherited file, a reflink): the same
 * blocks.
 *
 * Built into libsnapctl and into every plugin (libc only), like fs-util.c.
 */
#ifndef SNAP_ENTRY_COMPARE_H
#define SNAP_ENTRY_COMPARE_H

#include <stdint.h>
#include <sys/stat.h>

/* Compare `name` in old_dirfd (stat *os) with `name` in new_dirfd (*ns),
 * never following a symlink.  prepared_ns: the new tree's snapshot was
 * fully built by then (CLOCK_REALTIME_COARSE, ns since the epoch; struct
 * snap_ref's prepared_ns), or 0 when unknown: then every regular file whose
 * metadata match is read.  Returns 1 changed, 0 unchanged, or -errno
 * with *ret_step naming the step that failed ("readlink", "read xattrs of",
 * "open", "read"), for the caller's message. */
int snap_entry_changed(int old_dirfd, int new_dirfd, const char *name, const struct stat *os,
		       const struct stat *ns, int64_t prepared_ns, const char **ret_step);

#endif
