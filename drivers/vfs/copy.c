/* SPDX-License-Identifier: Apache-2.0 */
#include "copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/file-copy.h"
#include "util/fs-util.h"
#include "util/inode-map.h"
#include "util/macro.h"

struct copy_ctx {
	struct snap_copy_data data;
	int dst_root;
	struct snap_inode_map hardlinks; /* source inode -> its copy's path in dst_root */
	struct vfs_copy_stats stats;
	struct snap_error *err;
	char path[PATH_MAX]; /* relative path of the entry being copied */
	size_t path_len;
};

/* ---- the tree walk ------------------------------------------------------ */

static int fail(struct copy_ctx *c, int r, const char *op)
{
	return snap_error_set(c->err, r, "copy '%s': %s: %s", c->path_len ? c->path : ".", op,
			      strerror(-r));
}

static int path_push(struct copy_ctx *c, const char *name, size_t *saved)
{
	size_t n = strlen(name);
	*saved = c->path_len;
	size_t need = c->path_len + (c->path_len ? 1 : 0) + n;
	if (need >= sizeof(c->path))
		return snap_error_set(c->err, -ENAMETOOLONG, "copy '%s/%s': path too long", c->path, name);
	if (c->path_len)
		c->path[c->path_len++] = '/';
	memcpy(c->path + c->path_len, name, n + 1);
	c->path_len += n;
	return 0;
}

static void path_pop(struct copy_ctx *c, size_t saved)
{
	c->path_len = saved;
	c->path[saved] = '\0';
}

static int meta_fail(struct copy_ctx *c, int r, const struct snap_copy_fail *f)
{
	if (f->xattr[0])
		return snap_error_set(c->err, r, "copy '%s': %s %s: %s", c->path_len ? c->path : ".", f->step,
				      f->xattr, strerror(-r));
	return fail(c, r, f->step);
}

/* Give an opened destination (regular file or directory) the source's
 * metadata (snap_copy_meta_fd: the order that keeps set-id bits and
 * capabilities). */
static int apply_meta_fd(struct copy_ctx *c, int sfd, int dfd, const struct stat *st)
{
	struct snap_copy_fail f;
	int r = snap_copy_meta_fd(sfd, dfd, st, &f);
	return r < 0 ? meta_fail(c, r, &f) : 0;
}

/* The same for entries that cannot be opened: symlinks and special files. */
static int apply_meta_at(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
	struct snap_copy_fail f;
	int r = snap_copy_meta_at(sdir, ddir, name, st, false, NULL, &f);
	return r < 0 ? meta_fail(c, r, &f) : 0;
}

/* The path of the copy of st's inode made earlier, or NULL. */
static const char *hardlink_find(struct copy_ctx *c, const struct stat *st)
{
	void *path = NULL;
	snap_inode_map_get(&c->hardlinks, st, &path);
	return path;
}

static int hardlink_remember(struct copy_ctx *c, const struct stat *st)
{
	char *path = strdup(c->path);
	int r = path ? snap_inode_map_put(&c->hardlinks, st, path, NULL) : -ENOMEM;
	if (r <= 0) /* 0: remembered already, the first copy's path stays */
		free(path);
	return r < 0 ? fail(c, r, "remember hardlink") : 0;
}

/* Link ddir/name to the copy of an inode made earlier, found by its path
 * inside the destination root (resolved there, never outside). */
static int hardlink_make(struct copy_ctx *c, const char *first, int ddir, const char *name)
{
	_cleanup_free_ char *first_name = NULL;
	_cleanup_close_ int pdir = snap_open_parent_in_root(c->dst_root, first, &first_name);
	if (pdir < 0)
		return fail(c, pdir, "open the first link's directory");
	if (linkat(pdir, first_name, ddir, name, 0) < 0)
		return fail(c, negative_errno(), "link");
	c->stats.hardlinks++;
	return 0;
}

static int copy_dir_contents(struct copy_ctx *c, int sdir, int ddir);

static int copy_regular(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
	/* O_NOATIME keeps the parent's atimes as they are; it needs ownership
	 * or CAP_FOWNER, so retry without it. */
	_cleanup_close_ int sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (sfd < 0 && errno == EPERM)
		sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return fail(c, negative_errno(), "open source");
	_cleanup_close_ int dfd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dfd < 0)
		return fail(c, negative_errno(), "create");
	int method = 0;
	uint64_t bytes = 0;
	int r = snap_copy_data(&c->data, sfd, dfd, st, &method, &bytes);
	if (r < 0)
		return fail(c, r, "copy data");
	c->stats.files++;
	c->stats.bytes += bytes;
	if (method == SNAP_COPY_METHOD_REFLINK)
		c->stats.reflinked++;
	else if (method == SNAP_COPY_METHOD_COPY_FILE_RANGE)
		c->stats.copy_ranged++;
	else
		c->stats.read_written++;
	return apply_meta_fd(c, sfd, dfd, st);
}

