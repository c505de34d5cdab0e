/* SPDX-License-Identifier: Apache-2.0 */
/* The vfs copy engine: every kind of entry survives a copy, with each of
 * the three data-copy methods (the fallbacks are forced by flags). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/vfs/copy.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "tree-util.h"

struct fixture {
	char *dir;
	int src, dst;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = tree_mkdtemp();
	_cleanup_close_ int d = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(d >= 0);
	assert_int_equal(mkdirat(d, "src", 0755), 0);
	assert_int_equal(mkdirat(d, "dst", 0700), 0);
	f->src = openat(d, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->dst = openat(d, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->src >= 0 && f->dst >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	close(f->src);
	close(f->dst);
	tree_rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void copy_and_compare(struct fixture *f, unsigned flags, struct vfs_copy_stats *st)
{
	tree_build_sample(f->src);
	struct snap_error err = { 0 };
	struct vfs_copy_opts opts = { .flags = flags };
	int r = vfs_copy_tree_at(f->src, f->dst, &opts, st, &err);
	if (r < 0)
		fail_msg("copy: %s", err.message);
	tree_assert_equal(f->src, f->dst);
	/* sample: hello empty sparse ro/inside capfile a/linked (3 names) */
	assert_int_equal(st->files, 6);
	assert_int_equal(st->hardlinks, 2);
	assert_int_equal(st->symlinks, 3);
	assert_int_equal(st->specials, 4);
	assert_int_equal(st->dirs, 4); /* ro a a/b and the root */
	assert_int_equal(st->reflinked + st->copy_ranged + st->read_written, st->files);
}

static void test_copy_default(void **state)
{
	struct vfs_copy_stats st;
	copy_and_compare(*state, 0, &st);
}

static void test_copy_no_reflink(void **state)
{
	struct vfs_copy_stats st;
	copy_and_compare(*state, VFS_COPY_NO_REFLINK, &st);
	assert_int_equal(st.reflinked, 0);
}

static void test_copy_read_write(void **state)
{
	struct vfs_copy_stats st;
	copy_and_compare(*state, VFS_COPY_NO_REFLINK | VFS_COPY_NO_COPY_FILE_RANGE, &st);
	assert_int_equal(st.read_written, st.files);
	/* only the data segments moved: 4 KiB of the 1 MiB sparse file */
	assert_true(st.bytes < 64 * 1024);
}

static void test_copy_probe_matches_copy(void **state)
{
	struct fixture *f = *state;
	bool reflink = false, cfr = false;
	assert_int_equal(snap_copy_probe(f->src, &reflink, &cfr), 0);
	tree_write(f->src, "big", "0123456789abcdef0123456789abcdef");
	_cleanup_close_ int s = openat(f->src, "big", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int d = openat(f->dst, "big", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int method = 0;
	assert_int_equal(snap_copy_file_data(s, d, 0, &method), 0);
	int expected = reflink ? SNAP_COPY_METHOD_REFLINK
			       : cfr ? SNAP_COPY_METHOD_COPY_FILE_RANGE : SNAP_COPY_METHOD_READ_WRITE;
	assert_string_equal(snap_copy_method_name(method), snap_copy_method_name(expected));
	_cleanup_free_ char *back = tree_read(f->dst, "big");
	assert_string_equal(back, "0123456789abcdef0123456789abcdef");
}

static void test_copy_existing_name_fails(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdirat(f->src, "d", 0755), 0);
	tree_write(f->src, "d/f", "src");
	assert_int_equal(mkdirat(f->dst, "d", 0755), 0);
	struct snap_error err = { 0 };
	int r = vfs_copy_tree_at(f->src, f->dst, NULL, NULL, &err);
	assert_int_equal(r, -EEXIST);
	assert_int_equal(err.code, -EEXIST);
	/* the message names the entry and the operation */
	assert_non_null(strstr(err.message, "'d'"));
	assert_non_null(strstr(err.message, "mkdir"));
}

static void test_copy_never_follows_symlinks(void **state)
{
	struct fixture *f = *state;
	/* A symlink to a directory outside the tree is copied as a link, and
	 * nothing from its target lands in the copy. */
	assert_int_equal(symlinkat("/etc", f->src, "etc"), 0);
	struct snap_error err = { 0 };
	assert_int_equal(vfs_copy_tree_at(f->src, f->dst, NULL, NULL, &err), 0);
	struct stat st;
	assert_int_equal(fstatat(f->dst, "etc", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void test_copy_deep_tree(void **state)
{
	struct fixture *f = *state;
	/* 200 levels: the walk holds two fds per level, not paths */
	_cleanup_close_ int cur = openat(f->src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(mkdirat(cur, "d", 0755), 0);
		int next = openat(cur, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(next >= 0);
		close(cur);
		cur = next;
	}
	tree_write(cur, "leaf", "leaf");
	struct snap_error err = { 0 };
	struct vfs_copy_stats st;
	assert_int_equal(vfs_copy_tree_at(f->src, f->dst, NULL, &st, &err), 0);
	assert_int_equal(st.dirs, 201);
	tree_assert_equal(f->src, f->dst);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip: the copy tests need root (chown, mknod, trusted.* xattrs)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_no_reflink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_probe_matches_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_existing_name_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_never_follows_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_deep_tree, setup, teardown),
	};
	return cmocka_run_group_tests_name("vfs-copy", tests, NULL, NULL);
}
