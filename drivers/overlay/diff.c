/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fast diff: the changes of a snapshot against its parent, found by
 * walking only its upper dir.
 *
 * Three trees are in play, all read through directory fds:
 *   U  the upper dir (ROOT/snapshots/<id>/fs): where to look;
 *   M  the snapshot as a container sees it: a private read-only overlay of
 *      U over the parents (detached mount, gone with its fd);
 *   P  the parent as the generic differ sees it: the parent's fs for one
 *      parent, a private read-only overlay of the parents otherwise.
 * An entry of U is a candidate; whether and how it changed is decided by
 * comparing M and P at that path with the same rules as the core's generic
 * differ (core/layer/layer-diff.c: type, mode, owner, size, mtime, rdev, link
 * target, xattrs, content when the mtime has no nanoseconds), so that both
 * report the same set of changes and the layer tars are byte-identical.
 *
 * What U holds and what it means:
 *   - a name in U that M does not show is a whiteout (device 0/0, or the
 *     xattr form): DELETE when P has it;
 *   - a directory merged with the layers below: its own metadata is compared,
 *     then only its entries in U are visited (the rest comes unchanged from
 *     the same lower layers P is made of);
 *   - an opaque directory (overlay.opaque=y) or a redirected one
 *     (overlay.redirect: a renamed directory whose contents still live in a
 *     lower layer at the old path): its whole subtree in M is compared with
 *     P, so a renamed directory is emitted whole at its new path; the old
 *     path holds a whiteout in U and yields the DELETE;
 *   - a metacopy file (overlay.metacopy: metadata copied up, data still
 *     below): nothing special, because entries are read from M, where the
 *     data is.
 * Every ADD/MODIFY names M as its source.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/diff-walk.h"
#include "layer/layer-names.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "ovl-internal.h"

struct differ {
	struct snap_diff_walk w; /* w.src_root: M, the source of every ADD/MODIFY */
	const char *xprefix;     /* "trusted.overlay." or "user.overlay." */
};

/* Sorted names of directory `fd`.  The core's apply keeps its undo dir in
 * the root while it runs; the generic differ skips it too. */
static int list_dir(int fd, bool root, struct snap_names *ret)
{
	return snap_dir_list_sorted(fd, root ? SNAP_APPLY_BACKUP_PREFIX : NULL, ret);
}

/* Compare one entry present in M (ns) with P (os, when has_old) at d->w.path;
 * returns 0 or -errno. */
static int compare_entry(struct differ *d, int pdir, int mdir, const char *name, const struct stat *ns,
			 const struct stat *os, bool has_old, bool *ret_both_dirs)
{
	*ret_both_dirs = false;
	if (!has_old)
		return snap_diff_walk_emit(&d->w, SNAP_CHANGE_ADD);
	int r = snap_diff_walk_changed(&d->w, pdir, mdir, name, os, ns);
	if (r < 0)
		return r;
	if (r > 0 && (r = snap_diff_walk_emit(&d->w, SNAP_CHANGE_MODIFY)) < 0)
		return r;
	*ret_both_dirs = S_ISDIR(os->st_mode) && S_ISDIR(ns->st_mode);
	return 0;
}

/* The generic two-tree walk of P directory pdir (-1: absent, all added) and
 * M directory mdir, at d->w.path of length len. */
