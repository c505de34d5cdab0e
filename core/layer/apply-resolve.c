/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path resolution for a layer apply, confined to the tree's directory fd:
 * entry names are checked and normalized, parents are opened with
 * snap_openat_in_root (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, or its
 * fd-walking fallback) and cached across entries; the last component is
 * only touched with *at() calls that never follow it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/apply-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

void apply_cache_drop(struct apply *a)
{
	free(a->cache_dir);
	a->cache_dir = NULL;
	free(a->cache_resolved);
	a->cache_resolved = NULL;
	if (a->cache_fd >= 0)
		close(a->cache_fd);
	a->cache_fd = -EBADF;
}

/* Open the parent directory of `path`; name = its last component.  "" (the
 * root) gives the root's parent as the root itself and name ".". */
int apply_open_parent(int treefd, const char *path, const char **ret_name)
{
	size_t dl = snap_path_dir_len(path);
	*ret_name = path[0] ? snap_path_base(path) : ".";
	if (dl == 0) {
		int fd = openat(treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? negative_errno() : fd;
	}
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return -ENOMEM;
	return snap_openat_in_root(treefd, dir, O_PATH | O_DIRECTORY, 0);
}

/*
 * With a whiteout hook (overlay) the tree is the upper dir and holds only
 * this layer: what a name is below comes from the layers under it, merged
 * (the hook's lower_root, mounted on first use).  lower_stat stats `comp`
 * of directory `where` there: 1 with *st and *ret_pfd (its parent, owned)
 * when it exists, 0 when it does not or there are no layers to ask.
 */
static int lower_stat(struct apply *a, const char *where, const char *comp, struct stat *st, int *ret_pfd)
{
	if (!a->hook || !a->hook->lower_root)
		return 0;
	struct snap_error herr = { 0 };
	int lfd = a->hook->lower_root(a->hook->state, &herr);
	if (lfd < 0)
		return apply_fail(a, lfd, "open the layers below: %s", herr.message[0] ? herr.message : strerror(-lfd));
	int pfd = where[0] ? snap_openat_in_root(lfd, where, O_PATH | O_DIRECTORY, 0)
			   : openat(lfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd == -1)
		pfd = negative_errno();
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return 0;
	if (pfd < 0)
		return apply_fail(a, pfd, "open '%s' in the layers below: %s", where, strerror(-pfd));
	if (fstatat(pfd, comp, st, AT_SYMLINK_NOFOLLOW) < 0) {
		int r = negative_errno();
		close(pfd);
		return r == -ENOENT ? 0 : apply_fail(a, r, "stat '%s' in the layers below: %s", comp, strerror(-r));
	}
	*ret_pfd = pfd;
	return 1;
}

/* A directory just made in the tree over the lower one at the same path:
 * it shows the lower one's owner, mode and xattrs, as a copy-up does. */
static int copy_up_meta(struct apply *a, int pfd, const char *comp, int lpfd, const struct stat *lst,
			const char *path)
{
	if (fchownat(pfd, comp, lst->st_uid, lst->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(pfd, comp, lst->st_mode & 07777, 0) < 0)
		return apply_fail(a, negative_errno(), "copy up '%s': %s", path, strerror(errno));
	_cleanup_(snap_xattrs_done) struct snap_xattrs x = { 0 };
	int r = snap_xattrs_read_at(lpfd, comp, false, &x);
	for (size_t i = 0; r == 0 && i < x.n; i++)
		r = snap_xattr_set_at(pfd, comp, x.v[i].name, x.v[i].value, x.v[i].size);
	return r < 0 ? apply_fail(a, r, "copy up the xattrs of '%s': %s", path, strerror(-r)) : 0;
}

enum walk_mode {
	WALK_RESOLVE, /* every component must exist: fail otherwise */
	WALK_CREATE,  /* mkdir -p */
	WALK_PROBE,   /* -ENOENT or -ENOTDIR, quietly, when it is not a directory;
		       * 1 when it leads below the tree, *ret_where the path there */
};

/*
 * Walk `dir` inside the tree component by component, following symlinks the
 * way RESOLVE_IN_ROOT does (absolute targets and ".." stay in the root).
 * With WALK_CREATE, a missing component is made like tar does (root-owned,
 * 0755): mkdir -p, so that a later snap_openat_in_root of `dir` succeeds.
 * Needed where a layer's symlink points at a directory that is not in this
 * tree: overlay's upper dir holds only this layer, the directory may be in
 * a lower one; a name missing in the tree is looked up there (lower_stat):
 * a lower symlink is followed, a lower directory made in the tree with its
 * metadata, a lower file refused as a parent.  *ret_where (may be NULL)
 * gets the directory's resolved path in the tree, without symlinks ("" for
 * the root).
 */
static int walk_dir(struct apply *a, const char *dir, enum walk_mode mode, char **ret_where)
{
	_cleanup_free_ char *pending = strdup(dir);
	_cleanup_free_ char *where = strdup("");
	if (!pending || !where)
		return apply_fail(a, -ENOMEM, "out of memory");
	_cleanup_close_ int cur = openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return apply_fail(a, negative_errno(), "open the root: %s", strerror(errno));
	int links = 0;
	for (;;) {
		char *p = pending;
		while (*p == '/')
			p++;
		if (!*p) {
			if (ret_where)
				*ret_where = TAKE_PTR(where);
			return 0;
		}
		char *e = strchrnul(p, '/');
		_cleanup_free_ char *comp = strndup(p, (size_t)(e - p));
		_cleanup_free_ char *rest = strdup(e);
		if (!comp || !rest)
			return apply_fail(a, -ENOMEM, "out of memory");
		free(pending);
		pending = TAKE_PTR(rest);
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *slash = strrchr(where, '/');
			*(slash ? slash : where) = '\0';
			int fd = where[0] ? snap_openat_in_root(a->treefd, where, O_PATH | O_DIRECTORY, 0)
					  : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd == -1)
				fd = negative_errno();
			if (fd < 0)
				return apply_fail(a, fd, "open '%s': %s", where, strerror(-fd));
			closep(&cur);
			cur = fd;
			continue;
		}
		_cleanup_free_ char *next = NULL;
		if ((where[0] ? asprintf(&next, "%s/%s", where, comp) : asprintf(&next, "%s", comp)) < 0)
			return apply_fail(a, -ENOMEM, "out of memory");
		struct stat st, lst;
		_cleanup_close_ int lpfd = -EBADF;
		bool missing = fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0;
		if (missing && errno != ENOENT)
			return apply_fail(a, negative_errno(), "stat '%s': %s", next, strerror(errno));
		int below = missing ? lower_stat(a, where, comp, &lst, &lpfd) : 0;
		if (below < 0)
			return below;
		if (below && mode == WALK_PROBE && !S_ISLNK(lst.st_mode)) {
			/* Only below the tree from here on: the rest is looked
			 * up there, by the caller. */
			if (ret_where) {
				char *lpath;
				if (asprintf(&lpath, "%s/%s", next, pending) < 0)
					return apply_fail(a, -ENOMEM, "out of memory");
				*ret_where = lpath;
			}
			return 1;
		}
		int linkfd = below && S_ISLNK(lst.st_mode) ? lpfd : !missing && S_ISLNK(st.st_mode) ? cur : -EBADF;
		/* The layer whited the name out (a driver's whiteout in the
		 * tree) and now puts something below it: a new directory,
		 * opaque over the one it hid, as if the whiteout had deleted
		 * it. */
		bool whited_out = !missing && mode == WALK_CREATE && apply_is_layer_whiteout(a, &st);
		if (linkfd >= 0) {
			if (++links > 40)
				return apply_fail(a, -ELOOP, "resolve '%s': %s", dir, strerror(ELOOP));
			char target[PATH_MAX];
			ssize_t n = readlinkat(linkfd, comp, target, sizeof(target) - 1);
			if (n < 0)
				return apply_fail(a, negative_errno(), "readlink '%s': %s", next, strerror(errno));
			target[n] = '\0';
			char *joined;
			if (asprintf(&joined, "%s/%s", target, pending) < 0)
				return apply_fail(a, -ENOMEM, "out of memory");
			free(pending);
			pending = joined;
			if (strlen(pending) >= PATH_MAX)
				return apply_fail(a, -ENAMETOOLONG, "resolve '%s': %s", dir, strerror(ENAMETOOLONG));
			if (target[0] == '/') {
				where[0] = '\0';
				int fd = openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (fd < 0)
					return apply_fail(a, negative_errno(), "open the root: %s", strerror(errno));
				closep(&cur);
				cur = fd;
			}
			continue;
		}
		bool not_dir = below ? !S_ISDIR(lst.st_mode) : !missing && !S_ISDIR(st.st_mode) && !whited_out;
		if (not_dir || (missing && mode != WALK_CREATE)) {
			if (mode == WALK_PROBE)
				return not_dir ? -ENOTDIR : -ENOENT;
			if (not_dir)
				return apply_fail(a, -ENOTDIR, "open parent directory '%s': a parent is not a directory",
						  dir);
			return apply_fail(a, -ENOENT, "stat '%s': %s", next, strerror(ENOENT));
		}
		if (missing || whited_out) {
			int r = apply_save_parent_meta(a, cur, next);
			if (r < 0 || (r = whited_out ? apply_remove_existing(a, cur, comp, next, &st)
						     : apply_journal_absent(a, cur, next)) < 0)
				return r;
			if (mkdirat(cur, comp, 0755) < 0)
				return apply_fail(a, negative_errno(), "create parent directory '%s': %s", next,
					    strerror(errno));
			if ((r = apply_mark_created(a, cur, comp, next)) < 0)
				return r;
			if (whited_out && (r = apply_hide_lower_dir(a, cur, comp)) < 0)
				return r;
			if (below && (r = copy_up_meta(a, cur, comp, lpfd, &lst, next)) < 0)
				return r;
		}
		int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return apply_fail(a, negative_errno(), "open '%s': %s", next, strerror(errno));
		closep(&cur);
		cur = fd;
		free(where);
		where = TAKE_PTR(next);
	}
}

