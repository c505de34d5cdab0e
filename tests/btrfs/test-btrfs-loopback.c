/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loopback provisioning: a fresh root on a non-btrfs filesystem gets its
 * image, loop device and mount; a restart re-attaches the same image; two
 * processes opening one root at once share one mount; teardown leaves no
 * loop device and no mount behind; clear errors for a full filesystem, a
 * kernel without the filesystem type, a bad size.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <unistd.h>

#include <cmocka.h>

#include "btrfs-test-util.h"
#include "drivers/btrfs/btrfs.h"
#include "drivers/btrfs/btrfs-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/size-parse.h"
#include "tests/vfs/tree-util.h"

static const struct snap_driver *drv = &snap_btrfs_driver;

struct notices {
	int n;
	char last[1024];
};

static void on_notice(void *ctx, const char *msg)
{
	struct notices *c = ctx;
	c->n++;
	snprintf(c->last, sizeof(c->last), "%s", msg);
}

static int open_root(const char *root, const char *size, struct notices *c, void **state,
		     struct snap_error *err)
{
	struct snap_driver_opts opts = { .root = root, .btrfs_size = size, .notice = on_notice,
					 .notice_ctx = c };
	return drv->open(&opts, state, err);
}

static bool snapshots_on_btrfs(const char *root)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/snapshots", root);
	struct statfs sfs;
	return statfs(p, &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC;
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

static void test_fresh_reuse_restart_teardown(void **state)
{
	char *root = *state; /* removed by root_teardown, also on failure */
	int mounts0 = btrfs_test_count_mounts();
	struct snap_error err = { 0 };
	struct notices c = { 0 };
	void *st = NULL;

	/* fresh: image made, attached, mounted, said once */
	if (open_root(root, "1G", &c, &st, &err) < 0)
		fail_msg("open: %s", err.message);
	assert_int_equal(c.n, 1);
	assert_non_null(strstr(c.last, "created 1G sparse image"));
	assert_non_null(strstr(c.last, "/dev/loop"));
	assert_true(snapshots_on_btrfs(root));
	assert_int_equal(btrfs_test_count_loops(root), 1);
	assert_int_equal(btrfs_test_count_mounts(), mounts0 + 1);
	char img[PATH_MAX];
	snprintf(img, sizeof(img), "%s/btrfs.img", root);
	struct stat ist;
	assert_int_equal(stat(img, &ist), 0);
	assert_int_equal(ist.st_size, 1 << 30);
	assert_true((int64_t)ist.st_blocks * 512 < ist.st_size / 4); /* sparse */

	/* a snapshot to find again after the restart */
	char sp[PATH_MAX];
	snprintf(sp, sizeof(sp), "%s/snapshots/1", root);
	assert_int_equal(mkdir(sp, 0700), 0);
	struct snap_ref ref = { .id = 1, .key = "k", .path = sp, .kind = SNAP_KIND_ACTIVE };
	struct snap_chain none = { 0 };
	if (drv->create(st, &ref, &none, &err) < 0)
		fail_msg("create: %s", err.message);
	drv->close(st);

	/* close leaves the mount; a second open reuses it silently */
	assert_true(snapshots_on_btrfs(root));
	c = (struct notices){ 0 };
	if (open_root(root, "1G", &c, &st, &err) < 0)
		fail_msg("reopen: %s", err.message);
	assert_int_equal(c.n, 0);
	assert_int_equal(btrfs_test_count_loops(root), 1);
	assert_int_equal(btrfs_test_count_mounts(), mounts0 + 1);
	drv->close(st);

	/* teardown: unmount, the loop device autoclears */
	if (btrfs_backend_teardown(root, &err) < 0)
		fail_msg("teardown: %s", err.message);
	assert_int_equal(btrfs_test_wait_loops(root, 0), 0);
	assert_int_equal(btrfs_test_count_mounts(), mounts0);
	assert_false(snapshots_on_btrfs(root));

	/* restart: the same image is attached and mounted again */
	c = (struct notices){ 0 };
	if (open_root(root, "1G", &c, &st, &err) < 0)
		fail_msg("restart: %s", err.message);
	assert_int_equal(c.n, 1);
	assert_non_null(strstr(c.last, "attached 1G image"));
	snprintf(sp, sizeof(sp), "%s/snapshots/1/fs", root);
	struct stat sst;
	assert_int_equal(stat(sp, &sst), 0);
	assert_int_equal(sst.st_ino, 256); /* still the subvolume */
	drv->close(st);

	if (btrfs_backend_teardown(root, &err) < 0)
		fail_msg("teardown: %s", err.message);
	assert_int_equal(btrfs_test_wait_loops(root, 0), 0);
	assert_int_equal(btrfs_test_count_mounts(), mounts0);
	tree_rm_rf(root);
}

static void test_two_processes_share_one_mount(void **state)
{
	char *root = *state; /* removed by root_teardown, also on failure */
	int mounts0 = btrfs_test_count_mounts();
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct snap_error err = { 0 };
			struct notices c = { 0 };
			void *st = NULL;
			if (open_root(root, "1G", &c, &st, &err) < 0) {
				fprintf(stderr, "child %d: %s\n", i, err.message);
				_exit(1);
			}
			char sp[PATH_MAX];
			snprintf(sp, sizeof(sp), "%s/snapshots/%d", root, i + 1);
			struct snap_ref ref = { .id = (uint64_t)i + 1, .key = "k", .path = sp,
						.kind = SNAP_KIND_ACTIVE };
			struct snap_chain none = { 0 };
			if (mkdir(sp, 0700) < 0 || drv->create(st, &ref, &none, &err) < 0) {
				fprintf(stderr, "child %d: create: %s\n", i, err.message);
				_exit(1);
			}
			drv->close(st);
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* one image, one loop device, one mount (fork shares our namespace) */
	assert_int_equal(btrfs_test_count_loops(root), 1);
	assert_int_equal(btrfs_test_count_mounts(), mounts0 + 1);
	btrfs_test_destroy_root(root);
	assert_int_equal(btrfs_test_wait_loops(root, 0), 0);
	assert_int_equal(btrfs_test_count_mounts(), mounts0);
}

static void test_other_namespace_reuses_the_device(void **state)
{
	/* The image is attached and mounted in our namespace; a process in
	 * a namespace that does not see the mount must mount the same loop
	 * device, not attach the image a second time. */
	char *root = *state; /* removed by root_teardown, also on failure */
	struct snap_error err = { 0 };
	struct notices c = { 0 };
	void *st = NULL;
	if (open_root(root, "1G", &c, &st, &err) < 0)
		fail_msg("open: %s", err.message);
	drv->close(st);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char sd[PATH_MAX];
		snprintf(sd, sizeof(sd), "%s/snapshots", root);
		if (btrfs_test_private_ns() < 0 || umount2(sd, 0) < 0)
			_exit(2);
		struct notices cc = { 0 };
		if (open_root(root, "1G", &cc, &st, &err) < 0) {
			fprintf(stderr, "child: %s\n", err.message);
			_exit(1);
		}
		if (cc.n != 1 || !strstr(cc.last, "reusing")) {
			fprintf(stderr, "child: notice '%s'\n", cc.last);
			_exit(3);
		}
		char sp[PATH_MAX];
		snprintf(sp, sizeof(sp), "%s/snapshots/1", root);
		struct snap_ref ref = { .id = 1, .key = "k", .path = sp, .kind = SNAP_KIND_ACTIVE };
		struct snap_chain none = { 0 };
		if (mkdir(sp, 0700) < 0 || drv->create(st, &ref, &none, &err) < 0)
			_exit(4);
		drv->close(st);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* one device, and what the child made is here too */
	assert_int_equal(btrfs_test_count_loops(root), 1);
	char sp[PATH_MAX];
	snprintf(sp, sizeof(sp), "%s/snapshots/1/fs", root);
	assert_int_equal(access(sp, F_OK), 0);
	btrfs_test_destroy_root(root);
	assert_int_equal(btrfs_test_wait_loops(root, 0), 0);
}

static void test_native_btrfs_root(void **state)
{
	/* ROOT already on btrfs: no image, the filesystem is used as is and
	 * mounts() names its device. */
	char *dir = *state; /* removed by root_teardown, also on failure */
	char img[PATH_MAX], mnt[PATH_MAX];
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	assert_int_equal(mkdir(mnt, 0755), 0);
	/* a btrfs made the driver's own way at mnt/snapshots; ROOT goes in it */
	struct snap_error err = { 0 };
	struct notices c = { 0 };
	void *st = NULL;
	if (open_root(mnt, "1G", &c, &st, &err) < 0)
		fail_msg("open outer: %s", err.message);
	drv->close(st);
	char root[PATH_MAX];
	snprintf(root, sizeof(root), "%s/snapshots/nested-root", mnt);
	assert_int_equal(mkdir(root, 0700), 0);

	c = (struct notices){ 0 };
	if (open_root(root, "1G", &c, &st, &err) < 0)
		fail_msg("open native: %s", err.message);
	assert_int_equal(c.n, 0);
	snprintf(img, sizeof(img), "%s/btrfs.img", root);
	assert_int_equal(access(img, F_OK), -1);
	assert_int_equal(btrfs_test_count_loops(root), 0);

	char sp[PATH_MAX];
	snprintf(sp, sizeof(sp), "%s/snapshots/1", root);
	assert_int_equal(mkdir(sp, 0700), 0);
	struct snap_ref ref = { .id = 1, .key = "k", .path = sp, .kind = SNAP_KIND_ACTIVE };
	struct snap_chain none = { 0 };
	if (drv->create(st, &ref, &none, &err) < 0)
		fail_msg("create: %s", err.message);
	if (drv->remove(st, &ref, &err) < 0)
		fail_msg("remove: %s", err.message);
	drv->close(st);
	btrfs_test_destroy_root(mnt);
	assert_int_equal(btrfs_test_wait_loops(mnt, 0), 0);
	tree_rm_rf(dir);
}

static void test_no_space_for_image(void **state)
{
	char *root = *state; /* removed by root_teardown, also on failure */
	/* a 2 MiB tmpfs: the sparse file fits, mkfs's metadata does not */
	assert_int_equal(mount("tmpfs", root, "tmpfs", 0, "size=2m,mode=0700"), 0);
	int mounts0 = btrfs_test_count_mounts();
	struct snap_error err = { 0 };
	struct notices c = { 0 };
	void *st = NULL;
	int r = open_root(root, "1G", &c, &st, &err);
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(err.code, -ENOSPC);
	assert_non_null(strstr(err.message, "no space for the btrfs image"));
	assert_int_equal(c.n, 0);
	char img[PATH_MAX];
	snprintf(img, sizeof(img), "%s/btrfs.img", root);
	assert_int_equal(access(img, F_OK), -1); /* nothing half-made left */
	snprintf(img, sizeof(img), "%s/btrfs.img.tmp", root);
	assert_int_equal(access(img, F_OK), -1);
	assert_int_equal(btrfs_test_count_loops(root), 0);
	assert_int_equal(btrfs_test_count_mounts(), mounts0);
	assert_int_equal(umount2(root, 0), 0);
	tree_rm_rf(root);
}

static void test_kernel_without_fstype(void **state)
{
	/* A kernel without btrfs fails the mount with ENODEV; the same path
	 * is taken here with a type no kernel has. */
	char *root = *state; /* removed by root_teardown, also on failure */
	int mounts0 = btrfs_test_count_mounts();
	struct snap_driver_opts opts = { .root = root, .btrfs_size = "1G" };
	struct btrfs_backend be = { 0 };
	struct snap_error err = { 0 };
	int r = btrfs_backend_setup(&opts, "snapctlnosuchfs", &be, &err);
	assert_int_equal(r, -ENODEV);
	assert_non_null(strstr(err.message, "the kernel has no snapctlnosuchfs support"));
	/* the loop device attached for the mount went away with our fd */
	assert_int_equal(btrfs_test_wait_loops(root, 0), 0);
	assert_int_equal(btrfs_test_count_mounts(), mounts0);
	tree_rm_rf(root);
}

static void test_refuses_nonempty_snapshots_dir(void **state)
{
	char *root = *state; /* removed by root_teardown, also on failure */
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/snapshots/7", root);
	assert_int_equal(snap_mkdir_p(p, 0700), 0);
	struct snap_error err = { 0 };
	struct notices c = { 0 };
	void *st = NULL;
	assert_int_equal(open_root(root, "1G", &c, &st, &err), -ENOTEMPTY);
	assert_non_null(strstr(err.message, "not on btrfs and not empty"));
	tree_rm_rf(root);
}

static void test_bad_size(void **state)
{
	char *root = *state; /* removed by root_teardown, also on failure */
	struct snap_error err = { 0 };
	struct notices c = { 0 };
	void *st = NULL;
	assert_int_equal(open_root(root, "12Q", &c, &st, &err), -EINVAL);
	assert_non_null(strstr(err.message, "invalid btrfs image size '12Q'"));
	/* too small for mkfs: its own words come through */
	assert_true(open_root(root, "1M", &c, &st, &err) < 0);
	assert_non_null(strstr(err.message, "mkfs.btrfs"));
	assert_int_equal(btrfs_test_count_loops(root), 0);
	tree_rm_rf(root);
}

static void test_parse_size(void **state)
{
	uint64_t v;
	assert_int_equal(snap_parse_size("16G", &v), 0);
	assert_true(v == 16ull << 30);
	assert_int_equal(snap_parse_size("512M", &v), 0);
	assert_true(v == 512ull << 20);
	assert_int_equal(snap_parse_size("2T", &v), 0);
	assert_true(v == 2ull << 40);
	assert_int_equal(snap_parse_size("64k", &v), 0);
	assert_true(v == 64ull << 10);
	assert_int_equal(snap_parse_size("1GiB", &v), 0);
	assert_true(v == 1ull << 30);
	assert_int_equal(snap_parse_size("4096", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(snap_parse_size("", &v), -EINVAL);
	assert_int_equal(snap_parse_size("G", &v), -EINVAL);
	assert_int_equal(snap_parse_size("-1G", &v), -EINVAL);
	assert_int_equal(snap_parse_size("1X", &v), -EINVAL);
	assert_int_equal(snap_parse_size("99999999999T", &v), -ERANGE);
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
		CASE(test_parse_size),
		CASE(test_fresh_reuse_restart_teardown),
		CASE(test_two_processes_share_one_mount),
		CASE(test_other_namespace_reuses_the_device),
		CASE(test_native_btrfs_root),
		CASE(test_no_space_for_image),
		CASE(test_kernel_without_fstype),
		CASE(test_refuses_nonempty_snapshots_dir),
		CASE(test_bad_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
