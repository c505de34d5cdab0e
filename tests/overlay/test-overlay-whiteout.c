/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI whiteouts into overlay whiteouts and back: a layer with .wh.NAME and
 * .wh..wh..opq applied through the core's layer applier with the driver's
 * hook gives device 0/0 whiteouts and opaque dirs that the mounted overlay
 * honours; the fast diff of that snapshot gives the same layer as the
 * generic diff; where mknod is refused the hook writes the xattr form, which the
 * kernel honours once the layer is below.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>
#if HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "layer/layer-internal.h"
#include "layer/layer.h"
#include "ovl-harness.h"

static int setup(void **state)
{
	const char *why;
	if (!th_can_run(&why)) {
		fprintf(stderr, "skipping: %s\n", why);
		*state = NULL;
		return 0;
	}
	*state = th_new();
	return 0;
}

static int teardown(void **state)
{
	th_free(*state);
	return 0;
}

static void tar_add(struct archive *a, const char *path, mode_t type, const char *content)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(e, 1700000000, 0);
	size_t len = content ? strlen(content) : 0;
	archive_entry_set_size(e, (la_int64_t)len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (len)
		assert_int_equal(archive_write_data(a, content, len), (la_ssize_t)len);
	archive_entry_free(e);
}

/* The layer: hide a, make d opaque with a new entry, hide e/z, add f. */
static int make_layer(void)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);
	assert_true(fd >= 0);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	tar_add(a, ".wh.a", AE_IFREG, NULL);
	tar_add(a, "d", AE_IFDIR, NULL);
	tar_add(a, "d/.wh..wh..opq", AE_IFREG, NULL);
	tar_add(a, "d/new", AE_IFREG, "new in d");
	tar_add(a, "e", AE_IFDIR, NULL);
	tar_add(a, "e/.wh.z", AE_IFREG, NULL);
	tar_add(a, "f", AE_IFREG, "f");
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int base_layer(struct th *t)
{
	int b = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	char *fs = th_fs(t, b, NULL);
	char p[PATH_MAX * 2];
	th_write(fs, "a", "a");
	th_write(fs, "b", "b");
	snprintf(p, sizeof(p), "%s/d", fs);
	mkdir(p, 0755);
	th_write(fs, "d/x", "x");
	th_write(fs, "d/y", "y");
	snprintf(p, sizeof(p), "%s/e", fs);
	mkdir(p, 0755);
	th_write(fs, "e/z", "z");
	th_write(fs, "e/keep", "keep");
	free(fs);
	assert_int_equal(th_commit(t, b), 0);
	return b;
}

static bool is_whiteout_dev(const char *dir, const char *rel)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	struct stat st;
	return lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

static void test_apply_layer_with_whiteouts(void **state)
{
	struct th *t = *state;
	if (!t)
		skip();
	int base = base_layer(t);
	int c = th_create(t, SNAP_KIND_ACTIVE, base, NULL, NULL);
	struct snap_error e = { 0 };
	int tree = -1;
	assert_int_equal(t->drv->open_tree(t->state, &t->snaps[c].ref, &tree, &e), 0);
	int layer = make_layer();
	struct snap_whiteout_hook hook = { .fn = t->drv->apply_whiteout, .state = t->state };
	int r = snap_layer_apply_dirfd(tree, layer, &hook, NULL, &e);
	if (r < 0)
		fail_msg("apply: %s", e.message);
	close(layer);
	close(tree);

	char *fs = th_fs(t, c, NULL);
	assert_true(is_whiteout_dev(fs, "a"));
	assert_true(is_whiteout_dev(fs, "e/z"));
	char p[PATH_MAX * 2], v[4] = "";
	snprintf(p, sizeof(p), "%s/d", fs);
	assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'y');

	/* Mounted, the kernel honours them. */
	const char *m = th_mount(t, c, SNAP_MOUNT_RDONLY, &e, &r);
	assert_int_equal(r, 0);
	assert_false(th_exists(m, "a"));
	assert_true(th_exists(m, "b"));
	assert_false(th_exists(m, "d/x") || th_exists(m, "d/y"));
	assert_true(th_exists(m, "d/new"));
	assert_false(th_exists(m, "e/z"));
	assert_true(th_exists(m, "e/keep") && th_exists(m, "f"));

	/* And the fast diff turns them back into the same layer as the
	 * generic diff. */
	int v1 = th_create(t, SNAP_KIND_VIEW, base, NULL, NULL);
	char newp[PATH_MAX];
	snprintf(newp, sizeof(newp), "%s", m);
	const char *old = th_mount(t, v1, 0, &e, &r);
	assert_int_equal(r, 0);
	int oldfd = open(old, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int newfd = open(newp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int gen = memfd_create("g", MFD_CLOEXEC), fast = memfd_create("f", MFD_CLOEXEC);
	assert_int_equal(snap_layer_diff_dirfd(oldfd, newfd, gen, NULL, NULL, &e), 0);
	struct snap_diff_collector *col = NULL;
	assert_int_equal(snap_diff_collector_new(newfd, oldfd, &col), 0);
	struct snap_chain ch;
	assert_int_equal(t->drv->diff(t->state, &t->snaps[c].ref, th_chain(t, c, &ch), snap_diff_collector_sink(col), &e),
			 0);
	assert_int_equal(snap_diff_collector_write(col, fast, SNAP_COMPRESS_NONE, NULL, &e), 0);
	snap_diff_collector_free(col);
	off_t gl = lseek(gen, 0, SEEK_END), fl = lseek(fast, 0, SEEK_END);
	assert_int_equal(gl, fl);
	char *gb = malloc((size_t)gl), *fb = malloc((size_t)fl);
	assert_int_equal(pread(gen, gb, (size_t)gl, 0), gl);
	assert_int_equal(pread(fast, fb, (size_t)fl, 0), fl);
	assert_memory_equal(gb, fb, (size_t)gl);
	/* The tar carries the OCI whiteouts again. */
	assert_non_null(memmem(fb, (size_t)fl, ".wh.a", 5));
	assert_non_null(memmem(fb, (size_t)fl, "d/.wh..wh..opq", 14));
	assert_non_null(memmem(fb, (size_t)fl, "e/.wh.z", 7));
	free(gb);
	free(fb);
	close(gen);
	close(fast);
	close(oldfd);
	close(newfd);
	th_umount(t, newp);
	th_umount(t, old);
	free(fs);
}

/* Make mknod fail with EPERM in this (forked) process, as in a container
 * whose seccomp profile refuses device nodes.  (Whiteout devices need no
 * CAP_MKNOD since Linux 5.8, so dropping the capability is not enough.) */
static void forbid_mknod(void)
{
#if HAVE_SECCOMP
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mknodat), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mknod), 0) < 0 || seccomp_load(ctx) < 0)
		_exit(4);
	seccomp_release(ctx);
