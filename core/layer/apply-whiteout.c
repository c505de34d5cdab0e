/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whiteouts of a layer apply: `.wh.NAME` hides NAME of the layers below,
 * `.wh..wh..opq` hides everything below its directory.  Lower contents in
 * the tree itself are moved to the undo journal; a driver's whiteout hook
 * (overlay) records the whiteout in its own form.  With a hook the tree
 * holds only this layer, so three more things are done here:
 *   - an opaque marker at the root becomes a whiteout of every name of the
 *     layers below (overlayfs ignores overlay.opaque on a layer's root);
 *   - an opaque marker below a symlink marks the directory it leads to,
 *     resolved inside the root;
 *   - a later entry of the layer below a name it whited out replaces the
 *     whiteout with a new directory, opaque so that the hidden one stays
 *     hidden (apply-resolve.c, apply-entry.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/apply-internal.h"
#include "layer/layer-names.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/strset.h"

static int purge(struct apply *a, int dirfd, const char *dirpath)
{
	int lfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0)
		return apply_fail(a, negative_errno(), "open '%s': %s", dirpath[0] ? dirpath : ".",
			    strerror(errno));
	_cleanup_closedir_ DIR *d = fdopendir(lfd);
	if (!d) {
		close(lfd);
		return apply_fail(a, -ENOMEM, "out of memory");
	}
	/* Collect first: entries are renamed away while we go. */
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!dirpath[0] && strcmp(de->d_name, a->backup_name) == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(names, cap * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			names = nv;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_free_ char *child = NULL;
		if ((dirpath[0] ? asprintf(&child, "%s/%s", dirpath, names[i])
				: asprintf(&child, "%s", names[i])) < 0) {
			r = -ENOMEM;
			break;
		}
		void *v = NULL;
		snap_strmap_get(&a->layer_paths, child, &v);
		struct stat st;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = apply_fail(a, negative_errno(), "stat '%s': %s", child, strerror(errno));
			break;
		}
		if (!v) {
			r = apply_remove_existing(a, dirfd, names[i], child, &st);
		} else if (v == (void *)PATH_UPDATED && S_ISDIR(st.st_mode)) {
			/* This layer's directory, but older contents below it are
			 * hidden too. */
			_cleanup_close_ int sub = openat(dirfd, names[i],
							 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? apply_fail(a, negative_errno(), "open '%s': %s", child, strerror(errno))
				    : purge(a, sub, child);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r == -ENOMEM)
		return apply_fail(a, r, "out of memory");
	return r;
}

static int call_hook(struct apply *a, int dirfd, const char *name, int kind)
{
	struct snap_error herr = { 0 };
	int r = a->hook->fn(a->hook->state, dirfd, name, kind, &herr);
	if (r < 0)
		return apply_fail(a, r, "driver whiteout: %s", herr.message[0] ? herr.message : strerror(-r));
	return 0;
}

/* ---- this layer's whiteouts in the way of its later entries ---- */

#define WHITEOUT_KEY_MAX 48
static const char *whiteout_key(char buf[static WHITEOUT_KEY_MAX], const struct stat *st)
{
	snprintf(buf, WHITEOUT_KEY_MAX, "%jx:%jx", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
	return buf;
}

/* The hook made `name` in pfd a whiteout (or nothing, for the xattr form in
 * an opaque directory): remember its identity. */
static int remember_whiteout(struct apply *a, int pfd, const char *name, const char *path)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : apply_fail(a, negative_errno(), "stat '%s': %s", path, strerror(errno));
	char k[WHITEOUT_KEY_MAX];
	return snap_strset_add(&a->whiteout_ids, whiteout_key(k, &st)) < 0 ? apply_fail(a, -ENOMEM, "out of memory")
									   : 0;
}

bool apply_is_layer_whiteout(struct apply *a, const struct stat *st)
{
	bool shape = (S_ISCHR(st->st_mode) && st->st_rdev == 0) || (S_ISREG(st->st_mode) && st->st_size == 0);
	char k[WHITEOUT_KEY_MAX];
	return shape && a->whiteout_ids.n > 0 && snap_strset_contains(&a->whiteout_ids, whiteout_key(k, st));
}

bool apply_is_opaque_dir(struct apply *a, const struct stat *st)
{
	char k[WHITEOUT_KEY_MAX];
	return a->opaque_ids.n > 0 && snap_strset_contains(&a->opaque_ids, whiteout_key(k, st));
}

/* The hook makes the directory `name` in pfd opaque: remembered, so that
 * nothing below it is looked up any more (apply-resolve.c). */
static int make_opaque(struct apply *a, int pfd, const char *name)
{
	int r = call_hook(a, pfd, name, SNAP_WHITEOUT_OPAQUE);
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return apply_fail(a, negative_errno(), "stat '%s': %s", name, strerror(errno));
	char k[WHITEOUT_KEY_MAX];
	return snap_strset_add(&a->opaque_ids, whiteout_key(k, &st)) < 0 ? apply_fail(a, -ENOMEM, "out of memory")
									 : 0;
}

int apply_hide_lower_dir(struct apply *a, int pfd, const char *name)
{
	return make_opaque(a, pfd, name);
}

/* ---- opaque markers ---- */

/* An opaque marker at the root with a driver hook: overlayfs never reads
 * overlay.opaque on the root of a layer, so every name of the layers below
 * gets a whiteout of its own (those of this layer stay, as below any
 * opaque marker). */
static int opaque_root(struct apply *a)
{
	if (!a->hook->lower_root)
		return apply_fail(a, -EOPNOTSUPP, "opaque marker at the root: the layers below cannot be listed here");
	struct snap_error herr = { 0 };
	int lfd = a->hook->lower_root(a->hook->state, &herr);
	if (lfd < 0)
		return apply_fail(a, lfd, "opaque marker at the root: list the layers below: %s",
				  herr.message[0] ? herr.message : strerror(-lfd));
	_cleanup_(snap_names_done) struct snap_names names = { 0 };
	int r = snap_dir_list_sorted(lfd, SNAP_APPLY_BACKUP_PREFIX, &names);
	if (r < 0)
		return apply_fail(a, r, "opaque marker at the root: list the layers below: %s", strerror(-r));
	for (size_t i = 0; i < names.n; i++) {
		/* Not a name an apply can create: never read as a marker. */
		if (strncmp(names.v[i], ".wh.", 4) == 0)
			continue;
		_cleanup_free_ char *w = NULL;
		if (asprintf(&w, ".wh.%s", names.v[i]) < 0)
			return apply_fail(a, -ENOMEM, "out of memory");
		if ((r = apply_whiteout(a, w)) < 0)
			return r;
	}
	return 0;
}

/* `dir` is not a directory: fine when this layer whited it out (nothing
 * below it to hide), else refused. */
static int opaque_under_non_dir(struct apply *a, const char *dir)
{
	const char *name;
	_cleanup_close_ int pfd = apply_open_parent(a->treefd, dir, &name);
	struct stat st;
	if (pfd >= 0 && fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && apply_is_layer_whiteout(a, &st))
		return 0;
	return apply_fail(a, -EINVAL, "opaque whiteout under '%s', which is not a directory", dir);
}

static int apply_opaque(struct apply *a, const char *dir)
{
	int r = snap_strset_add(&a->opaque_done, dir);
	if (r < 0)
		return apply_fail(a, r, "out of memory");
	if (r == 0) /* once per directory: repeated markers cost nothing */
		return 0;
	bool hook = a->hook && a->hook->fn;
	_cleanup_close_ int dfd = dir[0] ? snap_openat_in_root(a->treefd, dir, O_PATH | O_DIRECTORY, 0)
				     : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		dfd = negative_errno();
	if (dfd == -ENOENT && hook) {
		/* Not in the tree: made there when the layers below have it
		 * (maybe through one of their symlinks), so it can be marked. */
		_cleanup_free_ char *where = NULL;
		if ((r = apply_probe_entry(a, dir)) == 0 && (r = apply_make_parents(a, dir, &where)) == 0)
			dfd = where[0] ? snap_openat_in_root(a->treefd, where, O_PATH | O_DIRECTORY, 0)
				       : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		else if (r == -ENOENT || r == -ENOTDIR)
			dfd = r;
		else
			return r;
		if (dfd == -1)
			dfd = negative_errno();
	}
	if (dfd == -ENOENT)
		return 0; /* nothing below to hide */
	if (dfd == -ENOTDIR)
		return opaque_under_non_dir(a, dir);
	if (dfd < 0)
		return apply_fail(a, dfd, "open '%s': %s", dir, strerror(-dfd));
	if ((r = purge(a, dfd, dir)) < 0)
		return r;
	if (!hook)
		return 0;
	/* The hook marks the directory itself, reached without symlinks (a
	 * lower symlink to a directory is followed inside the root, as the
	 * purge above did). */
	_cleanup_free_ char *where = NULL;
	if ((r = apply_resolved_dir(a, dir, &where)) < 0)
		return r;
	if (!where[0])
		return opaque_root(a);
	const char *name;
	_cleanup_close_ int pfd = apply_open_parent(a->treefd, where, &name);
	if (pfd < 0)
		return apply_fail(a, pfd, "open parent of '%s': %s", where, strerror(-pfd));
	if ((r = apply_save_meta(a, pfd, name, where)) < 0)
		return r;
	return make_opaque(a, pfd, name);
}

int apply_whiteout(struct apply *a, const char *path)
{
	const char *base = snap_path_base(path);
	size_t dl = snap_path_dir_len(path);
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return apply_fail(a, -ENOMEM, "out of memory");
	if (strcmp(base, ".wh..wh..opq") == 0)
		return apply_opaque(a, dir);
	if (strncmp(base, ".wh..wh.", 8) == 0)
		return 0; /* aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not a whiteout */
	const char *victim = base + 4;
	if (!victim[0] || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
		return apply_fail(a, -EINVAL, "invalid whiteout name");
	_cleanup_free_ char *tpath = NULL;
	if ((dl ? asprintf(&tpath, "%s/%s", dir, victim) : asprintf(&tpath, "%s", victim)) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	/* Whiteouts only hide the layers below, never this layer's entries. */
	if (snap_strmap_get(&a->layer_paths, tpath, NULL))
		return 0;
	bool hook = a->hook && a->hook->fn;
	const char *name;
	int pfd;
	if (hook) {
		/* Nothing by that name, in the tree or below: nothing to hide
		 * (and no parent directories made for it). */
		int q = apply_probe_entry(a, tpath);
		if (q == -ENOENT || q == -ENOTDIR)
			return 0;
		if (q < 0)
			return q;
		pfd = apply_get_parent(a, tpath, &name);
		if (pfd < 0)
			return pfd;
	} else {
		/* Without a parent there is nothing to delete. */
		if (a->cache_stale)
			apply_cache_drop(a);
		a->cache_stale = false;
		_cleanup_close_ int probe = dl ? snap_openat_in_root(a->treefd, dir, O_PATH | O_DIRECTORY, 0)
					   : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (probe == -ENOENT || probe == -ENOTDIR)
			return 0;
		pfd = apply_get_parent(a, tpath, &name);
		if (pfd < 0)
			return pfd;
	}
	int r = apply_save_parent_meta(a, pfd, tpath);
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if ((r = apply_remove_existing(a, pfd, name, tpath, &st)) < 0)
			return r;
	} else if (errno != ENOENT) {
		return apply_fail(a, negative_errno(), "stat '%s': %s", tpath, strerror(errno));
	}
	if (!hook)
		return 0;
	/* Whatever the hook creates (a whiteout device) is removed on undo. */
	if ((r = apply_undo_created(a, pfd, tpath)) < 0 || (r = call_hook(a, pfd, name, SNAP_WHITEOUT_ENTRY)) < 0)
		return r;
	return remember_whiteout(a, pfd, name, tpath);
}
