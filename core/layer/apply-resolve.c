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
 * (the hook's lower_root, mounted on first use).  A walk keeps, beside the
 * directory it reached in the tree, the lower directory merged with it,
 * the way overlayfs merges: only while every component so far is a
 * directory both in the tree and below (or below only), and not one this
 * layer made opaque.  A name the layer replaced (a directory over a lower
 * symlink or file, a whiteout and a new directory, an opaque marker) hides
 * everything below it, so nothing is looked up or copied up from there.
 */

/* An owned fd of the lower root, -EBADF when there are no layers to ask. */
static int lower_root_open(struct apply *a)
{
	if (!a->hook || !a->hook->lower_root)
		return -EBADF;
	struct snap_error herr = { 0 };
	int lfd = a->hook->lower_root(a->hook->state, &herr);
	if (lfd < 0)
		return apply_fail(a, lfd, "open the layers below: %s", herr.message[0] ? herr.message : strerror(-lfd));
	int fd = openat(lfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return apply_fail(a, negative_errno(), "open the layers below: %s", strerror(errno));
	return fd;
}

/* Whether the directory `name` in pfd (st) hides what is below it: made
 * opaque by this apply, or carrying overlayfs' opaque marker already. */
static int hides_below(struct apply *a, int pfd, const char *name, const struct stat *st)
{
	if (apply_is_opaque_dir(a, st))
		return 1;
	_cleanup_(snap_xattrs_done) struct snap_xattrs x = { 0 };
	int r = snap_xattrs_read_at(pfd, name, true, &x);
	if (r < 0)
		return apply_fail(a, r, "read the xattrs of '%s': %s", name, strerror(-r));
	for (size_t i = 0; i < x.n; i++) {
		const char *k = x.v[i].name;
		if ((strcmp(k, "trusted.overlay.opaque") == 0 || strcmp(k, "user.overlay.opaque") == 0) &&
		    x.v[i].size == 1 && ((const char *)x.v[i].value)[0] == 'y')
			return 1;
	}
	return 0;
}

/* A directory just made in the tree over the lower one at the same path
 * (lpfd/comp, lst): it shows the lower one's owner, mode, xattrs and times,
 * as a copy-up does.  pfd's own times are put back by the caller. */
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
	if (r < 0)
		return apply_fail(a, r, "copy up the xattrs of '%s': %s", path, strerror(-r));
	if (utimensat(pfd, comp, (const struct timespec[]){ lst->st_atim, lst->st_mtim }, AT_SYMLINK_NOFOLLOW) < 0)
		return apply_fail(a, negative_errno(), "copy up the times of '%s': %s", path, strerror(errno));
	return 0;
}

int apply_keep_times(struct apply *a, int dirfd, const struct stat *before, const char *path)
{
	_cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || futimens(fd, (const struct timespec[]){ before->st_atim, before->st_mtim }) < 0)
		return apply_fail(a, negative_errno(), "keep the times of '%s': %s", path[0] ? path : ".",
				  strerror(errno));
	return 0;
}

enum walk_mode {
	WALK_RESOLVE, /* every component must exist in the tree: fail otherwise */
	WALK_CREATE,  /* mkdir -p */
	WALK_PROBE,   /* -ENOENT or -ENOTDIR, quietly, when it is not a directory;
		       * the directory may be below the tree only */
};

/* Where a walk ended: the resolved path, the directory in the tree
 * (-EBADF: WALK_PROBE found it below only) and the lower directory merged
 * with it (-EBADF: nothing below shows there). */
struct walk_end {
	char *where;
	int cur;
	int lower;
};

static void walk_end_done(struct walk_end *w)
{
	free(w->where);
	w->where = NULL;
	closep(&w->cur);
	closep(&w->lower);
}

