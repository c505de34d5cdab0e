/* SPDX-License-Identifier: Apache-2.0 */
#include "usage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"

struct inode_key {
	dev_t dev;
	ino_t ino;
};

struct usage_ctx {
	struct snap_usage u;
	void *seen; /* tsearch tree of inodes with more than one name */
	struct snap_error *err;
	char path[PATH_MAX];
	size_t path_len;
};

static int inode_cmp(const void *a, const void *b)
{
	const struct inode_key *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static int fail(struct usage_ctx *c, int r, const char *op)
{
	return snap_error_set(c->err, r, "usage of '%s': %s: %s", c->path_len ? c->path : ".", op,
			      strerror(-r));
}

/* Count an inode; 0 when counted, 1 when it was seen before, -errno. */
static int count(struct usage_ctx *c, const struct stat *st)
{
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		struct inode_key *k = malloc(sizeof(*k));
		if (!k)
			return -ENOMEM;
		k->dev = st->st_dev;
		k->ino = st->st_ino;
		void *slot = tsearch(k, &c->seen, inode_cmp);
		if (!slot) {
			free(k);
			return -ENOMEM;
		}
		if (*(struct inode_key **)slot != k) {
			free(k);
			return 1;
		}
	}
	c->u.size += (int64_t)st->st_blocks * 512;
	c->u.inodes++;
	return 0;
}

static int walk(struct usage_ctx *c, int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
		if (!de)
			return errno ? fail(c, negative_errno(), "readdir") : 0;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		size_t saved = c->path_len, n = strlen(de->d_name);
		if (saved + n + 2 >= sizeof(c->path))
			return fail(c, -ENAMETOOLONG, de->d_name);
		if (saved)
			c->path[c->path_len++] = '/';
		memcpy(c->path + c->path_len, de->d_name, n + 1);
		c->path_len += n;

		struct stat st;
		int r = 0;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = errno == ENOENT ? 1 : fail(c, negative_errno(), "stat"); /* ENOENT: removed meanwhile */
		if (r == 0) {
			r = count(c, &st);
			if (r < 0)
				r = fail(c, r, "count");
		}
		if (r == 0 && S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(dirfd(d), de->d_name,
							 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? fail(c, negative_errno(), "open") : walk(c, sub);
		}
		c->path_len = saved;
		c->path[saved] = '\0';
		if (r < 0)
			return r;
	}
}

int snap_tree_usage_at(int dirfd, struct snap_usage *ret, struct snap_error *err)
{
	_cleanup_free_ struct usage_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return snap_error_set(err, -ENOMEM, "usage: %s", strerror(ENOMEM));
	c->err = err;
	struct stat st;
	int r = fstat(dirfd, &st) < 0 ? fail(c, negative_errno(), "stat") : 0;
	if (r == 0)
		r = count(c, &st) < 0 ? fail(c, -ENOMEM, "count") : 0;
	if (r == 0)
		r = walk(c, dirfd);
	tdestroy(c->seen, free);
	if (r == 0)
		*ret = c->u;
	return r;
}