static int copy_directory(struct copy_ctx *c, int sdir, int ddir, const char *name)
{
	_cleanup_close_ int sub_s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub_s < 0)
		return fail(c, negative_errno(), "open source directory");
	struct stat st;
	if (fstat(sub_s, &st) < 0)
		return fail(c, negative_errno(), "stat");
	/* 0700 until the end: the real mode (maybe read-only) is set after
	 * the children are in. */
	if (mkdirat(ddir, name, 0700) < 0)
		return fail(c, negative_errno(), "mkdir");
	_cleanup_close_ int sub_d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub_d < 0)
		return fail(c, negative_errno(), "open new directory");
	int r = copy_dir_contents(c, sub_s, sub_d);
	if (r < 0)
		return r;
	c->stats.dirs++;
	return apply_meta_fd(c, sub_s, sub_d, &st);
}

static int copy_symlink(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
	size_t cap = st->st_size > 0 ? (size_t)st->st_size + 1 : PATH_MAX;
	_cleanup_free_ char *target = NULL;
	for (;;) {
		free(target);
		target = malloc(cap);
		if (!target)
			return fail(c, -ENOMEM, "readlink");
		ssize_t n = readlinkat(sdir, name, target, cap);
		if (n < 0)
			return fail(c, negative_errno(), "readlink");
		if ((size_t)n < cap) {
			target[n] = '\0';
			break;
		}
		cap *= 2; /* the link changed size since the stat */
	}
	if (symlinkat(target, ddir, name) < 0)
		return fail(c, negative_errno(), "symlink");
	c->stats.symlinks++;
	return apply_meta_at(c, sdir, ddir, name, st);
}

static int copy_special(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
	/* Sockets are copied as socket inodes, as overlayfs' copy-up does:
	 * nothing listens on them, but the name and metadata are the layer's. */
	if (mknodat(ddir, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0)
		return fail(c, negative_errno(), "mknod");
	c->stats.specials++;
	return apply_meta_at(c, sdir, ddir, name, st);
}

static int copy_entry(struct copy_ctx *c, int sdir, int ddir, const char *name)
{
	size_t saved;
	int r = path_push(c, name, &saved);
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = fail(c, negative_errno(), "stat");
		path_pop(c, saved);
		return r;
	}

	bool linked = !S_ISDIR(st.st_mode) && st.st_nlink > 1;
	const char *first = linked ? hardlink_find(c, &st) : NULL;
	if (first)
		r = hardlink_make(c, first, ddir, name);
	else if (S_ISREG(st.st_mode))
		r = copy_regular(c, sdir, ddir, name, &st);
	else if (S_ISDIR(st.st_mode))
		r = copy_directory(c, sdir, ddir, name);
	else if (S_ISLNK(st.st_mode))
		r = copy_symlink(c, sdir, ddir, name, &st);
	else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		r = copy_special(c, sdir, ddir, name, &st);
	else
		r = fail(c, -EINVAL, "unknown file type");
	if (r == 0 && linked && !first)
		r = hardlink_remember(c, &st);
	path_pop(c, saved);
	return r;
}

static int copy_dir_contents(struct copy_ctx *c, int sdir, int ddir)
{
	/* A second fd for the stream: sdir stays usable by the caller for the
	 * directory's own xattrs after closedir. */
	int fd = openat(sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(c, negative_errno(), "open directory");
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		close(fd);
		return fail(c, r, "fdopendir");
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno != 0)
				return fail(c, negative_errno(), "readdir");
			return 0;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = copy_entry(c, dirfd(d), ddir, de->d_name);
		if (r < 0)
			return r;
	}
}

int vfs_copy_tree_at(int src_dirfd, int dst_dirfd, const struct vfs_copy_opts *opts,
		      struct vfs_copy_stats *ret_stats, struct snap_error *err)
{
	unsigned flags = opts ? opts->flags : 0;
	_cleanup_free_ struct copy_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return snap_error_set(err, -ENOMEM, "copy tree: %s", strerror(ENOMEM));
	snap_copy_data_init(&c->data, flags);
	c->dst_root = dst_dirfd;
	c->err = err;

	struct stat st;
	int r = 0;
	if (fstat(src_dirfd, &st) < 0)
		r = fail(c, negative_errno(), "stat");
	else if (!S_ISDIR(st.st_mode))
		r = fail(c, -ENOTDIR, "source");
	if (r == 0)
		r = copy_dir_contents(c, src_dirfd, dst_dirfd);
	if (r == 0) {
		c->stats.dirs++;
		r = apply_meta_fd(c, src_dirfd, dst_dirfd, &st);
	}
	snap_inode_map_done(&c->hardlinks, free);
	snap_copy_data_done(&c->data);
	if (r == 0 && ret_stats)
		*ret_stats = c->stats;
	return r;
}