static int walk_both(struct differ *d, int pdir, int mdir, size_t len)
{
	_cleanup_(snap_names_done) struct snap_names on = { 0 }, nn = { 0 };
	int r;
	if (pdir >= 0 && (r = list_dir(pdir, len == 0, &on)) < 0)
		return snap_error_set(d->w.err, r, "overlay diff: list '%s' in the parent: %s", len ? d->w.path : ".",
				      strerror(-r));
	if ((r = list_dir(mdir, len == 0, &nn)) < 0)
		return snap_error_set(d->w.err, r, "overlay diff: list '%s': %s", len ? d->w.path : ".", strerror(-r));
	size_t i = 0, j = 0;
	while (i < on.n || j < nn.n) {
		int c = i >= on.n ? 1 : j >= nn.n ? -1 : strcmp(on.v[i], nn.v[j]);
		const char *name = c <= 0 ? on.v[i] : nn.v[j];
		if ((r = snap_diff_walk_push(&d->w, len, name)) < 0)
			return r;
		size_t sublen = strlen(d->w.path);
		if (c < 0) {
			i++;
			if ((r = snap_diff_walk_emit(&d->w, SNAP_CHANGE_DELETE)) < 0)
				return r;
			d->w.path[len] = '\0';
			continue;
		}
		struct stat ns, os;
		if (fstatat(mdir, name, &ns, AT_SYMLINK_NOFOLLOW) < 0)
			return snap_error_set(d->w.err, negative_errno(), "overlay diff: stat '%s': %s", d->w.path,
					      strerror(errno));
		if (c == 0 && fstatat(pdir, name, &os, AT_SYMLINK_NOFOLLOW) < 0)
			return snap_error_set(d->w.err, negative_errno(), "overlay diff: stat '%s' in the parent: %s",
					      d->w.path, strerror(errno));
		if (c > 0)
			j++;
		else {
			i++;
			j++;
		}
		bool both_dirs;
		if ((r = compare_entry(d, pdir, mdir, name, &ns, &os, c == 0, &both_dirs)) < 0)
			return r;
		if (S_ISDIR(ns.st_mode)) {
			_cleanup_close_ int msub = snap_diff_walk_open_dir(&d->w, mdir, name, O_RDONLY, "the snapshot");
			if (msub < 0)
				return msub;
			_cleanup_close_ int psub = -EBADF;
			if (both_dirs && (psub = snap_diff_walk_open_dir(&d->w, pdir, name, O_RDONLY, "the parent")) < 0)
				return psub;
			if ((r = walk_both(d, both_dirs ? psub : -1, msub, sublen)) < 0)
				return r;
		}
		d->w.path[len] = '\0';
	}
	return 0;
}

/* overlay.opaque = "y" or an overlay.redirect on upper dir `fd`: the dir
 * does not merge with the lower dir at its own path. */
static bool replaces_lower(struct differ *d, int fd)
{
	char k[64], v[8];
	snprintf(k, sizeof(k), "%sopaque", d->xprefix);
	ssize_t n = fgetxattr(fd, k, v, sizeof(v));
	if (n == 1 && v[0] == 'y')
		return true;
	snprintf(k, sizeof(k), "%sredirect", d->xprefix);
	return fgetxattr(fd, k, NULL, 0) >= 0;
}

/* Visit the entries of upper dir udir (merged with lower dirs at the same
 * path), whose views are mdir in M and pdir in P (-1: not a dir in P). */
