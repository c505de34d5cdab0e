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

#include "util/fs-util.h"
#include "util/inode-map.h"
#include "util/macro.h"

#define COPY_BUF_SIZE (128u * 1024u)

/* Which data-copy methods are still worth trying; a method that fails with
 * "not supported here" is dropped for the rest of the copy, so a tree of
 * 10000 files on ext4 pays for one failed FICLONE, not 10000. */
struct data_state {
	bool reflink;
	bool copy_file_range;
	char *buf; /* read/write buffer, allocated on first use */
};

struct copy_ctx {
	struct data_state data;
	int dst_root;
	struct snap_inode_map hardlinks; /* source inode -> its copy's path in dst_root */
	struct vfs_copy_stats stats;
	struct snap_error *err;
	char path[PATH_MAX]; /* relative path of the entry being copied */
	size_t path_len;
};

const char *vfs_copy_method_name(int method)
{
	switch (method) {
	case VFS_COPY_METHOD_REFLINK:
		return "reflink";
	case VFS_COPY_METHOD_COPY_FILE_RANGE:
		return "copy_file_range";
	case VFS_COPY_METHOD_READ_WRITE:
		return "read/write";
	default:
		return "none";
	}
}

/* Errors meaning "this method does not work for this pair of files", as
 * opposed to real I/O errors that must not be papered over by a fallback. */
static bool method_unsupported(int e)
{
	return e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL || e == ENOSYS ||
	       e == EBADF || e == EPERM;
}

static int copy_range_rw(struct data_state *ds, int sfd, int dfd, off_t off, off_t len)
{
	if (!ds->buf) {
		ds->buf = malloc(COPY_BUF_SIZE);
		if (!ds->buf)
			return -ENOMEM;
	}
	while (len > 0) {
		size_t want = len < (off_t)COPY_BUF_SIZE ? (size_t)len : COPY_BUF_SIZE;
		ssize_t n = pread(sfd, ds->buf, want, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0) /* the file shrank under us: the final ftruncate fixes the size */
			return 0;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(dfd, ds->buf + done, (size_t)(n - done), off + done);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return negative_errno();
			}
			done += w;
		}
		off += n;
		len -= n;
	}
	return 0;
}

/* Copy [off, off+len) with copy_file_range, falling back to read/write for
 * the rest when the kernel or filesystem refuses before anything moved.
 * *used_cfr tells whether copy_file_range moved any byte. */
static int copy_range(struct data_state *ds, int sfd, int dfd, off_t off, off_t len, bool *used_cfr)
{
	while (ds->copy_file_range && len > 0) {
		loff_t so = off, dof = off;
		ssize_t n = copy_file_range(sfd, &so, dfd, &dof, (size_t)len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!*used_cfr && method_unsupported(errno)) {
				ds->copy_file_range = false;
				break;
			}
			return negative_errno();
		}
		if (n == 0)
			return 0;
		*used_cfr = true;
		off += n;
		len -= n;
	}
	if (len > 0)
		return copy_range_rw(ds, sfd, dfd, off, len);
	return 0;
}

static int copy_data(struct data_state *ds, int sfd, int dfd, const struct stat *st, int *ret_method,
		     uint64_t *ret_bytes)
{
	*ret_bytes = 0;
	if (st->st_size == 0) {
		*ret_method = VFS_COPY_METHOD_READ_WRITE;
		return 0;
	}
	if (ds->reflink) {
		/* FICLONE shares the extents, holes included: nothing else to do. */
		if (ioctl(dfd, FICLONE, sfd) == 0) {
			*ret_method = VFS_COPY_METHOD_REFLINK;
			*ret_bytes = (uint64_t)st->st_size;
			return 0;
		}
		if (!method_unsupported(errno))
			return negative_errno();
		ds->reflink = false;
	}

	/* Holes are kept by copying only the data segments SEEK_DATA/SEEK_HOLE
	 * report and setting the size last; a file whose blocks cover its size
	 * has no holes worth looking for. */
	bool sparse = (off_t)st->st_blocks * 512 < st->st_size;
	bool used_cfr = false;
	off_t off = 0, size = st->st_size;
	while (off < size) {
		off_t data = off, end = size;
		if (sparse) {
			data = lseek(sfd, off, SEEK_DATA);
			if (data < 0) {
				if (errno == ENXIO) /* only a hole is left */
					break;
				if (errno != EINVAL && errno != EOPNOTSUPP)
					return negative_errno();
				sparse = false; /* filesystem without SEEK_DATA */
				data = off;
			} else {
				end = lseek(sfd, data, SEEK_HOLE);
				if (end < 0)
					return negative_errno();
				if (end > size)
					end = size;
			}
		}
		if (data >= size)
			break;
		int r = copy_range(ds, sfd, dfd, data, end - data, &used_cfr);
		if (r < 0)
			return r;
		*ret_bytes += (uint64_t)(end - data);
		off = end;
	}
	if (ftruncate(dfd, size) < 0)
		return negative_errno();
	*ret_method = used_cfr ? VFS_COPY_METHOD_COPY_FILE_RANGE : VFS_COPY_METHOD_READ_WRITE;
	return 0;
}

