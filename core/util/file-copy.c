/* SPDX-License-Identifier: Apache-2.0 */
/* Copying one file's data and metadata (file-copy.h). */
#include "util/file-copy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"

#define COPY_BUF_SIZE (128u * 1024u)

const char *snap_copy_method_name(int method)
{
	switch (method) {
	case SNAP_COPY_METHOD_REFLINK:
		return "reflink";
	case SNAP_COPY_METHOD_COPY_FILE_RANGE:
		return "copy_file_range";
	case SNAP_COPY_METHOD_READ_WRITE:
		return "read/write";
	default:
		return "none";
	}
}

/* ---- data ---------------------------------------------------------------- */

/* Errors meaning "this method does not work for this pair of files", as
 * opposed to real I/O errors that must not be papered over by a fallback. */
static bool method_unsupported(int e)
{
	return e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL || e == ENOSYS ||
	       e == EBADF || e == EPERM;
}

static int copy_range_rw(struct snap_copy_data *ds, int sfd, int dfd, off_t off, off_t len)
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
static int copy_range(struct snap_copy_data *ds, int sfd, int dfd, off_t off, off_t len, bool *used_cfr)
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

int snap_copy_data(struct snap_copy_data *ds, int sfd, int dfd, const struct stat *st, int *ret_method,
		   uint64_t *ret_bytes)
{
	*ret_bytes = 0;
	if (st->st_size == 0) {
		*ret_method = SNAP_COPY_METHOD_READ_WRITE;
		return 0;
	}
	if (ds->reflink) {
		/* FICLONE shares the extents, holes included: nothing else to do. */
		if (ioctl(dfd, FICLONE, sfd) == 0) {
			*ret_method = SNAP_COPY_METHOD_REFLINK;
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
	*ret_method = used_cfr ? SNAP_COPY_METHOD_COPY_FILE_RANGE : SNAP_COPY_METHOD_READ_WRITE;
	return 0;
}

void snap_copy_data_init(struct snap_copy_data *ds, unsigned flags)
{
	*ds = (struct snap_copy_data){
		.reflink = !(flags & SNAP_COPY_NO_REFLINK),
		.copy_file_range = !(flags & SNAP_COPY_NO_COPY_FILE_RANGE),
	};
}

void snap_copy_data_done(struct snap_copy_data *ds)
{
	free(ds->buf);
	ds->buf = NULL;
}

int snap_copy_file_data(int src_fd, int dst_fd, unsigned flags, int *ret_method)
{
	struct stat st;
	if (fstat(src_fd, &st) < 0)
		return negative_errno();
	struct snap_copy_data ds;
	snap_copy_data_init(&ds, flags);
	int method = 0;
	uint64_t bytes;
	int r = snap_copy_data(&ds, src_fd, dst_fd, &st, &method, &bytes);
	snap_copy_data_done(&ds);
	if (r == 0 && ret_method)
		*ret_method = method;
	return r;
}

int snap_copy_probe(int dirfd, bool *ret_reflink, bool *ret_copy_file_range)
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

/* ---- metadata ------------------------------------------------------------ */

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

static int failed(struct snap_copy_fail *f, int r, const char *step, const char *xattr)
{
	f->step = step;
	snprintf(f->xattr, sizeof(f->xattr), "%s", xattr ? xattr : "");
	return r;
}

static int copy_xattrs(const struct xattr_handle *src, const struct xattr_handle *dst, bool skip_refused,
		       uint64_t *skipped, struct snap_copy_fail *f)
{
	_cleanup_free_ char *names = NULL;
	ssize_t len;
	for (;;) {
		len = h_list(src, NULL, 0);
		if (len < 0) {
			if (errno == ENOTSUP)
				return 0;
			return failed(f, negative_errno(), "listxattr", NULL);
		}
		if (len == 0)
			return 0;
		free(names);
		names = malloc((size_t)len);
		if (!names)
			return failed(f, -ENOMEM, "listxattr", NULL);
		len = h_list(src, names, (size_t)len);
		if (len >= 0)
			break;
		if (errno != ERANGE) /* ERANGE: the list grew between the calls */
			return failed(f, negative_errno(), "listxattr", NULL);
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
					return failed(f, -ENOMEM, "getxattr", n);
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
			return failed(f, negative_errno(), "getxattr", n);
		if (h_set(dst, n, value, (size_t)vlen) < 0) {
			if (skip_refused && (errno == EOPNOTSUPP || (errno == EPERM && strncmp(n, "user.", 5) == 0))) {
				if (skipped)
					(*skipped)++;
				continue;
			}
			return failed(f, negative_errno(), "setxattr", n);
		}
	}
	return 0;
}

int snap_copy_meta_fd(int sfd, int dfd, const struct stat *st, struct snap_copy_fail *f)
{
	if (fchown(dfd, st->st_uid, st->st_gid) < 0)
		return failed(f, negative_errno(), "chown", NULL);
	if (fchmod(dfd, st->st_mode & 07777) < 0)
		return failed(f, negative_errno(), "chmod", NULL);
	struct xattr_handle hs, hd;
	xattr_handle_fd(&hs, sfd);
	xattr_handle_fd(&hd, dfd);
	int r = copy_xattrs(&hs, &hd, false, NULL, f);
	if (r < 0)
		return r;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (futimens(dfd, ts) < 0)
		return failed(f, negative_errno(), "set times", NULL);
	return 0;
}

int snap_copy_meta_at(int sdir, int ddir, const char *name, const struct stat *st, bool skip_refused,
		      uint64_t *ret_skipped, struct snap_copy_fail *f)
{
	if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return failed(f, negative_errno(), "chown", NULL);
	/* Symlinks have no mode of their own on Linux. */
	if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0)
		return failed(f, negative_errno(), "chmod", NULL);
	struct xattr_handle hs, hd;
	if (xattr_handle_at(&hs, sdir, name) < 0 || xattr_handle_at(&hd, ddir, name) < 0)
		return failed(f, -ENAMETOOLONG, "xattrs", NULL);
	int r = copy_xattrs(&hs, &hd, skip_refused, ret_skipped, f);
	if (r < 0)
		return r;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return failed(f, negative_errno(), "set times", NULL);
	return 0;
}
