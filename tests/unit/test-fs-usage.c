/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one usage walker (snap_usage_at) and the one hard-link rule it and the
 * vfs copier share (inode-map.h: an inode is its st_dev and st_ino).
 */
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/inode-map.h"
#include "util/macro.h"

static struct stat inode(dev_t dev, ino_t ino)
{
	return (struct stat){ .st_dev = dev, .st_ino = ino };
}

static void test_inode_map_keys_on_dev_and_ino(void **state)
{
	struct snap_inode_map m = { 0 };
	struct stat a = inode(1, 42), b = inode(2, 42), a_again = inode(1, 42);
	void *v = NULL;
	assert_false(snap_inode_map_get(&m, &a, &v));
	assert_int_equal(snap_inode_map_put(&m, &a, (void *)"first", NULL), 1);
	/* The same inode number on another device is another inode. */
	assert_int_equal(snap_inode_map_put(&m, &b, (void *)"other dev", NULL), 1);
	assert_int_equal(snap_inode_map_put(&m, &a_again, (void *)"second", &v), 0);
	assert_string_equal(v, "first");
	assert_true(snap_inode_map_get(&m, &b, &v));
	assert_string_equal(v, "other dev");
	snap_inode_map_done(&m, NULL);
}

static void test_inode_map_grows(void **state)
{
	struct snap_inode_map m = { 0 };
	/* Dense inode numbers, as filesystems hand them out, on two devices. */
	for (uintptr_t i = 0; i < 20000; i++) {
		struct stat st = inode(i & 1, i >> 1);
		assert_int_equal(snap_inode_map_put(&m, &st, (void *)(i + 1), NULL), 1);
	}
	assert_int_equal(m.n, 20000);
	for (uintptr_t i = 0; i < 20000; i++) {
		struct stat st = inode(i & 1, i >> 1);
		void *v = NULL;
		assert_true(snap_inode_map_get(&m, &st, &v));
		assert_int_equal((uintptr_t)v, i + 1);
	}
	struct stat absent = inode(0, 10000);
	assert_false(snap_inode_map_get(&m, &absent, NULL));
	snap_inode_map_done(&m, NULL);
}

/* A tree: f (8 KiB, three names: f, d/g, d/e/h), d, d/e, s (symlink). */
static int make_tree(char *tmpl)
{
	assert_non_null(mkdtemp(tmpl));
	int dfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	_cleanup_close_ int f = openat(dfd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	char buf[8192] = { 1 };
	assert_int_equal(snap_write_all(f, buf, sizeof(buf)), 0);
	assert_int_equal(fsync(f), 0);
	assert_int_equal(mkdirat(dfd, "d", 0755), 0);
	assert_int_equal(mkdirat(dfd, "d/e", 0755), 0);
	assert_int_equal(linkat(dfd, "f", dfd, "d/g", 0), 0);
	assert_int_equal(linkat(dfd, "f", dfd, "d/e/h", 0), 0);
	assert_int_equal(symlinkat("/nowhere", dfd, "s"), 0);
	return dfd;
}

static void test_usage_counts_each_inode_once(void **state)
{
	char tmpl[] = "/tmp/snapctl-usage-XXXXXX";
	_cleanup_close_ int dfd = make_tree(tmpl);
	struct snap_error err = { 0 };
	struct snap_usage u = { -1, -1 }, with_root = { -1, -1 };
	ut_ok(snap_usage_at(dfd, 0, &u, &err), &err);
	assert_int_equal(u.inodes, 4); /* f (three names), d, d/e, s */
	assert_true(u.size >= 8192);
	ut_ok(snap_usage_at(dfd, SNAP_USAGE_ROOT, &with_root, &err), &err);
	assert_int_equal(with_root.inodes, u.inodes + 1);
	struct stat st;
	assert_int_equal(fstat(dfd, &st), 0);
	assert_int_equal(with_root.size, u.size + (int64_t)st.st_blocks * 512);
	ut_rm_rf(tmpl);
}

static void test_usage_of_an_empty_tree(void **state)
{
	char tmpl[] = "/tmp/snapctl-usage-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	_cleanup_close_ int dfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct snap_error err = { 0 };
	struct snap_usage u = { -1, -1 };
	ut_ok(snap_usage_at(dfd, 0, &u, &err), &err);
	assert_int_equal(u.inodes, 0);
	assert_int_equal(u.size, 0);
	ut_rm_rf(tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inode_map_keys_on_dev_and_ino),
		cmocka_unit_test(test_inode_map_grows),
		cmocka_unit_test(test_usage_counts_each_inode_once),
		cmocka_unit_test(test_usage_of_an_empty_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
