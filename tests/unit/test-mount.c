/* SPDX-License-Identifier: Apache-2.0 */
/* Mounting snapshots with libmount: an active snapshot is writable through
 * its mount, a view refuses writes, a busy mount point is still detached
 * (lazily, the last resort), and a failing list leaves nothing mounted. */
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "snapshot/mount.h"

/* Bind mounts keep st_dev, so ask the kernel whether this is a mount root. */
static bool is_mountpoint(const char *path)
{
	struct statx stx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
		return false;
	assert_true(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT);
	return stx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
}

static int mount_setup(void **state)
{
	if (geteuid() != 0) {
		print_message("skipped: mounting needs root\n");
		return -1;
	}
	return ut_setup(state);
}

static void target_path(struct ut_root *r, char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/../%s", r->root, name);
	mkdir(buf, 0755);
}

static void test_active_and_view(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	char t[4200];
	target_path(r, t, sizeof(t), "mnt");

	ut_ok(snap_prepare(r->core, "a", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_mount_at(r->core, "a", t, 0, &err), &err);
	assert_true(is_mountpoint(t));
	char f[4300];
	snprintf(f, sizeof(f), "%s/through-mount", t);
	int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(snap_write_all(fd, "m", 1), 0);
	close(fd);
	ut_ok(snap_unmount_at(t, &err), &err);
	assert_false(is_mountpoint(t));
	_cleanup_free_ char *d = ut_read(r->core, "a", "through-mount");
	assert_string_equal(d, "m");

	ut_ok(snap_commit(r->core, "c", "a", NULL, &err), &err);
	/* A committed snapshot is not mounted (FailedPrecondition). */
	ut_fails(snap_mount_at(r->core, "c", t, 0, &err), -EBUSY, &err);
	ut_ok(snap_view(r->core, "v", "c", NULL, NULL, &err), &err);
	ut_ok(snap_mount_at(r->core, "v", t, 0, &err), &err);
	struct statvfs sv;
	assert_int_equal(statvfs(t, &sv), 0);
	assert_true(sv.f_flag & ST_RDONLY);
	snprintf(f, sizeof(f), "%s/nope", t);
	assert_true(open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0);
	assert_int_equal(errno, EROFS);
	snprintf(f, sizeof(f), "%s/through-mount", t);
	assert_true(access(f, R_OK) == 0);
	ut_ok(snap_unmount_at(t, &err), &err);

	/* RDONLY on an active snapshot. */
	ut_ok(snap_prepare(r->core, "a2", "c", NULL, NULL, &err), &err);
	ut_ok(snap_mount_at(r->core, "a2", t, SNAP_MOUNT_RDONLY, &err), &err);
	assert_int_equal(statvfs(t, &sv), 0);
	assert_true(sv.f_flag & ST_RDONLY);
	ut_ok(snap_unmount_at(t, &err), &err);
}

static void test_busy_unmount(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	char t[4200];
	target_path(r, t, sizeof(t), "busy");
	ut_ok(snap_prepare(r->core, "a", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_mount_at(r->core, "a", t, 0, &err), &err);
	/* A process' cwd inside keeps the mount busy. */
	int keep = open(t, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(keep >= 0);
	_cleanup_close_ int old = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(fchdir(keep), 0);
	int rr = snap_unmount_at(t, &err);
	assert_int_equal(fchdir(old), 0);
	close(keep);
	if (rr < 0)
		fail_msg("unmount of a busy mount: %s", err.message);
	assert_false(is_mountpoint(t));
}

static void test_failed_list_leaves_nothing(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	char t[4200], src[4200];
	target_path(r, t, sizeof(t), "partial");
	target_path(r, src, sizeof(src), "src");
	char *ok_opts[] = { "bind", NULL }, *bad_opts[] = { "bind", NULL };
	struct snap_mount v[2] = {
		{ .type = "bind", .source = src, .options = ok_opts, .n_options = 1 },
		{ .type = "bind", .source = "/nonexistent/source", .options = bad_opts, .n_options = 1 },
	};
	struct snap_mounts m = { .v = v, .n = 2 };
	ut_fails(snap_mount_list(&m, t, 0, &err), -ENOENT, &err);
	assert_non_null(strstr(err.message, "/nonexistent/source"));
	assert_false(is_mountpoint(t));
	ut_fails(snap_unmount_at(t, &err), -EINVAL, &err);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP mounting needs root\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_active_and_view, mount_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_busy_unmount, mount_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_failed_list_leaves_nothing, mount_setup, ut_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
