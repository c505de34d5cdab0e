/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The generic differ: walk the parent tree and the new tree in parallel,
 * one directory fd pair at a time, names in sorted order, and report what
 * changed to a change sink.  Works for every driver; the drivers' fast
 * paths (overlay upper scan, btrfs generations) must report the same set.
 *
 * What counts as modified is core/layer/entry-compare.h's rule: containerd's
 * continuity/fs rules (type, mode, owner, size, mtime (ns), device number,
 * link target, xattrs), and the content when those agree but the file was
 * written since the snapshot was prepared or its mtime has no nanoseconds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/diff-walk.h"
#include "layer/layer-internal.h"
#include "layer/layer.h"
#include "util/fs-util.h"
#include "util/macro.h"

/* Sorted names of directory `fd`; at the root, an apply's undo directory
 * is left out. */
static int list_dir(int fd, bool root, struct snap_names *ret)
{
	return snap_dir_list_sorted(fd, root ? SNAP_APPLY_BACKUP_PREFIX : NULL, ret);
}

/* Compare directory ofd (old tree; -1: absent, everything is added) with
 * nfd, both at d->path of length len. */
static int walk(struct snap_diff_walk *d, int ofd, int nfd, size_t len)
{
	_cleanup_(snap_names_done) struct snap_names on = { 0 }, nn = { 0 };
	int r;
	if (ofd >= 0 && (r = list_dir(ofd, len == 0, &on)) < 0)
		return snap_error_set(d->err, r, "diff: list '%s' in the parent: %s",
				      len ? d->path : ".", strerror(-r));
	if ((r = list_dir(nfd, len == 0, &nn)) < 0)
		return snap_error_set(d->err, r, "diff: list '%s': %s", len ? d->path : ".",
				      strerror(-r));
	size_t i = 0, j = 0;
	while (i < on.n || j < nn.n) {
		int c = i >= on.n ? 1 : j >= nn.n ? -1 : strcmp(on.v[i], nn.v[j]);
		const char *name = c <= 0 ? on.v[i] : nn.v[j];
		if ((r = snap_diff_walk_push(d, len, name)) < 0)
			return r;
		size_t sublen = strlen(d->path);
		if (c < 0) {
			i++;
			if ((r = snap_diff_walk_emit(d, SNAP_CHANGE_DELETE)) < 0)
				return r;
			d->path[len] = '\0';
			continue;
		}
		struct stat ns, os;
		if (fstatat(nfd, name, &ns, AT_SYMLINK_NOFOLLOW) < 0)
			return snap_error_set(d->err, negative_errno(), "diff: stat '%s': %s", d->path,
					      strerror(errno));
		bool old_dir = false;
		if (c > 0) {
			j++;
			if ((r = snap_diff_walk_emit(d, SNAP_CHANGE_ADD)) < 0)
				return r;
		} else {
			i++;
			j++;
			if (fstatat(ofd, name, &os, AT_SYMLINK_NOFOLLOW) < 0)
				return snap_error_set(d->err, negative_errno(), "diff: stat '%s' in the parent: %s",
						      d->path, strerror(errno));
			old_dir = S_ISDIR(os.st_mode) && S_ISDIR(ns.st_mode);
			r = snap_diff_walk_changed(d, ofd, nfd, name, &os, &ns);
			if (r < 0)
				return r;
			if (r > 0 && (r = snap_diff_walk_emit(d, SNAP_CHANGE_MODIFY)) < 0)
				return r;
		}
		if (S_ISDIR(ns.st_mode)) {
			_cleanup_close_ int nsub = snap_diff_walk_open_dir(d, nfd, name, O_PATH, NULL);
			if (nsub < 0)
				return nsub;
			_cleanup_close_ int osub = -EBADF;
			if (old_dir && (osub = snap_diff_walk_open_dir(d, ofd, name, O_PATH, NULL)) < 0)
				return osub;
			if ((r = walk(d, old_dir ? osub : -1, nsub, sublen)) < 0)
				return r;
		}
		d->path[len] = '\0';
	}
	return 0;
}

int snap_diff_trees(int old_dirfd, int new_dirfd, int64_t prepared_ns, struct snap_change_sink *sink,
		    struct snap_error *err)
{
	struct snap_diff_walk d = { .sink = sink, .err = err, .src_root = new_dirfd, .what = "diff",
				    .prepared_ns = prepared_ns };
	return walk(&d, old_dirfd, new_dirfd, 0);
}

int snap_layer_diff_dirfd(int old_dirfd, int new_dirfd, int fd, const struct snap_diff_opts *opts,
			  struct snap_layer_digests *ret, struct snap_error *err)
{
	struct snap_diff_collector *c = NULL;
	if (snap_diff_collector_new(new_dirfd, old_dirfd, &c) < 0)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	int r = snap_diff_trees(old_dirfd, new_dirfd, 0, snap_diff_collector_sink(c), err);
	if (r == 0)
		r = snap_diff_collector_write(c, fd, opts ? opts->compression : SNAP_COMPRESS_NONE, ret, err);
	snap_diff_collector_free(c);
	return r;
}

int snap_layer_changes_dirfd(int old_dirfd, int new_dirfd, struct snap_changes *ret,
			     struct snap_error *err)
{
	struct snap_diff_collector *c = NULL;
	if (snap_diff_collector_new(new_dirfd, old_dirfd, &c) < 0)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	int r = snap_diff_trees(old_dirfd, new_dirfd, 0, snap_diff_collector_sink(c), err);
	if (r == 0)
		r = snap_diff_collector_changes(c, ret, err);
	snap_diff_collector_free(c);
	return r;
}