int vfs_copy_file_data(int src_fd, int dst_fd, unsigned flags, int *ret_method)
{
	struct stat st;
	if (fstat(src_fd, &st) < 0)
		return negative_errno();
	struct data_state ds = {
		.reflink = !(flags & VFS_COPY_NO_REFLINK),
		.copy_file_range = !(flags & VFS_COPY_NO_COPY_FILE_RANGE),
	};
	int method = 0;
	uint64_t bytes;
	int r = copy_data(&ds, src_fd, dst_fd, &st, &method, &bytes);
	free(ds.buf);
	if (r == 0 && ret_method)
		*ret_method = method;
	return r;
}

int vfs_copy_probe(int dirfd, bool *ret_reflink, bool *ret_copy_file_range)
{
	_cleanup_close_ int a = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (a < 0)
		return negative_errno();
	_cleanup_close_ int b = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (b < 0)
		return negative_errno();
	/* One block: FICLONE of a whole file needs block-aligned extents, and
	 * copy_file_range of an empty file proves nothing. */
	char block[4096];
	memset(block, 'x', sizeof(block));
	int r = snap_write_all(a, block, sizeof(block));
	if (r < 0)
		return r;
	bool reflink = ioctl(b, FICLONE, a) == 0;
	_cleanup_close_ int c = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (c < 0)
		return negative_errno();
	loff_t so = 0, dof = 0;
	bool cfr = copy_file_range(a, &so, c, &dof, sizeof(block), 0) == (ssize_t)sizeof(block);
	*ret_reflink = reflink;
	*ret_copy_file_range = cfr;
	return 0;
}

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

static bool xattr_skipped(const char *name)
{
	/* overlayfs interprets these (whiteouts, opaque dirs, redirects);
	 * taking them from a layer would let its contents steer a mount. */
	return strncmp(name, "trusted.overlay.", 16) == 0;
}

/*
 * Where to read and write the xattrs of one entry: an fd for regular files
 * and directories, otherwise a path through /proc/self/fd/<dirfd>/<name>,
 * whose last component the l*xattr calls do not follow.  Symlinks, device
 * nodes and FIFOs cannot be opened for f*xattr (O_PATH fds are refused, and
 * opening a device or FIFO has side effects).
 */
struct xattr_handle {
	int fd;
	char path[64 + NAME_MAX];
};

static void xattr_handle_fd(struct xattr_handle *h, int fd)
{
	h->fd = fd;
	h->path[0] = '\0';
}

static int xattr_handle_at(struct xattr_handle *h, int dirfd, const char *name)
{
	h->fd = -EBADF;
	if ((size_t)snprintf(h->path, sizeof(h->path), "/proc/self/fd/%d/%s", dirfd, name) >= sizeof(h->path))
		return -ENAMETOOLONG;
	return 0;
}

static ssize_t h_list(const struct xattr_handle *h, char *buf, size_t size)
{
	return h->fd >= 0 ? flistxattr(h->fd, buf, size) : llistxattr(h->path, buf, size);
}

static ssize_t h_get(const struct xattr_handle *h, const char *name, void *buf, size_t size)
{
	return h->fd >= 0 ? fgetxattr(h->fd, name, buf, size) : lgetxattr(h->path, name, buf, size);
}

static int h_set(const struct xattr_handle *h, const char *name, const void *buf, size_t size)
{
	return h->fd >= 0 ? fsetxattr(h->fd, name, buf, size, 0) : lsetxattr(h->path, name, buf, size, 0);
}

