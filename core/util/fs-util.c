/* SPDX-License-Identifier: Apache-2.0 */
#include "util/fs-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/inode-map.h"
#include "util/macro.h"

static atomic_int openat2_state = 0; /* 0 unknown, 1 available, -1 missing/forced off */

void snap_fs_force_no_openat2(bool on)
{
	atomic_store(&openat2_state, on ? -1 : 0);
}

static bool openat2_usable(void)
{
	int s = atomic_load(&openat2_state);
	if (s == 0) {
		const char *e = getenv("SNAPCTL_NO_OPENAT2");
		s = (e && strcmp(e, "1") == 0) ? -1 : 1;
		atomic_store(&openat2_state, s);
	}
	return s > 0;
}

bool snap_fs_have_openat2(void)
{
	if (!openat2_usable())
		return false;
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

char *snap_path_normalize(const char *path)
{
	size_t len = strlen(path);
	if (len >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n > NAME_MAX) {
			free(out);
			errno = ENAMETOOLONG;
			return NULL;
		}
		if (n == 1 && p[0] == '.') {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* drop the '/' separator */
		} else {
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	out[o] = '\0';
	return out;
}

/*
 * Fallback resolver: walk components one at a time from rootfd with O_PATH
 * and O_NOFOLLOW, expanding symlinks ourselves so that absolute targets and
 * ".." restart from / stop at rootfd.  `depth` of the current position is
 * tracked as a normalised path so ".." can reopen from the root.
 */
static int walk_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	_cleanup_free_ char *pending = strdup(path); /* components still to walk */
	_cleanup_free_ char *where = strdup("");  /* normalised position */
	if (!pending || !where)
		return -ENOMEM;
	int links = 0;
	_cleanup_close_ int cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return negative_errno();

	for (;;) {
		char *p = pending;
		while (*p == '/')
			p++;
		if (*p == '\0') {
			/* Path ends at a directory: reopen it with the caller's flags. */
			int fd = openat(cur, ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC, mode);
			return fd < 0 ? negative_errno() : fd;
		}
		char *e = strchrnul(p, '/');
		bool last = true;
		for (char *q = e; *q; q++)
			if (*q != '/') {
				last = false;
				break;
			}
		_cleanup_free_ char *comp = strndup(p, (size_t)(e - p));
		_cleanup_free_ char *rest = strdup(e);
		if (!comp || !rest)
			return -ENOMEM;
		free(pending);
		pending = TAKE_PTR(rest);

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *slash = strrchr(where, '/');
			if (slash)
				*slash = '\0';
			else
				where[0] = '\0';
			int fd = where[0] ? snap_openat_in_root(rootfd, where, O_PATH | O_DIRECTORY, 0)
					  : openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				return fd == -1 ? negative_errno() : fd;
			closep(&cur);
			cur = fd;
			continue;
		}

		struct stat st;
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && last && (flags & O_CREAT)) {
				int fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
				return fd < 0 ? negative_errno() : fd;
			}
			return negative_errno();
		}
		if (S_ISLNK(st.st_mode)) {
			if (last && (flags & O_NOFOLLOW)) {
				int fd = openat(cur, comp, flags | O_CLOEXEC, mode);
				return fd < 0 ? negative_errno() : fd;
			}
			if (++links > 40)
				return -ELOOP;
			char target[PATH_MAX];
			ssize_t n = readlinkat(cur, comp, target, sizeof(target) - 1);
			if (n < 0)
				return negative_errno();
			target[n] = '\0';
			if ((size_t)n + strlen(pending) + 2 >= PATH_MAX)
				return -ENAMETOOLONG;
			char *joined;
			if (asprintf(&joined, "%s/%s", target, pending) < 0)
				return -ENOMEM;
			free(pending);
			pending = joined;
			if (target[0] == '/') {
				where[0] = '\0';
				int fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (fd < 0)
					return negative_errno();
				closep(&cur);
				cur = fd;
			}
			continue;
		}
		if (last) {
			int fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			return fd < 0 ? negative_errno() : fd;
		}
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return negative_errno();
		closep(&cur);
		cur = fd;
		char *nw;
		if (asprintf(&nw, "%s%s%s", where, where[0] ? "/" : "", comp) < 0)
			return -ENOMEM;
		free(where);
		where = nw;
	}
}

int snap_openat_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	if (openat2_usable()) {
		struct open_how how = {
			.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC),
			.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		for (;;) {
			int fd = (int)syscall(SYS_openat2, rootfd, path[0] ? path : ".", &how, sizeof(how));
			if (fd >= 0)
				return fd;
			if (errno == EAGAIN) /* concurrent rename seen by the kernel: retry */
				continue;
			if (errno != ENOSYS && errno != EPERM)
				return negative_errno();
			break;
		}
		atomic_store(&openat2_state, -1);
	}
	return walk_in_root(rootfd, path, flags, mode);
}

int snap_open_parent_in_root(int rootfd, const char *path, char **ret_name)
{
	_cleanup_free_ char *norm = snap_path_normalize(path);
	if (!norm)
		return negative_errno();
	char *slash = strrchr(norm, '/');
	char *name;
	int fd;
	if (!slash) {
		name = strdup(norm[0] ? norm : ".");
		fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fd = negative_errno();
	} else {
		*slash = '\0';
		name = strdup(slash + 1);
		fd = snap_openat_in_root(rootfd, norm, O_PATH | O_DIRECTORY, 0);
	}
	if (!name) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	if (fd < 0) {
		free(name);
		return fd;
	}
	*ret_name = name;
	return fd;
}

