/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tree copy between two directory fds, preserving everything a container
 * layer can hold: mode, owner, nanosecond times, xattrs (never
 * trusted.overlay.*), hardlinks inside the tree, symlinks (never followed),
 * device nodes, FIFOs, sockets and sparse files.
 *
 * File data and each entry's metadata are copied by util/file-copy.h
 * (FICLONE, then copy_file_range, then read/write; each fallback taken once
 * per copy and remembered).  The walk
 * uses directory fds only (openat O_NOFOLLOW + fdopendir); the relative path
 * kept alongside serves error messages and hardlink targets, which are
 * resolved inside the destination root with RESOLVE_IN_ROOT.
 *
 * Used by the vfs driver for every ACTIVE snapshot with a parent; other
 * drivers may use it wherever a full copy is needed.
 */
#ifndef SNAP_VFS_COPY_H
#define SNAP_VFS_COPY_H

#include <stdbool.h>
#include <stdint.h>
#include <snapctl/driver.h>

#include "util/file-copy.h"

/* Flags of struct vfs_copy_opts: SNAP_COPY_NO_* (util/file-copy.h), which
 * force the data-copy fallbacks (tests, benchmarks). */
#define VFS_COPY_NO_REFLINK SNAP_COPY_NO_REFLINK
#define VFS_COPY_NO_COPY_FILE_RANGE SNAP_COPY_NO_COPY_FILE_RANGE

struct vfs_copy_opts {
	unsigned flags; /* VFS_COPY_* */
	uint64_t reserved[2];
};

/* What a copy did.  Regular files are counted once per inode, under the
 * method that moved their data (an empty file counts as read_write). */
struct vfs_copy_stats {
	uint64_t files;
	uint64_t dirs;
	uint64_t symlinks;
	uint64_t specials;    /* device nodes, FIFOs, sockets */
	uint64_t hardlinks;   /* extra names linked to an inode already copied */
	uint64_t bytes;       /* logical bytes of data copied (holes excluded) */
	uint64_t reflinked;   /* files cloned with FICLONE */
	uint64_t copy_ranged; /* files copied with copy_file_range */
	uint64_t read_written;/* files copied with read/write */
};

/*
 * Copy every entry inside directory `src_dirfd` into directory `dst_dirfd`
 * (which should be empty; an existing name is an error, EEXIST), then give
 * the destination directory the source's owner, mode, xattrs and times.
 * Both fds must be directories opened for reading (not O_PATH).  opts and
 * ret_stats may be NULL.  Returns 0, or -errno with *err naming the entry
 * (relative path) and the operation that failed; the destination is then
 * partially filled and the caller removes it.
 */
int vfs_copy_tree_at(int src_dirfd, int dst_dirfd, const struct vfs_copy_opts *opts,
		      struct vfs_copy_stats *ret_stats, struct snap_error *err);

#endif
