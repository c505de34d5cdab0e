/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The btrfs driver under the core: a root on the host filesystem (the
 * driver provisions its image), a base committed through the core, a child
 * changed through the core's tree fd; the core's layer diff (the driver's
 * fast diff) must equal the generic one byte for byte, and the driver's
 * fast diff must accept the chain the core hands it after the core's own
 * diff work (views of the parent made and removed meanwhile).  A committed
 * snapshot is diffed and verified in its own read-only subvolume: no view
 * (a snapshot of its own, a transaction to make and one to delete) is made.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <btrfsutil.h>
#include <linux/btrfs_tree.h>

#include <cmocka.h>

#include "btrfs-test-util.h"
#include "core-internal.h"
#include "core.h"
#include "util/fs-util.h"
#include "layer/layer.h"
#include "util/macro.h"
#include "tests/vfs/tree-util.h"

#define OK(expr)                                                                               \
	do {                                                                                   \
		struct snap_error _e = { 0 };                                                  \
		struct snap_error *err = &_e;                                                  \
		if ((expr) < 0)                                                                \
			fail_msg("%s: %s", #expr, _e.message);                                 \
	} while (0)

static void notice_ignore(void *ctx, const char *msg)
{
	(*(int *)ctx)++;
}

static void layer_of(struct snap_core *core, const char *key, unsigned flags,
		     struct snap_layer_digests *d)
{
	_cleanup_close_ int fd = memfd_create("layer", MFD_CLOEXEC);
	assert_true(fd >= 0);
	struct snap_diff_opts o = { .compression = SNAP_COMPRESS_NONE, .flags = flags };
	OK(snap_layer_diff_fd(core, key, fd, &o, d, err));
}

static int null_change(struct snap_change_sink *s, int kind, const char *path, int fd)
{
	(*(int *)s->opaque)++;
	return 0;
}

/* Each case's root: made here, and unmounted and removed in teardown
 * even when the case failed half-way (cmocka longjmps out of it). */
static int root_setup(void **state)
{
	*state = tree_mkdtemp();
	return 0;
}

static int root_teardown(void **state)
{
	btrfs_test_destroy_root(*state);
	free(*state);
	return 0;
}

#define CASE(fn) cmocka_unit_test_setup_teardown(fn, root_setup, root_teardown)

static void test_core_diff_fast_equals_generic(void **state)
{
	char *root = *state; /* removed by root_teardown, also on failure */
	int notices = 0;
	struct snap_core_opts opts = { .root = root, .driver = "btrfs", .btrfs_size = "1G",
				       .notice = notice_ignore, .notice_ctx = &notices };
	struct snap_core *core = NULL;
	OK(snap_core_open(&opts, &core, err));
	assert_int_equal(notices, 1);

	OK(snap_prepare(core, "base-a", NULL, NULL, NULL, err));
	int fd = -1;
	OK(snap_core_open_tree(core, "base-a", &fd, err));
	tree_build_sample(fd);
	for (int i = 0; i < 50; i++) {
		char n[32];
		snprintf(n, sizeof(n), "file%02d", i);
		tree_write(fd, n, n);
	}
	close(fd);
	OK(snap_commit(core, "base", "base-a", NULL, err));

	OK(snap_prepare(core, "child", "base", NULL, NULL, err));
	OK(snap_core_open_tree(core, "child", &fd, err));
	tree_write(fd, "file07", "changed\n");
	tree_write(fd, "added", "new\n");
	assert_int_equal(unlinkat(fd, "file08", 0), 0);
	assert_int_equal(renameat(fd, "file09", fd, "file09.moved"), 0);
	assert_int_equal(mkdirat(fd, "newdir", 0700), 0);
	close(fd);

	struct snap_layer_digests fast = { 0 }, generic = { 0 };
	layer_of(core, "child", 0, &fast);
	layer_of(core, "child", SNAP_DIFF_GENERIC, &generic);
	assert_string_equal(fast.diff_id, generic.diff_id);
	assert_true(fast.entries >= 5);

	/* the chain the core hands the driver, after the core's diffs made
	 * and removed views of the parent: the fast path still applies */
	struct snap_chain_owned chain = { 0 };
	OK(snap_chain_get(core, "child", &chain, err));
	struct snap_chain parents = { .refs = chain.parents, .n = chain.n };
	int n = 0;
	struct snap_change_sink sink = { .opaque = &n, .change = null_change };
	struct snap_error e = { 0 };
	const struct snap_driver *drv = snap_core_driver(core);
	int r = drv->diff(snap_core_driver_state(core), &chain.self, &parents, &sink, &e);
	if (r < 0)
		fail_msg("driver diff: %s", e.message);
	assert_true(n >= 5);
	snap_chain_done(&chain);

	/* usage: committed stored, active asked */
	struct snap_usage u = { 0 };
	OK(snap_usage_get(core, "base", &u, err));
	assert_true(u.size > 0 && u.inodes > 0);
	OK(snap_usage_get(core, "child", &u, err));
	assert_true(u.inodes >= 1);

	struct snap_mounts m = { 0 };
	OK(snap_mounts_get(core, "child", &m, err));
	assert_int_equal(m.n, 1);
	assert_string_equal(m.v[0].type, "btrfs");
	snap_mounts_done(&m);

	OK(snap_remove(core, "child", err));
	OK(snap_remove(core, "base", err));
	snap_core_close(core);
	btrfs_test_destroy_root(root);
	assert_int_equal(btrfs_test_wait_loops(root, 0), 0);
}

/* The generation of the top-level subvolume, which holds ROOT/snapshots/<id>:
 * creating or deleting a subvolume there (a view) changes it. */
static uint64_t top_generation(const char *root)
{
	char snapdir[PATH_MAX];
	snprintf(snapdir, sizeof(snapdir), "%s/snapshots", root);
	_cleanup_close_ int fd = open(snapdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	/* Whatever is pending goes out first, so the generation is settled. */
	assert_int_equal(syncfs(fd), 0);
	struct btrfs_util_subvolume_info info;
	assert_int_equal(btrfs_util_subvolume_info_fd(fd, BTRFS_FS_TREE_OBJECTID, &info), BTRFS_UTIL_OK);
	return info.generation;
}

static void test_core_committed_in_place(void **state)
{
	char *root = *state; /* removed by root_teardown, also on failure */
	int notices = 0;
	struct snap_core_opts opts = { .root = root, .driver = "btrfs", .btrfs_size = "1G",
				       .notice = notice_ignore, .notice_ctx = &notices };
	struct snap_core *core = NULL;
	OK(snap_core_open(&opts, &core, err));

	OK(snap_prepare(core, "base-a", NULL, NULL, NULL, err));
	int fd = -1;
	OK(snap_core_open_tree(core, "base-a", &fd, err));
	assert_int_equal(mkdirat(fd, "dir", 0755), 0);
	tree_write(fd, "dir/kept", "kept\n");
	tree_write(fd, "hello", "hello\n");
	tree_write(fd, "file", "base\n");
	close(fd);
	OK(snap_commit(core, "base", "base-a", NULL, err));
	OK(snap_prepare(core, "child-a", "base", NULL, NULL, err));
	OK(snap_core_open_tree(core, "child-a", &fd, err));
	tree_write(fd, "file", "child\n");
	tree_write(fd, "added", "new\n");
	assert_int_equal(unlinkat(fd, "hello", 0), 0);
	close(fd);
	struct snap_layer_digests active = { 0 }, committed = { 0 };
	layer_of(core, "child-a", SNAP_DIFF_GENERIC, &active);
	OK(snap_commit(core, "child", "child-a", NULL, err));

	/* The same layer from the committed subvolume as from the active
	 * one, and verify agrees, without a subvolume made or deleted. */
	uint64_t gen = top_generation(root);
	layer_of(core, "child", 0, &committed);
	assert_string_equal(committed.diff_id, active.diff_id);
	struct snap_layer_verify lv;
	OK(snap_layer_verify(core, "child", active.diff_id, -1, &lv, err));
	assert_true(lv.diff_id_match);
	snap_layer_verify_done(&lv);
	OK(snap_layer_verify(core, "base", "sha256:0", -1, &lv, err));
	assert_false(lv.diff_id_match);
	snap_layer_verify_done(&lv);
	assert_int_equal(top_generation(root), gen);

	OK(snap_remove(core, "child", err));
	OK(snap_remove(core, "base", err));
	snap_core_close(core);
}

/* Bytes this process has read so far (read, pread: /proc/self/io rchar). */
static uint64_t rchar(void)
{
	FILE *f = fopen("/proc/self/io", "re");
	assert_non_null(f);
	char line[128];
	uint64_t v = UINT64_MAX;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "rchar: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	assert_true(v != UINT64_MAX);
	return v;
}

static void write_big(int dirfd, const char *name, char fill)
{
	static char buf[1 << 20];
	memset(buf, fill, sizeof(buf));
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	/* A whole-second mtime, as a tar leaves it: the differ must then
	 * look at the content. */
	struct timespec t[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	assert_int_equal(futimens(fd, t), 0);
	assert_int_equal(fsync(fd), 0);
}

/* A file the child inherits untouched shares its parent's extents: the
 * differ tells it unchanged without reading either copy; one rewritten
 * with the same size and mtime is still found changed. */
static void test_core_shared_extents_not_read(void **state)
{
	char *root = *state;
	int notices = 0;
	struct snap_core_opts opts = { .root = root, .driver = "btrfs", .btrfs_size = "1G",
				       .notice = notice_ignore, .notice_ctx = &notices };
	struct snap_core *core = NULL;
	OK(snap_core_open(&opts, &core, err));
	OK(snap_prepare(core, "base-a", NULL, NULL, NULL, err));
	int fd = -1;
	OK(snap_core_open_tree(core, "base-a", &fd, err));
	write_big(fd, "kept", 'k');
	write_big(fd, "rewritten", 'r');
	close(fd);
	OK(snap_commit(core, "base", "base-a", NULL, err));
	OK(snap_prepare(core, "child-a", "base", NULL, NULL, err));
	OK(snap_core_open_tree(core, "child-a", &fd, err));
	write_big(fd, "rewritten", 'R');
	close(fd);
	OK(snap_commit(core, "child", "child-a", NULL, err));

	uint64_t before = rchar();
	struct snap_changes ch = { 0 };
	OK(snap_layer_changes(core, "child", SNAP_DIFF_GENERIC, &ch, err));
	uint64_t read = rchar() - before;
	assert_int_equal(ch.n, 1);
	assert_int_equal(ch.v[0].kind, SNAP_CHANGE_MODIFY);
	assert_string_equal(ch.v[0].path[0] == '/' ? ch.v[0].path + 1 : ch.v[0].path, "rewritten");
	snap_changes_done(&ch);
	/* "rewritten" is read up to its first differing block (64 KiB from
	 * each tree); "kept" (1 MiB in each) in neither. */
	if (read >= (1u << 20))
		fail_msg("the diff read %" PRIu64 " bytes: the shared copy of 'kept' was read", read);

	OK(snap_remove(core, "child", err));
	OK(snap_remove(core, "base", err));
	snap_core_close(core);
}

/* 64 KiB in `name`, left in the page cache. */
static void write_unsynced(int dirfd, const char *name)
{
	char buf[64 << 10];
	memset(buf, name[0], sizeof(buf));
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
}

/* Whether `name` stops being delalloc within 5 s.  A file whose writeback
 * was started is reported delalloc by FIEMAP until its ordered extent
 * completes (milliseconds); one whose writeback nobody started stays so
 * for the kernel's dirty_expire_centisecs (30 s by default). */
static bool written_back_soon(int dirfd, const char *name)
{
	for (int i = 0; i < 500; i++) {
		if (!btrfs_test_is_delalloc(dirfd, name))
			return true;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

/* An apply into a btrfs subvolume starts the writeback of every file it
 * wrote (core/layer/apply-writeback.c), even without a sync at its end:
 * a file not written back holds a metadata reservation until it is.  A
 * file written beside it by hand stays delalloc all along, so the flag
 * can be seen and nothing flushed the whole filesystem. */
static void test_core_apply_writes_back(void **state)
{
	char *root = *state; /* removed by root_teardown, also on failure */
	int notices = 0;
	struct snap_core_opts opts = { .root = root, .driver = "btrfs", .btrfs_size = "1G",
				       .flags = SNAP_CORE_NO_SYNC,
				       .notice = notice_ignore, .notice_ctx = &notices };
	struct snap_core *core = NULL;
	OK(snap_core_open(&opts, &core, err));

	OK(snap_prepare(core, "src", NULL, NULL, NULL, err));
	_cleanup_close_ int sfd = -1;
	OK(snap_core_open_tree(core, "src", &sfd, err));
	char name[32];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "file%02d", i);
		write_unsynced(sfd, name);
	}
	_cleanup_close_ int lfd = memfd_create("layer", MFD_CLOEXEC);
	assert_true(lfd >= 0);
	struct snap_diff_opts o = { .compression = SNAP_COMPRESS_NONE };
	struct snap_layer_digests d;
	OK(snap_layer_diff_fd(core, "src", lfd, &o, &d, err));
	assert_int_equal(lseek(lfd, 0, SEEK_SET), 0);

	OK(snap_prepare(core, "dst", NULL, NULL, NULL, err));
	OK(snap_layer_apply_fd(core, "dst", lfd, &d, err));
	_cleanup_close_ int dfd = -1;
	OK(snap_core_open_tree(core, "dst", &dfd, err));
	write_unsynced(dfd, "by-hand");
	assert_true(btrfs_test_is_delalloc(dfd, "by-hand"));
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "file%02d", i);
		if (!written_back_soon(dfd, name))
			fail_msg("'%s' was applied but is still delalloc after 5 s: its writeback was not started",
				 name);
	}
	assert_true(btrfs_test_is_delalloc(dfd, "by-hand"));

	OK(snap_remove(core, "dst", err));
	OK(snap_remove(core, "src", err));
	snap_core_close(core);
}

int main(void)
{
	const char *why = btrfs_test_skip_reason();
	if (why) {
		fprintf(stderr, "skip: %s\n", why);
		return 77;
	}
	int r = btrfs_test_private_ns();
	if (r < 0) {
		fprintf(stderr, "skip: cannot make a private mount namespace: %s\n", strerror(-r));
		return 77;
	}
	const struct CMUnitTest tests[] = {
		CASE(test_core_diff_fast_equals_generic),
		CASE(test_core_committed_in_place),
		CASE(test_core_shared_extents_not_read),
		CASE(test_core_apply_writes_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