int snap_rm_children_at(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return negative_errno();
	}
	int r = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int q = snap_rm_rf_at(fd, de->d_name);
		if (q < 0 && r == 0)
			r = q;
	}
	if (errno != 0 && r == 0)
		r = negative_errno();
	return r;
}

int snap_rm_rf_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return negative_errno();
	_cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return errno == ENOENT ? 0 : negative_errno();
	int r = snap_rm_children_at(sub);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

int snap_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return negative_errno();
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

int snap_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int snap_read_file_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= max)
				return -EFBIG;
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int snap_write_file_atomic_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	if (snprintf(tmp, sizeof(tmp), ".#%s.%d", name, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	_cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return negative_errno();
	int r = snap_write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = negative_errno();
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = negative_errno();
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

void snap_names_done(struct snap_names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	*n = (struct snap_names){ 0 };
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int snap_dir_list_sorted(int fd, const char *skip_prefix, struct snap_names *ret)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negative_errno();
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return negative_errno();
	}
	size_t skip_len = skip_prefix ? strlen(skip_prefix) : 0;
	struct snap_names out = { 0 };
	size_t cap = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		const char *n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (skip_len && strncmp(n, skip_prefix, skip_len) == 0)
			continue;
		if (out.n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nv = realloc(out.v, cap * sizeof(*nv));
			if (!nv) {
				snap_names_done(&out);
				return -ENOMEM;
			}
			out.v = nv;
		}
		if (!(out.v[out.n] = strdup(n))) {
			snap_names_done(&out);
			return -ENOMEM;
		}
		out.n++;
	}
	if (errno) {
		int r = negative_errno();
		snap_names_done(&out);
		return r;
	}
	if (out.n > 1)
		qsort(out.v, out.n, sizeof(*out.v), name_cmp);
	*ret = out;
	return 0;
}

/* ---- disk usage ---- */

/* The walk's position, for messages: each level names its entry. */
struct usage_frame {
	const struct usage_frame *up;
	const char *name;
};

struct usage_walk {
	struct snap_usage u;
	struct snap_inode_map seen; /* inodes with more than one name */
	struct snap_error *err;
};

/* Deeper trees fail (ELOOP) rather than exhaust the stack. */
#define USAGE_MAX_DEPTH 4096

static size_t frame_path(const struct usage_frame *f, char *buf, size_t size)
{
	if (!f)
		return 0;
	size_t n = frame_path(f->up, buf, size);
	if (n + 1 >= size)
		return n;
	int q = snprintf(buf + n, size - n, "%s%s", n ? "/" : "", f->name);
	return q < 0 ? n : n + (size_t)q >= size ? size - 1 : n + (size_t)q;
}

static int usage_fail(struct usage_walk *w, const struct usage_frame *at, int r, const char *op)
{
	char path[PATH_MAX] = ".";
	if (at)
		frame_path(at, path, sizeof(path));
	return snap_error_set(w->err, r, "usage of '%s': %s: %s", path, op, strerror(-r));
}

/* Count an inode: 1 when counted, 0 when it was seen before, -ENOMEM. */
static int usage_count(struct usage_walk *w, const struct stat *st)
{
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		int r = snap_inode_map_put(&w->seen, st, NULL, NULL);
		if (r <= 0)
			return r;
	}
	w->u.size += (int64_t)st->st_blocks * 512;
	w->u.inodes++;
	return 1;
}

static int usage_dir(struct usage_walk *w, int dirfd, const struct usage_frame *at, unsigned depth)
{
	if (depth > USAGE_MAX_DEPTH)
		return usage_fail(w, at, -ELOOP, "descend");
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return usage_fail(w, at, negative_errno(), "open directory");
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		close(fd);
		return usage_fail(w, at, r, "fdopendir");
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de)
			return errno ? usage_fail(w, at, negative_errno(), "readdir") : 0;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		const struct usage_frame here = { .up = at, .name = de->d_name };
		struct stat st;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) /* removed meanwhile */
				continue;
			return usage_fail(w, &here, negative_errno(), "stat");
		}
		int r = usage_count(w, &st);
		if (r < 0)
			return usage_fail(w, &here, r, "count");
		if (r == 0 || !S_ISDIR(st.st_mode))
			continue;
		_cleanup_close_ int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return usage_fail(w, &here, negative_errno(), "open");
		if ((r = usage_dir(w, sub, &here, depth + 1)) < 0)
			return r;
	}
}

int snap_usage_at(int dirfd, unsigned flags, struct snap_usage *ret, struct snap_error *err)
{
	struct usage_walk w = { .err = err };
	int r = 0;
	if (flags & SNAP_USAGE_ROOT) {
		struct stat st;
		r = fstat(dirfd, &st) < 0 ? usage_fail(&w, NULL, negative_errno(), "stat") : usage_count(&w, &st);
	}
	if (r >= 0)
		r = usage_dir(&w, dirfd, NULL, 0);
	snap_inode_map_done(&w.seen, NULL);
	if (r < 0)
		return r;
	*ret = w.u;
	return 0;
}

const char *snap_fs_type_name(long magic)
{
	switch ((unsigned long)magic) {
	case XFS_SUPER_MAGIC: return "xfs";
	case EXT4_SUPER_MAGIC: return "ext4";
	case BTRFS_SUPER_MAGIC: return "btrfs";
	case TMPFS_MAGIC: return "tmpfs";
	case OVERLAYFS_SUPER_MAGIC: return "overlay";
	case 0x6969: return "nfs";
	case 0x2011bab0: return "exfat";
	case 0xf2f52010: return "f2fs";
	case 0x65735546: return "fuse";
	default: return NULL;
	}
}