static int copy_xattrs(struct copy_ctx *c, const struct xattr_handle *src, const struct xattr_handle *dst)
{
	_cleanup_free_ char *names = NULL;
	ssize_t len;
	for (;;) {
		len = h_list(src, NULL, 0);
		if (len < 0) {
			if (errno == ENOTSUP)
				return 0;
			return fail(c, negative_errno(), "listxattr");
		}
		if (len == 0)
			return 0;
		free(names);
		names = malloc((size_t)len);
		if (!names)
			return fail(c, -ENOMEM, "listxattr");
		len = h_list(src, names, (size_t)len);
		if (len >= 0)
			break;
		if (errno != ERANGE) /* ERANGE: the list grew between the calls */
			return fail(c, negative_errno(), "listxattr");
	}

	_cleanup_free_ char *value = NULL;
	size_t cap = 0;
	for (char *n = names; n < names + len; n += strlen(n) + 1) {
		if (xattr_skipped(n))
			continue;
		ssize_t vlen;
		for (;;) {
			ssize_t want = h_get(src, n, NULL, 0);
			if (want >= 0 && (size_t)want > cap) {
				char *nv = realloc(value, (size_t)want);
				if (!nv)
					return fail(c, -ENOMEM, "getxattr");
				value = nv;
				cap = (size_t)want;
			}
			vlen = want < 0 ? want : h_get(src, n, value, cap);
			/* ERANGE: the value grew between the two calls */
			if (vlen >= 0 || errno != ERANGE)
				break;
		}
		if (vlen < 0 && errno == ENODATA) /* removed meanwhile */
			continue;
		if (vlen < 0)
			return snap_error_set(c->err, negative_errno(), "copy '%s': getxattr %s: %s",
					      c->path_len ? c->path : ".", n, strerror(errno));
		if (h_set(dst, n, value, (size_t)vlen) < 0)
			return snap_error_set(c->err, negative_errno(), "copy '%s': setxattr %s: %s",
					      c->path_len ? c->path : ".", n, strerror(errno));
	}
	return 0;
}

/*
 * Give an opened destination (regular file or directory) the source's
 * metadata.  The order matters: chown clears the set-id bits and
 * security.capability, so mode and xattrs come after it; times come last
 * because setting xattrs and (for directories) adding children touch them.
 */
static int apply_meta_fd(struct copy_ctx *c, int sfd, int dfd, const struct stat *st)
{
	if (fchown(dfd, st->st_uid, st->st_gid) < 0)
		return fail(c, negative_errno(), "chown");
	if (fchmod(dfd, st->st_mode & 07777) < 0)
		return fail(c, negative_errno(), "chmod");
	struct xattr_handle hs, hd;
	xattr_handle_fd(&hs, sfd);
	xattr_handle_fd(&hd, dfd);
	int r = copy_xattrs(c, &hs, &hd);
	if (r < 0)
		return r;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (futimens(dfd, ts) < 0)
		return fail(c, negative_errno(), "set times");
	return 0;
}

/* The same for entries that cannot be opened: symlinks and special files. */
static int apply_meta_at(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
	if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, negative_errno(), "chown");
	/* Symlinks have no mode of their own on Linux. */
	if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0)
		return fail(c, negative_errno(), "chmod");
	struct xattr_handle hs, hd;
	if (xattr_handle_at(&hs, sdir, name) < 0 || xattr_handle_at(&hd, ddir, name) < 0)
		return fail(c, -ENAMETOOLONG, "xattrs");
	int r = copy_xattrs(c, &hs, &hd);
	if (r < 0)
		return r;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, negative_errno(), "set times");
	return 0;
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
	int r = copy_data(&c->data, sfd, dfd, st, &method, &bytes);
	if (r < 0)
		return fail(c, r, "copy data");
	c->stats.files++;
	c->stats.bytes += bytes;
	if (method == VFS_COPY_METHOD_REFLINK)
		c->stats.reflinked++;
	else if (method == VFS_COPY_METHOD_COPY_FILE_RANGE)
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
	c->data.reflink = !(flags & VFS_COPY_NO_REFLINK);
	c->data.copy_file_range = !(flags & VFS_COPY_NO_COPY_FILE_RANGE);
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
	free(c->data.buf);
	if (r == 0 && ret_stats)
		*ret_stats = c->stats;
	return r;
}
