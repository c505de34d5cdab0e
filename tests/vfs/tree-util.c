/* SPDX-License-Identifier: Apache-2.0 */
#include "tree-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fs-util.h"
#include "util/macro.h"

#define CHECK(expr)                                                                    \
	do {                                                                           \
		if ((expr) < 0)                                                        \
			fail_msg("%s: %s", #expr, strerror(errno));                    \
	} while (0)

static void set_times(int dirfd, const char *name, long sec, long nsec)
{
	struct timespec ts[2] = { { sec - 100, nsec / 2 }, { sec, nsec } };
	CHECK(utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW));
}

void tree_write(int dirfd, const char *name, const char *content)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("create %s: %s", name, strerror(errno));
	assert_int_equal(snap_write_all(fd, content, strlen(content)), 0);
}

char *tree_read(int dirfd, const char *name)
{
	char *s = NULL;
	int r = snap_read_file_at(dirfd, name, 1 << 20, &s, NULL);
	if (r < 0)
		fail_msg("read %s: %s", name, strerror(-r));
	return s;
}

void tree_build_sample(int d)
{
	tree_write(d, "hello", "hello world\n");
	tree_write(d, "empty", "");
	CHECK(fchownat(d, "hello", 1000, 1001, 0));
	CHECK(fchmodat(d, "hello", 04755, 0)); /* set-uid survives only if chmod follows chown */

	/* A sparse file: 1 MiB with 4 KiB of data in the middle. */
	{
		_cleanup_close_ int fd = openat(d, "sparse", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		CHECK(fd);
		CHECK(ftruncate(fd, 1 << 20));
		char block[4096];
		memset(block, 's', sizeof(block));
		CHECK(pwrite(fd, block, sizeof(block), 512 * 1024));
	}

	/* A directory that is read-only and owned by someone else, with an
	 * overlay xattr that must not be copied and others that must be. */
	CHECK(mkdirat(d, "ro", 0755));
	_cleanup_close_ int ro = openat(d, "ro", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(ro);
	tree_write(ro, "inside", "inside\n");
	CHECK(fsetxattr(ro, "trusted.overlay.opaque", "y", 1, 0));
	CHECK(fsetxattr(ro, "trusted.kept", "t", 1, 0));
	CHECK(fsetxattr(ro, "user.kept", "u", 1, 0));
	CHECK(fchown(ro, 1002, 1003));
	CHECK(fchmod(ro, 0555));

	/* A file with a file capability, owned by a non-root user: the
	 * capability must be set after the chown, which clears it. */
	tree_write(d, "capfile", "#!/bin/true\n");
	CHECK(fchownat(d, "capfile", 1000, 1000, 0));
	{
		struct vfs_cap_data cap = { .magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE };
		cap.data[0].permitted = 1u << CAP_NET_RAW;
		_cleanup_close_ int fd = openat(d, "capfile", O_RDONLY | O_CLOEXEC);
		CHECK(fd);
		CHECK(fsetxattr(fd, "security.capability", &cap, sizeof(cap), 0));
	}

	/* Hardlinks: two names in two directories, and a third. */
	CHECK(mkdirat(d, "a", 0750));
	CHECK(mkdirat(d, "a/b", 0700));
	tree_write(d, "a/linked", "linked\n");
	CHECK(linkat(d, "a/linked", d, "a/b/linked2", 0));
	CHECK(linkat(d, "a/linked", d, "linked3", 0));

	/* Symlinks, never followed: dangling, absolute, to a directory. */
	CHECK(symlinkat("/etc/passwd", d, "abs-link"));
	CHECK(symlinkat("does-not-exist", d, "dangling"));
	CHECK(symlinkat("a", d, "dir-link"));
	CHECK(fchownat(d, "dangling", 1005, 1006, AT_SYMLINK_NOFOLLOW));

	/* Special files. */
	CHECK(mknodat(d, "null", S_IFCHR | 0666, makedev(1, 3)));
	CHECK(mknodat(d, "loop", S_IFBLK | 0660, makedev(7, 200)));
	CHECK(mknodat(d, "fifo", S_IFIFO | 0640, 0));
	CHECK(mknodat(d, "sock", S_IFSOCK | 0755, 0));
	CHECK(fchownat(d, "fifo", 1007, 1008, AT_SYMLINK_NOFOLLOW));
	{
		/* xattrs on entries that cannot be opened: through the parent's
		 * /proc/self/fd link, the last component not followed. */
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "/proc/self/fd/%d/fifo", d);
		CHECK(lsetxattr(p, "trusted.fifo", "f", 1, 0));
		snprintf(p, sizeof(p), "/proc/self/fd/%d/dangling", d);
		CHECK(lsetxattr(p, "trusted.link", "l", 1, 0));
	}

	/* Distinct nanosecond times everywhere, directories last. */
	static const char *const names[] = { "hello", "empty", "sparse", "ro/inside", "capfile",
					     "a/linked", "abs-link", "dangling", "dir-link", "null",
					     "loop", "fifo", "sock" };
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		set_times(d, names[i], 1600000000 + (long)i * 1000, 123456789 + (long)i);
	set_times(d, "a/b", 1500000000, 1);
	set_times(d, "a", 1500000001, 2);
	set_times(d, "ro", 1500000002, 3);
	{
		struct timespec ts[2] = { { 1400000000, 5 }, { 1400000000, 999999999 } };
		CHECK(futimens(d, ts));
	}
}

/* ---- comparison --------------------------------------------------------- */

/* Compare the xattrs of two entries given as /proc/self/fd paths; `follow`
 * for the roots (the path is the fd's own magic link). */
static void assert_same_xattrs(const char *pa, const char *pb, bool follow, const char *path)
{
	char na[4096], nb[4096];
	ssize_t la = follow ? listxattr(pa, na, sizeof(na)) : llistxattr(pa, na, sizeof(na));
	ssize_t lb = follow ? listxattr(pb, nb, sizeof(nb)) : llistxattr(pb, nb, sizeof(nb));
	if (la < 0 || lb < 0)
		fail_msg("listxattr %s: %s", path, strerror(errno));
	/* every xattr of a but trusted.overlay.* is in b with the same value */
	size_t count_a = 0, count_b = 0;
	for (char *n = na; n < na + la; n += strlen(n) + 1) {
		if (strncmp(n, "trusted.overlay.", 16) == 0)
			continue;
		count_a++;
		char va[4096], vb[4096];
		ssize_t sa = follow ? getxattr(pa, n, va, sizeof(va)) : lgetxattr(pa, n, va, sizeof(va));
		ssize_t sb = follow ? getxattr(pb, n, vb, sizeof(vb)) : lgetxattr(pb, n, vb, sizeof(vb));
		if (sa < 0 || sb != sa || memcmp(va, vb, (size_t)sa) != 0)
			fail_msg("xattr %s of %s differs (%zd vs %zd)", n, path, sa, sb);
	}
	for (char *n = nb; n < nb + lb; n += strlen(n) + 1) {
		if (strncmp(n, "trusted.overlay.", 16) == 0)
			fail_msg("%s: %s was copied", path, n);
		count_b++;
	}
	if (count_a != count_b)
		fail_msg("%s: %zu xattrs in source, %zu in copy", path, count_a, count_b);
}

static void assert_same_xattrs_at(int a, int b, const char *name, const char *path)
{
	char pa[PATH_MAX], pb[PATH_MAX];
	snprintf(pa, sizeof(pa), "/proc/self/fd/%d/%s", a, name);
	snprintf(pb, sizeof(pb), "/proc/self/fd/%d/%s", b, name);
	assert_same_xattrs(pa, pb, false, path);
}

struct link_pair {
	ino_t a, b;
};

struct cmp_ctx {
	struct link_pair *links;
	size_t n_links;
	unsigned flags;
};

static void check_link(struct cmp_ctx *c, const struct stat *sa, const struct stat *sb, const char *path)
{
	for (size_t i = 0; i < c->n_links; i++) {
		bool ma = c->links[i].a == sa->st_ino, mb = c->links[i].b == sb->st_ino;
		if (ma != mb)
			fail_msg("%s: hardlink structure differs", path);
		if (ma)
			return;
	}
	c->links = realloc(c->links, (c->n_links + 1) * sizeof(*c->links));
	assert_non_null(c->links);
	c->links[c->n_links++] = (struct link_pair){ sa->st_ino, sb->st_ino };
}

static void assert_same_stat(const struct cmp_ctx *c, const struct stat *sa, const struct stat *sb,
			     const char *path)
{
	if (sa->st_mode != sb->st_mode)
		fail_msg("%s: mode %o vs %o", path, sa->st_mode, sb->st_mode);
	if (sa->st_uid != sb->st_uid || sa->st_gid != sb->st_gid)
		fail_msg("%s: owner %u:%u vs %u:%u", path, sa->st_uid, sa->st_gid, sb->st_uid, sb->st_gid);
	if (!S_ISDIR(sa->st_mode) && sa->st_size != sb->st_size)
		fail_msg("%s: size %lld vs %lld", path, (long long)sa->st_size, (long long)sb->st_size);
	if ((c->flags & TREE_CMP_TIMES) &&
	    (sa->st_mtim.tv_sec != sb->st_mtim.tv_sec || sa->st_mtim.tv_nsec != sb->st_mtim.tv_nsec))
		fail_msg("%s: mtime %lld.%09ld vs %lld.%09ld", path, (long long)sa->st_mtim.tv_sec,
			 sa->st_mtim.tv_nsec, (long long)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec);
	if ((S_ISCHR(sa->st_mode) || S_ISBLK(sa->st_mode)) && sa->st_rdev != sb->st_rdev)
		fail_msg("%s: rdev differs", path);
	if ((c->flags & TREE_CMP_NLINK) && sa->st_nlink != sb->st_nlink && !S_ISDIR(sa->st_mode))
		fail_msg("%s: nlink %lu vs %lu", path, (unsigned long)sa->st_nlink, (unsigned long)sb->st_nlink);
}

static void assert_same_data(int a, int b, const struct stat *st, const char *path)
{
	char ba[65536], bb[65536];
	for (off_t off = 0; off < st->st_size; off += (off_t)sizeof(ba)) {
		ssize_t ra = pread(a, ba, sizeof(ba), off), rb = pread(b, bb, sizeof(bb), off);
		if (ra < 0 || ra != rb || memcmp(ba, bb, (size_t)ra) != 0)
			fail_msg("%s: data differs at %lld", path, (long long)off);
	}
}

static void compare_dir(struct cmp_ctx *c, int a, int b, char *path, size_t len);

static void compare_entry(struct cmp_ctx *c, int a, int b, const char *name, char *path, size_t len)
{
	size_t saved = len, n = strlen(name);
	assert_true(len + n + 2 < PATH_MAX);
	if (len)
		path[len++] = '/';
	memcpy(path + len, name, n + 1);
	len += n;

	struct stat sa, sb;
	if (fstatat(a, name, &sa, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("stat %s in source: %s", path, strerror(errno));
	if (fstatat(b, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("%s missing in copy: %s", path, strerror(errno));
	assert_same_stat(c, &sa, &sb, path);
	if (!S_ISDIR(sa.st_mode) && sa.st_nlink > 1)
		check_link(c, &sa, &sb, path);
	assert_same_xattrs_at(a, b, name, path);

	if (S_ISREG(sa.st_mode) || S_ISDIR(sa.st_mode)) {
		int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(sa.st_mode) ? O_DIRECTORY : 0);
		_cleanup_close_ int fa = openat(a, name, flags);
		_cleanup_close_ int fb = openat(b, name, flags);
		if (fa < 0 || fb < 0)
			fail_msg("open %s: %s", path, strerror(errno));
		if (S_ISREG(sa.st_mode)) {
			assert_same_data(fa, fb, &sa, path);
			/* holes kept: the copy uses no more blocks than the source */
			if (sb.st_blocks > sa.st_blocks)
				fail_msg("%s: copy uses %lld blocks, source %lld", path, (long long)sb.st_blocks,
					 (long long)sa.st_blocks);
		} else {
			compare_dir(c, fa, fb, path, len);
		}
	} else if (S_ISLNK(sa.st_mode)) {
		char ta[PATH_MAX], tb[PATH_MAX];
		ssize_t ra = readlinkat(a, name, ta, sizeof(ta)), rb = readlinkat(b, name, tb, sizeof(tb));
		if (ra < 0 || ra != rb || memcmp(ta, tb, (size_t)ra) != 0)
			fail_msg("%s: symlink target differs", path);
	}
	path[saved] = '\0';
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static size_t list_dir(int dirfd, char ***ret)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	DIR *d = fdopendir(fd);
	assert_non_null(d);
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		assert_non_null(v);
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	return n;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void compare_dir(struct cmp_ctx *c, int a, int b, char *path, size_t len)
{
	char **la, **lb;
	size_t na = list_dir(a, &la), nb = list_dir(b, &lb);
	if (na != nb)
		fail_msg("%s: %zu entries in source, %zu in copy", len ? path : ".", na, nb);
	for (size_t i = 0; i < na; i++) {
		if (strcmp(la[i], lb[i]) != 0)
			fail_msg("%s: entry %s vs %s", len ? path : ".", la[i], lb[i]);
		compare_entry(c, a, b, la[i], path, len);
	}
	free_list(la, na);
	free_list(lb, nb);
}

void tree_assert_same(int a, int b, unsigned flags)
{
	struct cmp_ctx c = { .flags = flags };
	char path[PATH_MAX] = "";
	if (flags & TREE_CMP_ROOT) {
		struct stat sa, sb;
		assert_int_equal(fstat(a, &sa), 0);
		assert_int_equal(fstat(b, &sb), 0);
		assert_same_stat(&c, &sa, &sb, ".");
		char pa[64], pb[64];
		snprintf(pa, sizeof(pa), "/proc/self/fd/%d", a);
		snprintf(pb, sizeof(pb), "/proc/self/fd/%d", b);
		assert_same_xattrs(pa, pb, true, ".");
	}
	compare_dir(&c, a, b, path, 0);
	free(c.links);
}

char *tree_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *p = NULL;
	if (asprintf(&p, "%s/snapctl-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		fail_msg("asprintf");
	if (!mkdtemp(p))
		fail_msg("mkdtemp %s: %s", p, strerror(errno));
	return p;
}

void tree_rm_rf(const char *path)
{
	if (!path)
		return;
	_cleanup_free_ char *copy = strdup(path);
	assert_non_null(copy);
	char *slash = strrchr(copy, '/');
	assert_non_null(slash);
	*slash = '\0';
	_cleanup_close_ int parent = open(copy[0] ? copy : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent >= 0)
		(void)snap_rm_rf_at(parent, slash + 1);
}
