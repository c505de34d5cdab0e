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
 * Walk `dir` inside the tree component by component, following symlinks the
 * way RESOLVE_IN_ROOT does (absolute targets and ".." stay in the root).
 * With `create`, a missing component is made like tar does (root-owned,
 * 0755): mkdir -p, so that a later snap_openat_in_root of `dir` succeeds.
 * Needed where a layer's symlink points at a directory that is not in this
 * tree: overlay's upper dir holds only this layer, the directory may be in
 * a lower one.  *ret_where (may be NULL) gets the directory's resolved path
 * in the tree, without symlinks ("" for the root).
 */
static int walk_dir(struct apply *a, const char *dir, bool create, char **ret_where)
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
		struct stat st;
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT || !create)
				return apply_fail(a, negative_errno(), "stat '%s': %s", next, strerror(errno));
			int r = apply_save_parent_meta(a, cur, next);
			if (r < 0 || (r = apply_journal_absent(a, cur, next)) < 0)
				return r;
			if (mkdirat(cur, comp, 0755) < 0)
				return apply_fail(a, negative_errno(), "create parent directory '%s': %s", next,
					    strerror(errno));
			if ((r = apply_mark_created(a, cur, comp, next)) < 0)
				return r;
		} else if (S_ISLNK(st.st_mode)) {
			if (++links > 40)
				return apply_fail(a, -ELOOP, "resolve '%s': %s", dir, strerror(ELOOP));
			char target[PATH_MAX];
			ssize_t n = readlinkat(cur, comp, target, sizeof(target) - 1);
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
		} else if (!S_ISDIR(st.st_mode)) {
			return apply_fail(a, -ENOTDIR, "open parent directory '%s': a parent is not a directory", dir);
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

int apply_make_parents(struct apply *a, const char *dir)
{
	return walk_dir(a, dir, true, NULL);
}

int apply_resolved_dir(struct apply *a, const char *dir, char **ret)
{
	return walk_dir(a, dir, false, ret);
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
	int fd;
	for (int tries = 0;; tries++) {
		fd = dl ? snap_openat_in_root(a->treefd, dir, O_PATH | O_DIRECTORY, 0)
			: openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd == -1)
			fd = negative_errno();
		if (fd != -ENOENT || tries > 0)
			break;
		int r = apply_make_parents(a, dir);
		if (r < 0)
			return r;
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