int apply_make_parents(struct apply *a, const char *dir, char **ret_where)
{
	return walk_dir(a, dir, WALK_CREATE, ret_where);
}

int apply_resolved_dir(struct apply *a, const char *dir, char **ret)
{
	return walk_dir(a, dir, WALK_RESOLVE, ret);
}

int apply_probe_entry(struct apply *a, const char *path)
{
	/* A hook that cannot show the layers below: anything may be there. */
	if (a->hook && !a->hook->lower_root)
		return 0;
	size_t dl = snap_path_dir_len(path);
	const char *name = snap_path_base(path);
	_cleanup_free_ char *dir = strndup(path, dl);
	_cleanup_free_ char *where = NULL;
	if (!dir)
		return apply_fail(a, -ENOMEM, "out of memory");
	/* 0: `where` is the directory in the tree; 1: only below it. */
	int r = walk_dir(a, dir, WALK_PROBE, &where);
	if (r < 0)
		return r;
	if (r == 0) {
		_cleanup_close_ int pfd = where[0] ? snap_openat_in_root(a->treefd, where, O_PATH | O_DIRECTORY, 0)
						   : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (pfd == -1)
			pfd = negative_errno();
		if (pfd < 0)
			return apply_fail(a, pfd, "open '%s': %s", where, strerror(-pfd));
		struct stat st;
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
		if (errno != ENOENT)
			return apply_fail(a, negative_errno(), "stat '%s': %s", path, strerror(errno));
	}
	struct stat lst;
	_cleanup_close_ int lpfd = -EBADF;
	r = lower_stat(a, where, name, &lst, &lpfd);
	return r < 0 ? r : r ? 0 : -ENOENT;
}