static int walk_upper(struct differ *d, int udir, int mdir, int pdir, size_t len)
{
	_cleanup_(snap_names_done) struct snap_names un = { 0 };
	int r = list_dir(udir, len == 0, &un);
	if (r < 0)
		return snap_error_set(d->w.err, r, "overlay diff: list '%s' in the upper dir: %s", len ? d->w.path : ".",
				      strerror(-r));
	for (size_t i = 0; i < un.n; i++) {
		const char *name = un.v[i];
		if ((r = snap_diff_walk_push(&d->w, len, name)) < 0)
			return r;
		size_t sublen = strlen(d->w.path);
		struct stat ns, os;
		bool has_old = pdir >= 0 && fstatat(pdir, name, &os, AT_SYMLINK_NOFOLLOW) == 0;
		if (!has_old && pdir >= 0 && errno != ENOENT)
			return snap_error_set(d->w.err, negative_errno(), "overlay diff: stat '%s' in the parent: %s",
					      d->w.path, strerror(errno));
		if (fstatat(mdir, name, &ns, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return snap_error_set(d->w.err, negative_errno(), "overlay diff: stat '%s': %s", d->w.path,
						      strerror(errno));
			/* In U, hidden in M: a whiteout. */
			if (has_old && (r = snap_diff_walk_emit(&d->w, SNAP_CHANGE_DELETE)) < 0)
				return r;
			d->w.path[len] = '\0';
			continue;
		}
		bool both_dirs;
		if ((r = compare_entry(d, pdir, mdir, name, &ns, &os, has_old, &both_dirs)) < 0)
			return r;
		if (S_ISDIR(ns.st_mode)) {
			_cleanup_close_ int msub = snap_diff_walk_open_dir(&d->w, mdir, name, O_RDONLY, "the snapshot");
			if (msub < 0)
				return msub;
			_cleanup_close_ int psub = -EBADF;
			if (both_dirs && (psub = snap_diff_walk_open_dir(&d->w, pdir, name, O_RDONLY, "the parent")) < 0)
				return psub;
			_cleanup_close_ int usub = -EBADF;
			struct stat us;
			bool merge = both_dirs && fstatat(udir, name, &us, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(us.st_mode);
			if (merge) {
				if ((usub = snap_diff_walk_open_dir(&d->w, udir, name, O_RDONLY, "the upper dir")) < 0)
					return usub;
				merge = !replaces_lower(d, usub);
			}
			if (merge)
				r = walk_upper(d, usub, msub, psub, sublen);
			else
				r = walk_both(d, both_dirs ? psub : -1, msub, sublen);
			if (r < 0)
				return r;
		}
		d->w.path[len] = '\0';
	}
	return 0;
}

/* Detached read-only overlay of `layers` (nearest first), or the single
 * layer's dir opened as is: overlayfs needs two lowers without an upper, and
 * a lone layer is what the generic differ sees through a bind anyway. */
static int open_view(struct ovl_state *st, const char *const *layers, size_t n, unsigned opts, struct snap_error *err)
{
	if (n == 1) {
		int fd = open(layers[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return snap_error_set(err, negative_errno(), "open %s: %s", layers[0], strerror(errno));
		return fd;
	}
	struct ovl_spec spec;
	int r = ovl_spec_view(st, layers, n, opts, &spec);
	if (r < 0)
		return snap_error_set(err, r, "overlay view: out of memory");
	r = ovl_open_detached(st, &spec, err);
	ovl_spec_done(&spec);
	return r;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int ovl_diff(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
	     struct snap_change_sink *sink, struct snap_error *err)
{
	struct ovl_state *st = state;
	size_t n = parents->n + 1;
	char **layers = calloc(n, sizeof(char *));
	if (!layers)
		return snap_error_set(err, -ENOMEM, "overlay diff of '%s': out of memory", snap->key);
	for (size_t i = 0; i < n; i++)
		if (!(layers[i] = ovl_join(i == 0 ? snap->path : parents->refs[i - 1].path, "fs"))) {
			strv_free(layers, n);
			return snap_error_set(err, -ENOMEM, "overlay diff of '%s': out of memory", snap->key);
		}

	unsigned own = 0;
	int r = ovl_opts_read(snap->path, &own);
	if (r < 0) {
		strv_free(layers, n);
		return snap_error_set(err, r, "overlay diff of '%s': read %s/%s: %s", snap->key, snap->path,
				      OVL_OPTS_FILE, strerror(-r));
	}
	own |= ovl_opts_chain(parents);

	_cleanup_close_ int ufd = open(layers[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int mfd = -EBADF, pfd = -EBADF;
	if (ufd < 0)
		r = snap_error_set(err, negative_errno(), "open %s: %s", layers[0], strerror(errno));
	else if (parents->n > 0) {
		mfd = r = open_view(st, (const char *const *)layers, n, own, err);
		if (r >= 0)
			pfd = r = open_view(st, (const char *const *)layers + 1, n - 1, own, err);
	}
	strv_free(layers, n);
	if (r < 0)
		return snap_error_prefix(err, "overlay diff of '%.64s'", snap->key);

	struct differ d = {
		.w = { .sink = sink, .err = err, .src_root = parents->n > 0 ? mfd : ufd, .what = "overlay diff",
		       .prepared_ns = snap->prepared_ns },
		.xprefix = (own & OVL_OPT_USERXATTR) ? "user.overlay." : "trusted.overlay.",
	};
	if (parents->n == 0)
		/* A bind of the upper dir: everything in it is new, whiteout
		 * devices included (they are plain devices there). */
		r = walk_both(&d, -1, ufd, 0);
	else
		r = walk_upper(&d, ufd, mfd, pfd, 0);
	return r;
}
