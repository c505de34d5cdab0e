/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every differ's walk shares: the generic one (core/layer/layer-diff.c)
 * and the drivers' fast paths (drivers/overlay/diff.c, drivers/btrfs/diff.c).
 * The path being visited (one buffer, components pushed and popped by
 * length), the report of a change to the sink, the comparison of an entry
 * present in both trees (core/layer/entry-compare.h) and the opening of a
 * subdirectory, each failure named with the differ's prefix and the path.
 *
 * A driver-support header: built into libsnapctl and into every plugin
 * (libc only), like entry-compare.c.
 */
#ifndef SNAP_DIFF_WALK_H
#define SNAP_DIFF_WALK_H

#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <snapctl/driver.h>

struct snap_diff_walk {
	struct snap_change_sink *sink;
	struct snap_error *err;
	int src_root;     /* handed to the sink with every ADD and MODIFY */
	const char *what; /* the prefix of every message: "diff", "overlay diff" */
	int64_t prepared_ns; /* the new tree's snap_ref.prepared_ns; 0: unknown (entry-compare.h) */
	char path[PATH_MAX];
};

/* Report d->path as changed (SNAP_CHANGE_*); 0 or the sink's -errno. */
int snap_diff_walk_emit(struct snap_diff_walk *d, int kind);

/* Append `name` to the first `len` bytes of d->path; -ENAMETOOLONG. */
int snap_diff_walk_push(struct snap_diff_walk *d, size_t len, const char *name);

/* 1 when `name` changed between old_dirfd (*os) and new_dirfd (*ns), 0 when
 * not, -errno with the failed step in the message. */
int snap_diff_walk_changed(struct snap_diff_walk *d, int old_dirfd, int new_dirfd, const char *name,
			   const struct stat *os, const struct stat *ns);

/* Open directory `name` below dirfd without following a symlink, with
 * `flags` (O_PATH or O_RDONLY); `tree` names the tree in the message (may be
 * NULL).  Returns the fd or -errno. */
int snap_diff_walk_open_dir(struct snap_diff_walk *d, int dirfd, const char *name, int flags, const char *tree);

#endif