/* A borrowed fd of path's parent directory (cached across entries). */
int apply_get_parent(struct apply *a, const char *path, const char **ret_name)
{
	size_t dl = snap_path_dir_len(path);
	*ret_name = snap_path_base(path);
	if (a->cache_stale)
		apply_cache_drop(a);
	a->cache_stale = false;
	if (a->cache_dir && strlen(a->cache_dir) == dl && strncmp(a->cache_dir, path, dl) == 0)
		return a->cache_fd;
	apply_cache_drop(a);
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return apply_fail(a, -ENOMEM, "out of memory");
	int fd = dl ? snap_openat_in_root(a->treefd, dir, O_PATH | O_DIRECTORY, 0)
		    : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		fd = negative_errno();
	/* Missing, or (ENOTDIR) maybe this layer's whiteout in the way, or
	 * (overlay) reached through a symlink of the layers below: mkdir -p,
	 * which refuses any other non-directory, then open what it made. */
	if (fd == -ENOENT || fd == -ENOTDIR) {
		_cleanup_free_ char *where = NULL;
		int r = walk_dir(a, dir, WALK_CREATE, &where);
		if (r < 0)
			return r;
		fd = where[0] ? snap_openat_in_root(a->treefd, where, O_PATH | O_DIRECTORY, 0)
			      : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd == -1)
			fd = negative_errno();
	}
	if (fd < 0)
		return apply_fail(a, fd, "open parent directory '%s': %s", dir,
			    fd == -ENOTDIR ? "a parent is not a directory" : strerror(-fd));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int q = negative_errno();
		close(fd);
		return apply_fail(a, q, "stat parent directory '%s': %s", dir, strerror(-q));
	}
	a->cache_dir = TAKE_PTR(dir);
	a->cache_fd = fd;
	a->cache_dev = st.st_dev;
	a->cache_ino = st.st_ino;
	return fd;
}