/* One step down from (*cur, *low) to `comp`: replace them with its fds. */
static int step_into(struct apply *a, int *cur, int *low, const char *comp, const char *path, bool in_tree,
		     bool merged)
{
	int ncur = -EBADF, nlow = -EBADF;
	if (in_tree && (ncur = openat(*cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return apply_fail(a, negative_errno(), "open '%s': %s", path, strerror(errno));
	if (merged && (nlow = openat(*low, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		int r = negative_errno();
		closep(&ncur);
		return apply_fail(a, r, "open '%s' in the layers below: %s", path, strerror(-r));
	}
	closep(cur);
	closep(low);
	*cur = ncur;
	*low = nlow;
	return 0;
}

/* Whether the lower directory `low` has `comp` as a directory. */
static int lower_is_dir(struct apply *a, int low, const char *comp, const char *path)
{
	struct stat lst;
	if (low < 0)
		return 0;
	if (fstatat(low, comp, &lst, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0
				       : apply_fail(a, negative_errno(), "stat '%s' in the layers below: %s", path,
						    strerror(errno));
	return S_ISDIR(lst.st_mode);
}

/* Whether the tree's directory `comp` in cur (st) merges with the lower
 * directory `low`/`comp`: 1, 0 or -errno. */
static int merges_below(struct apply *a, int cur, int low, const char *comp, const struct stat *st,
			const char *path)
{
	if (low < 0)
		return 0;
	int r = hides_below(a, cur, comp, st);
	return r != 0 ? (r < 0 ? r : 0) : lower_is_dir(a, low, comp, path);
}

/* (Re)open the fds of a resolved path (no symlinks on it, as a walk
 * leaves `where`): its directory in the tree, when there, and below. */
static int walk_reopen(struct apply *a, const char *where, int *ret_cur, int *ret_low)
{
	_cleanup_close_ int cur = openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return apply_fail(a, negative_errno(), "open the root: %s", strerror(errno));
	_cleanup_close_ int low = lower_root_open(a);
	if (low < 0 && low != -EBADF)
		return low;
	for (const char *p = where; *p;) {
		const char *e = strchrnul(p, '/');
		_cleanup_free_ char *comp = strndup(p, (size_t)(e - p));
		if (!comp)
			return apply_fail(a, -ENOMEM, "out of memory");
		p = *e ? e + 1 : e;
		struct stat st;
		bool in_tree = cur >= 0 && fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (cur >= 0 && !in_tree && errno != ENOENT)
			return apply_fail(a, negative_errno(), "stat '%s': %s", where, strerror(errno));
		if (in_tree && !S_ISDIR(st.st_mode))
			return apply_fail(a, -ENOTDIR, "open '%s': %s", where, strerror(ENOTDIR));
		int r = in_tree ? merges_below(a, cur, low, comp, &st, where) : lower_is_dir(a, low, comp, where);
		if (r < 0)
			return r;
		if (!in_tree && !r)
			return apply_fail(a, -ENOENT, "open '%s': %s", where, strerror(ENOENT));
		if ((r = step_into(a, &cur, &low, comp, where, in_tree, r)) < 0)
			return r;
	}
	*ret_cur = TAKE_FD(cur);
	*ret_low = TAKE_FD(low);
	return 0;
}

/* The lower directory merged with `where` (walk_dir's cur and low), once
 * needed: both fds replaced, *known set. */
static int walk_lower(struct apply *a, const char *where, int *cur, int *low, bool *known)
{
	int ncur = -EBADF, nlow = -EBADF;
	int r = walk_reopen(a, where, &ncur, &nlow);
	if (r < 0)
		return r;
	closep(cur);
	closep(low);
	*cur = ncur;
	*low = nlow;
	*known = true;
	return 0;
}

/*
 * Walk `dir` inside the tree component by component, following symlinks the
 * way RESOLVE_IN_ROOT does (absolute targets and ".." stay in the root).
 * With WALK_CREATE, a missing component is made like tar does (root-owned,
 * 0755): mkdir -p, so that a later snap_openat_in_root of `dir` succeeds.
 * Needed where a layer's symlink points at a directory that is not in this
 * tree: overlay's upper dir holds only this layer, the directory may be in
 * a lower one; a name missing in the tree is looked up in the lower
 * directory merged with where the walk is (see above): a lower symlink is
 * followed, a lower directory made in the tree with its metadata (a
 * copy-up, which leaves its parent's times as they were), a lower file
 * refused as a parent.  *ret (may be NULL) gets where the walk ended, its
 * lower directory only when want_lower.
 *
 * The lower directory is found lazily: through the tree's own directories
 * the walk only notes that it is not known (`known`), and computes it
 * (walk_reopen) where a name is missing from the tree.  An apply that
 * never needs the layers below never mounts them, and a walk reads no
 * xattrs and stats nothing below for the directories the tree has.
 */
static int walk_dir(struct apply *a, const char *dir, enum walk_mode mode, bool want_lower, struct walk_end *ret)
{
	_cleanup_free_ char *pending = strdup(dir);
	_cleanup_free_ char *where = strdup("");
	if (!pending || !where)
		return apply_fail(a, -ENOMEM, "out of memory");
	bool no_lower = !a->hook || !a->hook->lower_root;
	_cleanup_close_ int cur = openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC), low = -EBADF;
	if (cur < 0)
		return apply_fail(a, negative_errno(), "open the root: %s", strerror(errno));
	bool known = no_lower; /* whether low is the lower directory at `where` */
	int r, links = 0;
	for (;;) {
		char *p = pending;
		while (*p == '/')
			p++;
		if (!*p) {
			if (want_lower && !known && (r = walk_lower(a, where, &cur, &low, &known)) < 0)
				return r;
			if (ret)
				*ret = (struct walk_end){ TAKE_PTR(where), TAKE_FD(cur), TAKE_FD(low) };
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
			known = false;
			if ((r = walk_lower(a, where, &cur, &low, &known)) < 0)
				return r;
			continue;
		}
		_cleanup_free_ char *next = NULL;
		if ((where[0] ? asprintf(&next, "%s/%s", where, comp) : asprintf(&next, "%s", comp)) < 0)
			return apply_fail(a, -ENOMEM, "out of memory");
		/* The tree's entry wins; below is asked only where it has none. */
		struct stat st, lst;
		bool in_tree = cur >= 0 && fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (cur >= 0 && !in_tree && errno != ENOENT)
			return apply_fail(a, negative_errno(), "stat '%s': %s", next, strerror(errno));
		if (!in_tree && !known && (r = walk_lower(a, where, &cur, &low, &known)) < 0)
			return r;
		bool below = !in_tree && low >= 0 && fstatat(low, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0;
		if (!in_tree && low >= 0 && !below && errno != ENOENT)
			return apply_fail(a, negative_errno(), "stat '%s' in the layers below: %s", next,
					  strerror(errno));
		int linkfd = in_tree && S_ISLNK(st.st_mode) ? cur : below && S_ISLNK(lst.st_mode) ? low : -EBADF;
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
				closep(&cur);
				cur = -EBADF;
				closep(&low);
				low = -EBADF;
				if ((cur = openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
					return apply_fail(a, negative_errno(), "open the root: %s", strerror(errno));
				known = no_lower;
			}
			continue;
		}
		/* The layer whited the name out (a driver's whiteout in the
		 * tree) and now puts something below it: a new directory,
		 * opaque over the one it hid, as if the whiteout had deleted
		 * it. */
		bool whited_out = in_tree && mode == WALK_CREATE && apply_is_layer_whiteout(a, &st);
		bool not_dir = in_tree ? !S_ISDIR(st.st_mode) && !whited_out : below && !S_ISDIR(lst.st_mode);
		if (not_dir || (!in_tree && mode == WALK_RESOLVE) || (!in_tree && !below && mode == WALK_PROBE)) {
			if (mode == WALK_PROBE)
				return not_dir ? -ENOTDIR : -ENOENT;
			if (not_dir)
				return apply_fail(a, -ENOTDIR, "open parent directory '%s': a parent is not a directory",
						  dir);
			return apply_fail(a, -ENOENT, "stat '%s': %s", next, strerror(ENOENT));
		}
		/* Below a lower directory only (or one made from it here): the
		 * lower one.  Below the tree's own directory: found when
		 * needed, unless nothing below shows here already. */
		bool merged = below;
		if (in_tree && !whited_out)
			known = known && low < 0;
		else
			known = true;
		if (mode == WALK_CREATE && (!in_tree || whited_out)) {
			struct stat pst;
			if (below && fstat(cur, &pst) < 0)
				return apply_fail(a, negative_errno(), "stat '%s': %s", where[0] ? where : ".",
						  strerror(errno));
			r = apply_save_parent_meta(a, cur, next);
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
			if (below && ((r = copy_up_meta(a, cur, comp, low, &lst, next)) < 0 ||
				      (r = apply_keep_times(a, cur, &pst, where)) < 0))
				return r;
			in_tree = true;
		}
		if ((r = step_into(a, &cur, &low, comp, next, in_tree, merged)) < 0)
			return r;
		free(where);
		where = TAKE_PTR(next);
	}
}

int apply_make_parents(struct apply *a, const char *dir, char **ret_where)
{
	_cleanup_(walk_end_done) struct walk_end w = { NULL, -EBADF, -EBADF };
	int r = walk_dir(a, dir, WALK_CREATE, false, &w);
	if (r == 0 && ret_where)
		*ret_where = TAKE_PTR(w.where);
	return r;
}

int apply_resolved_dir(struct apply *a, const char *dir, char **ret)
{
	_cleanup_(walk_end_done) struct walk_end w = { NULL, -EBADF, -EBADF };
	int r = walk_dir(a, dir, WALK_RESOLVE, false, &w);
	if (r == 0)
		*ret = TAKE_PTR(w.where);
	return r;
}

int apply_find_dir(struct apply *a, const char *dir, bool create, char **ret_where, int *ret_cur, int *ret_lower)
{
	_cleanup_(walk_end_done) struct walk_end w = { NULL, -EBADF, -EBADF };
	int r = walk_dir(a, dir, create ? WALK_CREATE : WALK_PROBE, true, &w);
	if (r < 0)
		return r;
	if (ret_where)
		*ret_where = TAKE_PTR(w.where);
	*ret_cur = TAKE_FD(w.cur);
	*ret_lower = TAKE_FD(w.lower);
	return 0;
}

int apply_probe_entry(struct apply *a, const char *path)
{
	/* A hook that cannot show the layers below: anything may be there. */
	if (a->hook && !a->hook->lower_root)
		return 0;
	size_t dl = snap_path_dir_len(path);
	const char *name = snap_path_base(path);
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return apply_fail(a, -ENOMEM, "out of memory");
	_cleanup_(walk_end_done) struct walk_end w = { NULL, -EBADF, -EBADF };
	int r = walk_dir(a, dir, WALK_PROBE, false, &w);
	if (r < 0)
		return r;
	/* In the tree, else below it where that shows (the lower directory
	 * found only now: w.lower is known only when w.where is below only). */
	struct stat st;
	if (w.cur >= 0) {
		if (fstatat(w.cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
		if (errno != ENOENT)
			return apply_fail(a, negative_errno(), "stat '%s': %s", path, strerror(errno));
		closep(&w.cur);
		w.cur = -EBADF;
		closep(&w.lower);
		w.lower = -EBADF;
		if ((r = walk_reopen(a, w.where, &w.cur, &w.lower)) < 0)
			return r;
	}
	if (w.lower < 0)
		return -ENOENT;
	if (fstatat(w.lower, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return apply_fail(a, negative_errno(), "stat '%s' in the layers below: %s", path, strerror(errno));
	return -ENOENT;
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
		_cleanup_(walk_end_done) struct walk_end w = { NULL, -EBADF, -EBADF };
		int r = walk_dir(a, dir, WALK_CREATE, false, &w);
		if (r < 0)
			return r;
		fd = TAKE_FD(w.cur);
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