#else
	_exit(4);
#endif
}

static void test_xattr_whiteout_without_mknod(void **state)
{
	struct th *t = *state;
	if (!t)
		skip();
	int base = base_layer(t);
	int c = th_create(t, SNAP_KIND_ACTIVE, base, NULL, NULL);
	struct snap_error e = { 0 };
	int tree = -1;
	assert_int_equal(t->drv->open_tree(t->state, &t->snaps[c].ref, &tree, &e), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		forbid_mknod();
		if (mknodat(tree, "probe", S_IFCHR, makedev(0, 0)) == 0)
			_exit(4); /* still allowed: cannot test here */
		struct snap_error ce = { 0 };
		if (t->drv->apply_whiteout(t->state, tree, "a", SNAP_WHITEOUT_ENTRY, &ce) < 0) {
			fprintf(stderr, "hook: %s\n", ce.message);
			_exit(1);
		}
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
	close(tree);

	char *fs = th_fs(t, c, NULL);
	char p[PATH_MAX * 2], v[4] = "";
	snprintf(p, sizeof(p), "%s/a", fs);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 0);
	assert_true(getxattr(p, "trusted.overlay.whiteout", NULL, 0) >= 0);
	assert_int_equal(getxattr(fs, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'x');
	assert_int_equal(th_commit(t, c), 0);

	/* Below another layer, the kernel hides "a". */
	int top = th_create(t, SNAP_KIND_ACTIVE, c, NULL, NULL);
	int r;
	const char *m = th_mount(t, top, 0, &e, &r);
	assert_int_equal(r, 0);
	assert_false(th_exists(m, "a"));
	assert_true(th_exists(m, "b"));
	th_umount(t, m);
	free(fs);
}

static void test_whiteout_hook_errors(void **state)
{
	struct th *t = *state;
	if (!t)
		skip();
	int c = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	struct snap_error e = { 0 };
	int tree = -1;
	assert_int_equal(t->drv->open_tree(t->state, &t->snaps[c].ref, &tree, &e), 0);
	assert_int_equal(t->drv->apply_whiteout(t->state, tree, "../x", SNAP_WHITEOUT_ENTRY, &e), -EINVAL);
	assert_non_null(strstr(e.message, "../x"));
	assert_int_equal(t->drv->apply_whiteout(t->state, tree, "..", SNAP_WHITEOUT_OPAQUE, &e), -EINVAL);
	assert_int_equal(t->drv->apply_whiteout(t->state, tree, "missing", SNAP_WHITEOUT_OPAQUE, &e), -ENOENT);
	assert_int_equal(t->drv->apply_whiteout(t->state, tree, "x", 99, &e), -EINVAL);
	/* Opaque on the tree root itself ("."), and over an existing whiteout. */
	assert_int_equal(t->drv->apply_whiteout(t->state, tree, "w", SNAP_WHITEOUT_ENTRY, &e), 0);
	assert_int_equal(t->drv->apply_whiteout(t->state, tree, ".", SNAP_WHITEOUT_OPAQUE, &e), 0);
	struct stat st;
	assert_int_equal(fstatat(tree, "w", &st, AT_SYMLINK_NOFOLLOW), -1); /* redundant under "y": dropped */
	close(tree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_layer_with_whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattr_whiteout_without_mknod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteout_hook_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
