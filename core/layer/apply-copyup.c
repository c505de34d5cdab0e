/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hard links to what only the layers below hold (overlay: the tree is the
 * upper dir, which holds only this layer).  link(2) on an overlayfs mount
 * copies the lower file up first and links the copy; the applier does the
 * same in the upper dir, so that the link entry gives what it gives on a
 * plain directory holding every layer: one inode under both names, with
 * the lower file's data and metadata.  The copy is journaled as created
 * (a failing layer removes it) and, as in overlayfs, leaves its parent
 * directory's times as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/apply-internal.h"
#include "util/file-copy.h"
#include "util/fs-util.h"
#include "util/macro.h"

static int copy_up_data(struct apply *a, int pfd, int lpfd, const char *name, const struct stat *lst,
			const char *path)
{
	/* O_NOATIME keeps the lower file's atime; it needs ownership or
	 * CAP_FOWNER, so retry without it. */
	_cleanup_close_ int sfd = openat(lpfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (sfd < 0 && errno == EPERM)
		sfd = openat(lpfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return apply_fail(a, negative_errno(), "copy up '%s': open below: %s", path, strerror(errno));
	_cleanup_close_ int dfd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dfd < 0)
		return apply_fail(a, negative_errno(), "copy up '%s': create: %s", path, strerror(errno));
	struct snap_copy_data ds;
	snap_copy_data_init(&ds, 0);
	int method;
	uint64_t bytes;
	int r = snap_copy_data(&ds, sfd, dfd, lst, &method, &bytes);
	snap_copy_data_done(&ds);
	if (r < 0)
		return apply_fail(a, r, "copy up '%s': copy data: %s", path, strerror(-r));
	/* Data first (a write clears security.capability), then owner, mode,
	 * xattrs and times in the order snap_copy_meta_fd keeps. */
	struct snap_copy_fail f;
	if ((r = snap_copy_meta_fd(sfd, dfd, lst, &f)) < 0)
		return apply_fail(a, r, "copy up '%s': %s%s%s: %s", path, f.step, f.xattr[0] ? " " : "", f.xattr,
				  strerror(-r));
	return 0;
}

/* A symlink or special file: made, then given the lower one's metadata. */
static int copy_up_node(struct apply *a, int pfd, int lpfd, const char *name, const struct stat *lst,
			const char *path)
{
	if (S_ISLNK(lst->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(lpfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return apply_fail(a, negative_errno(), "copy up '%s': readlink: %s", path, strerror(errno));
		target[n] = '\0';
		if (symlinkat(target, pfd, name) < 0)
			return apply_fail(a, negative_errno(), "copy up '%s': symlink: %s", path, strerror(errno));
	} else if (mknodat(pfd, name, (lst->st_mode & S_IFMT) | 0600, lst->st_rdev) < 0) {
		return apply_fail(a, negative_errno(), "copy up '%s': mknod: %s", path, strerror(errno));
	}
	struct snap_copy_fail f;
	int r = snap_copy_meta_at(lpfd, pfd, name, lst, true, &a->xattrs_skipped, &f);
	if (r < 0)
		return apply_fail(a, r, "copy up '%s': %s%s%s: %s", path, f.step, f.xattr[0] ? " " : "", f.xattr,
				  strerror(-r));
	return 0;
}

/* Copy `name` (lst) of the lower directory lpfd up into the tree's
 * directory pfd; `path` is its path in the tree, without symlinks. */
static int copy_up(struct apply *a, int pfd, int lpfd, const char *name, const struct stat *lst, const char *path)
{
	struct stat pst;
	if (fstat(pfd, &pst) < 0)
		return apply_fail(a, negative_errno(), "copy up '%s': stat its directory: %s", path, strerror(errno));
	/* The directory's metadata first (its times change), then the
	 * record that removes the copy on undo, written before it exists. */
	int r = apply_save_parent_meta(a, pfd, path);
	if (r < 0 || (r = apply_undo_created(a, pfd, path)) < 0)
		return r;
	r = S_ISREG(lst->st_mode) ? copy_up_data(a, pfd, lpfd, name, lst, path)
				  : copy_up_node(a, pfd, lpfd, name, lst, path);
	if (r < 0)
		return r;
	a->cache_stale = true;
	_cleanup_free_ char *dir = strndup(path, snap_path_dir_len(path));
	return dir ? apply_keep_times(a, pfd, &pst, dir) : apply_fail(a, -ENOMEM, "out of memory");
}

/* The target across the layers below (the tree alone did not have it):
 * *ret_pfd its parent in the tree, copied up first when it is only below. */
static int target_below(struct apply *a, const char *target, const char *dir, const char *name, int *ret_pfd,
			struct stat *ret_st)
{
	/* Probed first: nothing is made for a target that is not there. */
	_cleanup_close_ int pfd = -EBADF, low = -EBADF;
	int r = apply_find_dir(a, dir, false, NULL, &pfd, &low);
	if (r < 0)
		return r == -ENOTDIR ? -ENOENT : r;
	if (pfd >= 0 && fstatat(pfd, name, ret_st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (apply_is_layer_whiteout(a, ret_st))
			return -ENOENT;
		*ret_pfd = TAKE_FD(pfd);
		return 0;
	}
	struct stat lst;
	if (low < 0 || fstatat(low, name, &lst, AT_SYMLINK_NOFOLLOW) < 0) {
		if (low >= 0 && errno != ENOENT)
			return apply_fail(a, negative_errno(), "hardlink target '%s' in the layers below: %s", target,
					  strerror(errno));
		return -ENOENT;
	}
	if (S_ISDIR(lst.st_mode))
		return -EPERM;
	/* Its directory in the tree (copied up as needed), then the copy. */
	closep(&pfd);
	pfd = -EBADF;
	closep(&low);
	low = -EBADF;
	_cleanup_free_ char *where = NULL;
	if ((r = apply_find_dir(a, dir, true, &where, &pfd, &low)) < 0)
		return r;
	if (low < 0)
		return apply_fail(a, -ESTALE, "hardlink target '%s': the layers below changed during the apply", target);
	_cleanup_free_ char *rpath = NULL;
	if ((where[0] ? asprintf(&rpath, "%s/%s", where, name) : asprintf(&rpath, "%s", name)) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	if ((r = copy_up(a, pfd, low, name, &lst, rpath)) < 0)
		return r;
	if (fstatat(pfd, name, ret_st, AT_SYMLINK_NOFOLLOW) < 0)
		return apply_fail(a, negative_errno(), "stat '%s': %s", rpath, strerror(errno));
	*ret_pfd = TAKE_FD(pfd);
	return 0;
}

int apply_link_target(struct apply *a, const char *target, int *ret_pfd, char **ret_name, struct stat *ret_st)
{
	const char *name = snap_path_base(target);
	_cleanup_free_ char *dir = strndup(target, snap_path_dir_len(target));
	_cleanup_free_ char *tname = strdup(name);
	if (!dir || !tname)
		return apply_fail(a, -ENOMEM, "out of memory");
	/* In the tree alone first: all a plain directory needs, and all
	 * that shows when the tree has every component (its names win). */
	const char *n;
	_cleanup_close_ int pfd = apply_open_parent(a->treefd, target, &n);
	struct stat st;
	int r = pfd < 0 ? pfd : fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? negative_errno() : 0;
	if (r == 0 && apply_is_layer_whiteout(a, &st))
		return -ENOENT;
	if (r == -ENOENT || r == -ENOTDIR) {
		closep(&pfd);
		pfd = -EBADF;
		r = a->hook && a->hook->lower_root ? target_below(a, target, dir, name, &pfd, &st) : -ENOENT;
	} else if (r < 0) {
		return apply_fail(a, r, "hardlink target '%s': %s", target, strerror(-r));
	}
	if (r < 0)
		return r;
	if (S_ISDIR(st.st_mode))
		return -EPERM;
	*ret_pfd = TAKE_FD(pfd);
	*ret_name = TAKE_PTR(tname);
	*ret_st = st;
	return 0;
}
