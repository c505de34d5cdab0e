/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the layer engine's pieces: digests, canonical order, the
 * string map, the change collector fed out of order, the whiteout hook
 * contract, and rollback of a failed apply that used the hook. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/digest.h"
#include "util/fs-util.h"
#include "layer/entry-compare.h"
#include "layer/layer-internal.h"
#include "layer/layer.h"
#include "util/macro.h"
#include "util/strset.h"

static void test_digest(void **state)
{
	char d[SNAP_DIGEST_MAX];
	assert_int_equal(snap_sha256_buf("", 0, d), 0);
	assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(snap_sha256_buf("abc", 3, d), 0);
	assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(snap_digest_valid(d));
	assert_string_equal(snap_digest_hex(d), d + 7);
	assert_false(snap_digest_valid("sha256:abc"));
	assert_false(snap_digest_valid("md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	assert_false(snap_digest_valid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
	/* streaming equals one shot */
	struct snap_sha256 h;
	assert_int_equal(snap_sha256_init(&h), 0);
	assert_int_equal(snap_sha256_update(&h, "a", 1), 0);
	assert_int_equal(snap_sha256_update(&h, "bc", 2), 0);
	assert_int_equal(h.size, 3);
	char d2[SNAP_DIGEST_MAX];
	assert_int_equal(snap_sha256_final(&h, d2), 0);
	assert_string_equal(d, d2);
}

static void test_path_cmp(void **state)
{
	/* '/' before every other byte: a directory's children follow it */
	assert_true(snap_path_cmp("a", "a/b") < 0);
	assert_true(snap_path_cmp("a/b", "a-b") < 0);
	assert_true(snap_path_cmp("a/z", "a.b") < 0);
	assert_true(snap_path_cmp("a/.wh.x", "a/b") < 0);
	assert_true(snap_path_cmp("b", "a/b") > 0);
	assert_int_equal(snap_path_cmp("x/y", "x/y"), 0);
	assert_true(snap_path_cmp("\x01", "/") > 0);
}

static void test_strmap(void **state)
{
	struct snap_strmap m = { 0 };
	char k[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "key/%d", i);
		assert_int_equal(snap_strmap_put(&m, k, (void *)(uintptr_t)(i + 1)), 1);
	}
	assert_int_equal(snap_strmap_put(&m, "key/7", NULL), 0);
	void *v;
	assert_true(snap_strmap_get(&m, "key/7", &v));
	assert_ptr_equal(v, (void *)(uintptr_t)8);
	assert_int_equal(snap_strmap_set(&m, "key/7", (void *)1), 0);
	assert_true(snap_strmap_get(&m, "key/7", &v));
	assert_ptr_equal(v, (void *)1);
	assert_true(snap_strmap_getn(&m, "key/123456", 7, NULL)); /* "key/123" */
	assert_false(snap_strmap_get(&m, "key/5000", NULL));
	assert_int_equal(m.n, 5000);
	snap_strmap_done(&m);
	assert_false(snap_strmap_get(&m, "key/1", NULL));
}

/* ---- temp trees ---- */

struct fixture {
	char dir[64];
	int old_fd, new_fd, tree_fd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-layer-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char p[128];
	const char *names[] = { "old", "new", "tree" };
	int *fds[] = { &f->old_fd, &f->new_fd, &f->tree_fd };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
		if (mkdir(p, 0755) < 0)
			return -1;
		*fds[i] = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	close(f->old_fd);
	close(f->new_fd);
	close(f->tree_fd);
	_cleanup_close_ int tmp = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	snap_rm_rf_at(tmp, f->dir + 5);
	free(f);
	return 0;
}

static void put_file(int dirfd, const char *path, const char *content)
{
	_cleanup_free_ char *copy = strdup(path);
	for (char *s = strchr(copy, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdirat(dirfd, copy, 0755);
		*s = '/';
	}
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(snap_write_all(fd, content, strlen(content)), 0);
	struct timespec ts[2] = { { 1600000000, 5 }, { 1600000000, 5 } };
	futimens(fd, ts);
	close(fd);
}

static char *read_all(int dirfd, const char *path)
{
	char *buf = NULL;
	size_t len;
	if (snap_read_file_at(dirfd, path, 1 << 20, &buf, &len) < 0)
		return NULL;
	return buf;
}

static int64_t ctime_ns(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* The comparison rule (entry-compare.h): two files of one size, mtime (with
 * nanoseconds), mode and owner but other bytes are changed when the new one
 * was written at or after the snapshot's prepare time, or when that time is
 * unknown; a file older than the prepare time was copied by the driver and
 * is not read.  Files with the same bytes are unchanged either way. */
static void test_entry_compare(void **state)
{
	struct fixture *f = *state;
	put_file(f->old_fd, "a", "one");
	put_file(f->new_fd, "a", "two");
	put_file(f->old_fd, "s", "same");
	put_file(f->new_fd, "s", "same");
	const char *step = NULL;
	struct stat os, ns;
	assert_int_equal(fstatat(f->old_fd, "a", &os, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(fstatat(f->new_fd, "a", &ns, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(ns.st_mtim.tv_nsec, 5);
	int64_t written = ctime_ns(&ns);
	assert_int_equal(snap_entry_changed(f->old_fd, f->new_fd, "a", &os, &ns, 0, &step), 1);
	assert_int_equal(snap_entry_changed(f->old_fd, f->new_fd, "a", &os, &ns, written, &step), 1);
	assert_int_equal(snap_entry_changed(f->old_fd, f->new_fd, "a", &os, &ns, written - 1000, &step), 1);
	assert_int_equal(snap_entry_changed(f->old_fd, f->new_fd, "a", &os, &ns, written + 1, &step), 0);

	assert_int_equal(fstatat(f->old_fd, "s", &os, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(fstatat(f->new_fd, "s", &ns, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(snap_entry_changed(f->old_fd, f->new_fd, "s", &os, &ns, 0, &step), 0);
	assert_int_equal(snap_entry_changed(f->old_fd, f->new_fd, "s", &os, &ns, ctime_ns(&ns), &step), 0);
}

/* xfs' second name for a POSIX ACL (trusted.SGI_ACL_FILE, _DEFAULT) is
 * neither read for a layer nor compared: set on one side only, the entry is
 * unchanged.  Any filesystem with trusted.* xattrs stands in for xfs here;
 * tests/fstest/fstest-xfs-acl.sh runs a real xfs. */
static void test_xfs_acl_names(void **state)
{
	struct fixture *f = *state;
	put_file(f->old_fd, "t", "t");
	put_file(f->new_fd, "t", "t");
	static const char acl[] = "sgi-acl-bytes";
	if (snap_xattr_set_at(f->new_fd, "t", "trusted.SGI_ACL_FILE", acl, sizeof(acl)) < 0 ||
	    snap_xattr_set_at(f->new_fd, "t", "trusted.SGI_ACL_DEFAULT", acl, sizeof(acl)) < 0 ||
	    snap_xattr_set_at(f->new_fd, "t", "trusted.kept", acl, sizeof(acl)) < 0) {
		print_message("trusted.* xattrs unsupported on /tmp: %s\n", strerror(errno));
		skip();
	}
	_cleanup_(snap_xattrs_done) struct snap_xattrs x = { 0 };
	assert_int_equal(snap_xattrs_read_at(f->new_fd, "t", false, &x), 0);
	assert_int_equal(x.n, 1);
	assert_string_equal(x.v[0].name, "trusted.kept");
	assert_int_equal(snap_xattr_remove_at(f->new_fd, "t", "trusted.kept"), 0);
	struct stat os, ns;
	assert_int_equal(fstatat(f->old_fd, "t", &os, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(fstatat(f->new_fd, "t", &ns, AT_SYMLINK_NOFOLLOW), 0);
	const char *step = NULL;
	assert_int_equal(snap_entry_changed(f->old_fd, f->new_fd, "t", &os, &ns, 0, &step), 0);
}

/* Names in a tar, one per line. */
static char *tar_names(int fd)
{
	lseek(fd, 0, SEEK_SET);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	assert_int_equal(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK);
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	struct archive_entry *e;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK)
		fprintf(m, "%s\n", archive_entry_pathname(e));
	fclose(m);
	archive_read_free(a);
	return out;
}

/* A driver fast diff reporting out of order, twice for one path, with a
 * source fd it closes right after: the collector sorts, merges, adds
 * parents, turns a fully emptied directory into an opaque marker. */
static void test_collector(void **state)
{
	struct fixture *f = *state;
	put_file(f->old_fd, "d/x", "1");
	put_file(f->old_fd, "d/y", "2");
	put_file(f->old_fd, "e/keep", "k");
	put_file(f->old_fd, "e/gone", "g");
	put_file(f->new_fd, "d/z", "3");
	put_file(f->new_fd, "e/keep", "k");
	put_file(f->new_fd, "p/q/r", "deep");
	struct snap_diff_collector *c = NULL;
	assert_int_equal(snap_diff_collector_new(f->new_fd, f->old_fd, &c), 0);
	struct snap_change_sink *sink = snap_diff_collector_sink(c);
	int src = openat(f->new_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(sink->change(sink, SNAP_CHANGE_ADD, "p/q/r", src), 0);
	assert_int_equal(sink->change(sink, SNAP_CHANGE_DELETE, "d/y", -1), 0);
	assert_int_equal(sink->change(sink, SNAP_CHANGE_ADD, "/d/z", src), 0);
	assert_int_equal(sink->change(sink, SNAP_CHANGE_DELETE, "e/gone", -1), 0);
	assert_int_equal(sink->change(sink, SNAP_CHANGE_DELETE, "d/x", -1), 0);
	assert_int_equal(sink->change(sink, SNAP_CHANGE_ADD, "p/q/r", src), 0);
	close(src); /* the collector keeps its own duplicate */
	char path[128];
	snprintf(path, sizeof(path), "%s/out.tar", f->dir);
	_cleanup_close_ int out = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct snap_error err = { 0 };
	struct snap_layer_digests dg = { 0 };
	assert_int_equal(snap_diff_collector_write(c, out, SNAP_COMPRESS_NONE, &dg, &err), 0);
	assert_int_equal(dg.entries, 8);
	_cleanup_free_ char *names = tar_names(out);
	assert_string_equal(names, "d/\nd/.wh..wh..opq\nd/z\ne/\ne/.wh.gone\np/\np/q/\np/q/r\n");
	struct snap_changes ch = { 0 };
	assert_int_equal(snap_diff_collector_changes(c, &ch, &err), 0);
	assert_int_equal(ch.n, 9);
	assert_string_equal(ch.v[0].path, "/d");
	assert_int_equal(ch.v[0].kind, SNAP_CHANGE_MODIFY);
	assert_string_equal(ch.v[1].path, "/d/x");
	assert_int_equal(ch.v[1].kind, SNAP_CHANGE_DELETE);
	assert_string_equal(ch.v[8].path, "/p/q/r");
	assert_int_equal(ch.v[8].kind, SNAP_CHANGE_ADD);
	snap_changes_done(&ch);
	/* a bad kind is refused and remembered */
	assert_int_equal(sink->change(sink, 42, "x", -1), -EINVAL);
	assert_int_equal(snap_diff_collector_error(c, &err), -EINVAL);
	snap_diff_collector_free(c);
}

/* ---- the whiteout hook ---- */

struct hook_log {
	int entries, opaques;
	char last_name[256];
	int fail_at; /* fail the n-th call (1-based); 0 never */
};

/* What overlay does: a 0/0 char device, an opaque xattr. */
static int record_hook(void *state, int dirfd, const char *name, int kind, struct snap_error *err)
{
	struct hook_log *h = state;
	snprintf(h->last_name, sizeof(h->last_name), "%s", name);
	if (h->fail_at && h->entries + h->opaques + 1 == h->fail_at)
		return snap_error_set(err, -EIO, "hook refused '%s'", name);
	if (kind == SNAP_WHITEOUT_ENTRY) {
		h->entries++;
		if (mknodat(dirfd, name, S_IFCHR, makedev(0, 0)) < 0)
			return snap_error_set(err, -errno, "mknod %s: %s", name, strerror(errno));
		return 0;
	}
	h->opaques++;
	return snap_xattr_set_at(dirfd, name, "user.test.opaque", "y", 1);
}

static void add(struct archive *a, const char *name, int type, const char *data, const char *link)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(e, 1700000000, 7);
	archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
	if (link)
		archive_entry_set_hardlink(e, link);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (data)
		archive_write_data(a, data, strlen(data));
	archive_entry_free(e);
}

static int make_layer(struct fixture *f, const char *name, bool broken)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax(a);
	archive_write_open_fd(a, fd);
	add(a, "lower/", AE_IFDIR, NULL, NULL);
	add(a, "lower/.wh.a", AE_IFREG, "", NULL);
	add(a, "lower/mine", AE_IFREG, "m", NULL);
	add(a, "lower/.wh.mine", AE_IFREG, "", NULL); /* same layer: not hidden */
	add(a, "op/", AE_IFDIR, NULL, NULL);
	add(a, "op/.wh..wh..opq", AE_IFREG, "", NULL);
	add(a, "op/.wh..wh..opq", AE_IFREG, "", NULL); /* once per directory */
	add(a, "op/new", AE_IFREG, "n", NULL);
	add(a, "top", AE_IFREG, "replaced", NULL);
	if (broken)
		add(a, "bad", AE_IFREG, NULL, "missing/target");
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void base_tree(struct fixture *f)
{
	put_file(f->tree_fd, "lower/a", "a");
	put_file(f->tree_fd, "lower/b", "b");
	put_file(f->tree_fd, "op/old1", "o");
	put_file(f->tree_fd, "op/sub/old2", "o");
	put_file(f->tree_fd, "top", "top");
}

static void test_hook_apply(void **state)
{
	struct fixture *f = *state;
	base_tree(f);
	struct hook_log log = { 0 };
	struct snap_whiteout_hook hook = { .fn = record_hook, .state = &log };
	_cleanup_close_ int fd = make_layer(f, "good.tar", false);
	struct snap_error err = { 0 };
	struct snap_layer_digests dg = { 0 };
	assert_int_equal(snap_layer_apply_dirfd(f->tree_fd, fd, &hook, &dg, &err), 0);
	assert_int_equal(log.entries, 1);
	assert_int_equal(log.opaques, 1);
	assert_string_equal(log.last_name, "op");
	struct stat st;
	assert_int_equal(fstatat(f->tree_fd, "lower/a", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	assert_int_equal(fstatat(f->tree_fd, "lower/mine", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	/* lower contents inside the tree are removed even with a hook */
	assert_int_equal(fstatat(f->tree_fd, "op/old1", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(f->tree_fd, "op/sub", &st, AT_SYMLINK_NOFOLLOW), -1);
	_cleanup_free_ char *top = read_all(f->tree_fd, "top");
	assert_string_equal(top, "replaced");
	assert_int_equal(dg.entries, 9);
	/* the digests are those of the bytes read */
	char d[SNAP_DIGEST_MAX];
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(snap_sha256_fd(fd, d, NULL), 0);
	assert_string_equal(d, dg.blob_digest);
	assert_string_equal(d, dg.diff_id);
}

static void dump(int treefd, char **ret)
{
	/* a compact description: path, type, size, mtime, xattrs */
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	const char *paths[] = { "", "lower", "lower/a", "lower/b", "lower/mine", "op", "op/old1", "op/sub",
				"op/sub/old2", "op/new", "top", "bad" };
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		struct stat st;
		if (fstatat(treefd, paths[i][0] ? paths[i] : ".", &st, AT_SYMLINK_NOFOLLOW) < 0) {
			fprintf(m, "%s -\n", paths[i]);
			continue;
		}
		char x[64] = "";
		struct snap_xattrs xs = { 0 };
		snap_xattrs_read_at(treefd, paths[i][0] ? paths[i] : ".", true, &xs);
		for (size_t k = 0; k < xs.n; k++)
			strncat(x, xs.v[k].name, sizeof(x) - strlen(x) - 1);
		snap_xattrs_done(&xs);
		fprintf(m, "%s %o %lld %lld.%09ld %s\n", paths[i], st.st_mode, (long long)st.st_size,
			(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, x);
	}
	fclose(m);
	*ret = out;
}

static void rollback_case(struct fixture *f, int fail_at, bool broken)
{
	base_tree(f);
	_cleanup_free_ char *before = NULL, *after = NULL;
	dump(f->tree_fd, &before);
	struct hook_log log = { .fail_at = fail_at };
	struct snap_whiteout_hook hook = { .fn = record_hook, .state = &log };
	_cleanup_close_ int fd = make_layer(f, "layer.tar", broken);
	struct snap_error err = { 0 };
	assert_true(snap_layer_apply_dirfd(f->tree_fd, fd, &hook, NULL, &err) < 0);
	assert_non_null(strstr(err.message, broken ? "entry 'bad'" : "hook refused"));
	dump(f->tree_fd, &after);
	assert_string_equal(before, after);
}

static void test_rollback_after_hook(void **state)
{
	/* everything applied, the last entry fails: the whiteout device, the
	 * opaque xattr, the moved entries and all parents' times are undone */
	rollback_case(*state, 0, true);
}

static void test_rollback_hook_fails(void **state)
{
	rollback_case(*state, 2, false);
}

int main(void)
{
	if (getuid() != 0) {
		/* owners and device nodes */
		printf("1..0 # SKIP needs root\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_path_cmp),
		cmocka_unit_test(test_strmap),
		cmocka_unit_test_setup_teardown(test_collector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_compare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xfs_acl_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_after_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_hook_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
