/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The undo journal of a layer apply.  Before an existing entry is replaced
 * or removed it is renamed into an undo directory in the tree root (same
 * filesystem, so rename works everywhere, even inside a btrfs subvolume);
 * every created path and every changed directory's old metadata is logged.
 * On failure the journal is played backwards, which restores the tree
 * exactly (each undo step sees the tree as it was right after its step).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/apply-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/strset.h"

int apply_undo_push(struct apply *a, int kind, const char *path, struct undo **ret)
{
	if (a->n_undo == a->cap_undo) {
		size_t ncap = a->cap_undo ? a->cap_undo * 2 : 256;
		struct undo *nv = realloc(a->undo, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		a->undo = nv;
		a->cap_undo = ncap;
	}
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	struct undo *u = &a->undo[a->n_undo++];
	*u = (struct undo){ .kind = kind, .path = p };
	if (ret)
		*ret = u;
	return 0;
}

/* Save a pre-existing directory's metadata once, before anything in it or
 * of it changes. */
int apply_save_meta(struct apply *a, int pfd, const char *name, const char *path)
{
	void *v;
	if (snap_strmap_get(&a->layer_paths, path, &v) && v == (void *)PATH_CREATED)
		return 0;
	int r = snap_strset_add(&a->saved_meta, path);
	if (r <= 0)
		return r < 0 ? apply_fail(a, r, "out of memory") : 0;
	struct undo *u;
	if (apply_undo_push(a, UNDO_META, path, &u) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	if (fstatat(pfd, name, &u->st, AT_SYMLINK_NOFOLLOW) < 0)
		return apply_fail(a, negative_errno(), "stat '%s': %s", path[0] ? path : ".", strerror(errno));
	r = snap_xattrs_read_at(pfd, name, true, &u->xattrs);
	if (r < 0)
		return apply_fail(a, r, "read xattrs of '%s': %s", path[0] ? path : ".", strerror(-r));
	return 0;
}

int apply_save_parent_meta(struct apply *a, const char *path)
{
	size_t dl = snap_path_dir_len(path);
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return apply_fail(a, -ENOMEM, "out of memory");
	void *v;
	if (snap_strmap_get(&a->saved_meta, dir, NULL) ||
	    (snap_strmap_get(&a->layer_paths, dir, &v) && v == (void *)PATH_CREATED))
		return 0;
	const char *name;
	_cleanup_close_ int pfd = apply_open_parent(a->treefd, dir, &name);
	if (pfd < 0)
		return apply_fail(a, pfd, "open '%s': %s", dir[0] ? dir : ".", strerror(-pfd));
	return apply_save_meta(a, pfd, name, dir);
}

static int ensure_backup_dir(struct apply *a)
{
	if (a->backupfd >= 0)
		return 0;
	int r = apply_save_parent_meta(a, a->backup_name);
	if (r < 0)
		return r;
	if (mkdirat(a->treefd, a->backup_name, 0700) < 0)
		return apply_fail(a, negative_errno(), "create undo directory %s: %s", a->backup_name,
			    strerror(errno));
	a->backupfd = openat(a->treefd, a->backup_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (a->backupfd < 0) {
		r = negative_errno();
		unlinkat(a->treefd, a->backup_name, AT_REMOVEDIR);
		return apply_fail(a, r, "open undo directory: %s", strerror(-r));
	}
	return 0;
}

/* Get `path`'s existing entry out of the way: entries this layer created are
 * simply removed, older ones are moved to the undo directory. */
int apply_remove_existing(struct apply *a, int pfd, const char *name, const char *path,
			   const struct stat *st)
{
	void *v = NULL;
	snap_strmap_get(&a->layer_paths, path, &v);
	/* The cached parent may lie below what moves; the caller's own pfd
	 * (the parent of `name`) stays valid. */
	a->cache_stale = true;
	int r = apply_save_parent_meta(a, path);
	if (r < 0)
		return r;
	if (v == (void *)PATH_CREATED) {
		r = snap_rm_rf_at(pfd, name);
		return r < 0 ? apply_fail(a, r, "remove '%s': %s", path, strerror(-r)) : 0;
	}
	if ((r = ensure_backup_dir(a)) < 0)
		return r;
	char bname[32];
	snprintf(bname, sizeof(bname), "%u", a->n_backups);
	struct undo *u;
	if (apply_undo_push(a, UNDO_BACKUP, path, &u) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	if (renameat(pfd, name, a->backupfd, bname) < 0) {
		r = negative_errno();
		free(u->path);
		a->n_undo--;
		return apply_fail(a, r, "move '%s' aside: %s", path, strerror(-r));
	}
	u->backup = a->n_backups++;
	return 0;
}

int apply_mark_created(struct apply *a, const char *path)
{
	if (apply_undo_push(a, UNDO_CREATED, path, NULL) < 0 ||
	    snap_strmap_set(&a->layer_paths, path, (void *)PATH_CREATED) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	return 0;
}

/* ---- playing the journal back ---- */

static int restore_meta(struct apply *a, const struct undo *u)
{
	const char *name;
	_cleanup_close_ int pfd = apply_open_parent(a->treefd, u->path, &name);
	if (pfd < 0)
		return pfd;
	int r = 0;
	if (fchownat(pfd, name, u->st.st_uid, u->st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(pfd, name, u->st.st_mode & 07777, 0) < 0)
		r = negative_errno();
	_cleanup_(snap_xattrs_done) struct snap_xattrs now = { 0 };
	if (snap_xattrs_read_at(pfd, name, true, &now) == 0) {
		for (size_t i = 0; i < now.n; i++) {
			bool keep = false;
			for (size_t j = 0; j < u->xattrs.n && !keep; j++)
				keep = strcmp(now.v[i].name, u->xattrs.v[j].name) == 0;
			if (!keep)
				snap_xattr_remove_at(pfd, name, now.v[i].name);
		}
	}
	for (size_t j = 0; j < u->xattrs.n; j++)
		snap_xattr_set_at(pfd, name, u->xattrs.v[j].name, u->xattrs.v[j].value, u->xattrs.v[j].size);
	struct timespec ts[2] = { u->st.st_atim, u->st.st_mtim };
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 && r == 0)
		r = negative_errno();
	return r;
}

void apply_rollback(struct apply *a)
{
	apply_cache_drop(a);
	unsigned failed = 0;
	const struct undo *root_meta = NULL;
	for (size_t i = a->n_undo; i-- > 0;) {
		const struct undo *u = &a->undo[i];
		const char *name;
		int r;
		if (u->kind == UNDO_META) {
			r = restore_meta(a, u);
			if (!u->path[0])
				root_meta = u;
		} else {
			_cleanup_close_ int pfd = apply_open_parent(a->treefd, u->path, &name);
			if (pfd < 0) {
				r = pfd;
			} else if (u->kind == UNDO_CREATED) {
				r = snap_rm_rf_at(pfd, name);
			} else {
				char bname[32];
				snprintf(bname, sizeof(bname), "%u", u->backup);
				r = renameat(a->backupfd, bname, pfd, name) < 0 ? negative_errno() : 0;
			}
		}
		if (r < 0)
			failed++;
	}
	if (a->backupfd >= 0) {
		if (snap_rm_rf_at(a->treefd, a->backup_name) < 0)
			failed++;
		/* Removing the undo directory touched the root once more. */
		if (root_meta)
			restore_meta(a, root_meta);
	}
	if (failed && a->err) {
		size_t len = strlen(a->err->message);
		snprintf(a->err->message + len, sizeof(a->err->message) - len,
			 " (apply_rollback incomplete: %u steps failed)", failed);
	}
}