/* ---- entry names ---- */

/* ".." that would climb above the root. */
static bool escapes_root(const char *p)
{
	int depth = 0;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return true;
		} else if (!(n == 1 && p[0] == '.')) {
			depth++;
		}
		p = e;
	}
	return false;
}

int apply_checked_path(struct apply *a, const char *raw, const char *what, char **ret)
{
	if (strlen(raw) >= PATH_MAX)
		return apply_fail(a, -ENAMETOOLONG, "%s is longer than PATH_MAX (%zu bytes)", what, strlen(raw));
	if (escapes_root(raw))
		return apply_fail(a, -EPERM, "%s '%.200s' escapes the root", what, raw);
	char *n = snap_path_normalize(raw);
	if (!n)
		return apply_fail(a, negative_errno(), "%s: %s", what,
			    errno == ENAMETOOLONG ? "a component is longer than NAME_MAX" : strerror(errno));
	/* The undo directories of applies (ours or a crashed one's) are
	 * invisible to the differ: a layer cannot use their names. */
	if (strncmp(n, SNAP_APPLY_BACKUP_PREFIX, strlen(SNAP_APPLY_BACKUP_PREFIX)) == 0) {
		free(n);
		return apply_fail(a, -EPERM, "%s uses the reserved prefix " SNAP_APPLY_BACKUP_PREFIX, what);
	}
	*ret = n;
	return 0;
}

/* The apply's error message, naming the entry (here, with the path
 * resolution every other apply file uses, so that check's journal replay
 * links without the tar reader and libarchive). */

int apply_fail(struct apply *a, int code, const char *fmt, ...)
{
	char why[SNAP_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* A hostile name may be PATH_MAX long: keep the reason readable. */
	if (a->entry && strlen(a->entry) > 160)
		return snap_error_set(a->err, code, "apply layer: entry '%.120s...' (%zu bytes): %s",
				      a->entry, strlen(a->entry), why);
	if (a->entry)
		return snap_error_set(a->err, code, "apply layer: entry '%s': %s", a->entry, why);
	return snap_error_set(a->err, code, "apply layer: %s", why);
}
