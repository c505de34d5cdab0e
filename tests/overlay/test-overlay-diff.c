/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay fast diff against the core's generic walking diff, on one set
 * of changes made through a mounted snapshot (create, modify, chmod, chown,
 * delete file, delete dir, replace dir with file, rename dir, hardlink,
 * xattr change, a copy-up without change), with redirect_dir and metacopy
 * both off and on: the change lists must be equal and the layer tars
 * byte-identical.
 */
#include <dirent.h>
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
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fs-util.h"
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

static void path_at(char *buf, size_t size, const char *dir, const char *rel)
{
	snprintf(buf, size, "%s/%s", dir, rel);
}

static void mk(const char *dir, const char *rel)
{
	char p[PATH_MAX * 2];
	path_at(p, sizeof(p), dir, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

/* A file whose mtime has nanoseconds (as on a real fs) except where a test
 * wants the content comparison. */
static void put(const char *dir, const char *rel, const char *content)
{
	th_write(dir, rel, content);
}

static void big(const char *dir, const char *rel, size_t size)
{
	char p[PATH_MAX * 2];
	path_at(p, sizeof(p), dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	char *buf = malloc(size);
	for (size_t i = 0; i < size; i++)
		buf[i] = (char)('a' + i % 23);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	free(buf);
	close(fd);
}

static void build_base(const char *fs)
{
	put(fs, "modify", "old content");
	put(fs, "chmod", "chmod me");
	put(fs, "chown", "chown me");
	put(fs, "delete-file", "bye");
	mk(fs, "delete-dir");
	put(fs, "delete-dir/a", "a");
	put(fs, "delete-dir/b", "b");
	mk(fs, "replace-dir");
	put(fs, "replace-dir/c", "c");
	mk(fs, "rename-dir");
	put(fs, "rename-dir/x", "x");
	mk(fs, "rename-dir/sub");
	put(fs, "rename-dir/sub/y", "y");
	put(fs, "hardlink-src", "linked");
	put(fs, "xattr", "xattr");
	char p[PATH_MAX * 2];
	path_at(p, sizeof(p), fs, "xattr");
	assert_int_equal(setxattr(p, "user.a", "1", 1, 0), 0);
	big(fs, "big", 1 << 20);
	mk(fs, "keep");
	put(fs, "keep/k", "k");
	put(fs, "opened-rw", "unchanged");
	mk(fs, "opaque-dir");
	put(fs, "opaque-dir/o1", "o1");
	put(fs, "opaque-dir/o2", "o2");
	put(fs, "mv-file", "moved");
	mk(fs, "reborn-dir");
	put(fs, "reborn-dir/r1", "r1");
	mk(fs, "deep");
	mk(fs, "deep/er");
	put(fs, "deep/er/leaf", "leaf");
	path_at(p, sizeof(p), fs, "link");
	assert_int_equal(symlink("modify", p), 0);
}

/* Copy a small tree (files and dirs), as mv does after EXDEV. */
static void copy_tree(const char *from, const char *to)
{
	struct stat st;
	assert_int_equal(lstat(from, &st), 0);
	if (S_ISDIR(st.st_mode)) {
		assert_int_equal(mkdir(to, st.st_mode & 07777), 0);
		int fd = open(from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fdopendir(fd);
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char a[PATH_MAX], b[PATH_MAX];
			snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
			snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
			copy_tree(a, b);
		}
		closedir(d);
		return;
	}
	char *content = NULL;
	assert_int_equal(snap_read_file_at(AT_FDCWD, from, 1 << 20, &content, NULL), 0);
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	free(content);
}

/* The change set, through the mounted snapshot m. */
static void make_changes(const char *m, bool *renamed_by_kernel)
{
	char p[PATH_MAX * 2], q[PATH_MAX * 2];
	put(m, "new-file", "new");
	mk(m, "new-dir");
	put(m, "new-dir/f", "f");
	put(m, "modify", "new content, longer");
	path_at(p, sizeof(p), m, "chmod");
	assert_int_equal(chmod(p, 0600), 0);
	path_at(p, sizeof(p), m, "big");
	assert_int_equal(chmod(p, 0600), 0); /* metacopy=on: metadata-only copy-up */
	path_at(p, sizeof(p), m, "chown");
	assert_int_equal(lchown(p, 1000, 1000), 0);
	path_at(p, sizeof(p), m, "delete-file");
	assert_int_equal(unlink(p), 0);
	path_at(p, sizeof(p), m, "delete-dir");
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(snap_rm_rf_at(fd, "a"), 0);
	assert_int_equal(snap_rm_rf_at(fd, "b"), 0);
	close(fd);
	assert_int_equal(rmdir(p), 0);
	path_at(p, sizeof(p), m, "replace-dir/c");
	assert_int_equal(unlink(p), 0);
	path_at(p, sizeof(p), m, "replace-dir");
	assert_int_equal(rmdir(p), 0);
	put(m, "replace-dir", "now a file");
	path_at(p, sizeof(p), m, "rename-dir");
	path_at(q, sizeof(q), m, "renamed-dir");
	*renamed_by_kernel = rename(p, q) == 0;
	if (!*renamed_by_kernel) {
		assert_int_equal(errno, EXDEV);
		copy_tree(p, q);
		int dfd = open(m, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_int_equal(snap_rm_rf_at(dfd, "rename-dir"), 0);
		close(dfd);
	}
	path_at(p, sizeof(p), m, "hardlink-src");
	path_at(q, sizeof(q), m, "hardlink-dst");
	assert_int_equal(link(p, q), 0);
	path_at(p, sizeof(p), m, "xattr");
	assert_int_equal(setxattr(p, "user.a", "2", 1, 0), 0);
	path_at(p, sizeof(p), m, "opened-rw");
	fd = open(p, O_RDWR | O_CLOEXEC); /* copy-up, no change */
	assert_true(fd >= 0);
	close(fd);
	/* Rename a lower file; change a file inside the renamed dir; rename a
	 * dir and make a new one at its old name; chmod a nested dir; retarget
	 * a symlink. */
	path_at(p, sizeof(p), m, "mv-file");
	path_at(q, sizeof(q), m, "moved-file");
	assert_int_equal(rename(p, q), 0);
	put(m, "renamed-dir/x", "x changed after the rename");
	path_at(p, sizeof(p), m, "reborn-dir");
	path_at(q, sizeof(q), m, "reborn-moved");
	if (rename(p, q) < 0) {
		assert_int_equal(errno, EXDEV);
		copy_tree(p, q);
		int dfd = open(m, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_int_equal(snap_rm_rf_at(dfd, "reborn-dir"), 0);
		close(dfd);
	}
	mk(m, "reborn-dir");
	put(m, "reborn-dir/r2", "r2");
	path_at(p, sizeof(p), m, "deep/er");
	assert_int_equal(chmod(p, 0700), 0);
	path_at(p, sizeof(p), m, "link");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("chmod", p), 0);
	/* Opaque: empty a lower dir, remove it and make it again. */
	path_at(p, sizeof(p), m, "opaque-dir");
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(snap_rm_children_at(fd), 0);
	close(fd);
	assert_int_equal(rmdir(p), 0);
	mk(m, "opaque-dir");
	put(m, "opaque-dir/o3", "o3");
}

static int memfd(void)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static char *slurp(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)end + 1);
	assert_int_equal(pread(fd, buf, (size_t)end, 0), end);
	*len = (size_t)end;
	return buf;
}

static bool has_change(const struct snap_changes *c, int kind, const char *path)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].kind == kind && strcmp(c->v[i].path, path) == 0)
			return true;
	return false;
}

static void dump(const char *what, const struct snap_changes *c)
{
	fprintf(stderr, "%s:\n", what);
	for (size_t i = 0; i < c->n; i++)
		fprintf(stderr, "  %c %s\n", "?ACD"[c->v[i].kind], c->v[i].path);
}

static void run_case(struct th *t, bool features)
{
	const char *mc = features ? "snapctl.overlay.metacopy=true" : "snapctl.overlay.metacopy=false";
	const char *rd = features ? "snapctl.overlay.redirect_dir=true" : "snapctl.overlay.redirect_dir=false";

	int l1 = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	char *f1 = th_fs(t, l1, NULL);
	build_base(f1);
	assert_int_equal(th_commit(t, l1), 0);
	/* A second layer, so that the parent view is an overlay itself. */
	int l2 = th_create(t, SNAP_KIND_ACTIVE, l1, mc, rd);
	if (l2 == -EOPNOTSUPP)
		skip();
	assert_true(l2 >= 0);
	struct snap_error e = { 0 };
	int r;
	const char *m = th_mount(t, l2, 0, &e, &r);
	assert_int_equal(r, 0);
	put(m, "l2-file", "from l2");
	put(m, "keep/k2", "k2");
	th_umount(t, m);
	assert_int_equal(th_commit(t, l2), 0);

	int c = th_create(t, SNAP_KIND_ACTIVE, l2, mc, rd);
	assert_true(c >= 0);
	m = th_mount(t, c, 0, &e, &r);
	if (r < 0)
		fail_msg("mount: %s", e.message);
	bool renamed;
	make_changes(m, &renamed);
	th_umount(t, m);

	char *cfs = th_fs(t, c, NULL);
	if (features) {
		/* The features really were in play. */
		char p[PATH_MAX * 2];
		path_at(p, sizeof(p), cfs, "big");
		assert_true(getxattr(p, "trusted.overlay.metacopy", NULL, 0) >= 0);
		assert_true(renamed);
		path_at(p, sizeof(p), cfs, "renamed-dir");
		assert_true(getxattr(p, "trusted.overlay.redirect", NULL, 0) >= 0);
	} else {
		assert_false(renamed);
	}

	/* The trees as the core sees them: the snapshot mounted, and its
	 * parent through a view. */
	int v = th_create(t, SNAP_KIND_VIEW, l2, NULL, NULL);
	const char *mold = th_mount(t, v, 0, &e, &r);
	assert_int_equal(r, 0);
	char old_path[PATH_MAX];
	snprintf(old_path, sizeof(old_path), "%s", mold);
	const char *mnew = th_mount(t, c, SNAP_MOUNT_RDONLY, &e, &r);
	assert_int_equal(r, 0);
	int oldfd = open(old_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int newfd = open(mnew, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(oldfd >= 0 && newfd >= 0);

	int gen = memfd(), fast = memfd();
	assert_int_equal(snap_layer_diff_dirfd(oldfd, newfd, gen, NULL, NULL, &e), 0);
	struct snap_changes gch = { 0 }, fch = { 0 };
	assert_int_equal(snap_layer_changes_dirfd(oldfd, newfd, &gch, &e), 0);

	struct snap_diff_collector *col = NULL;
	assert_int_equal(snap_diff_collector_new(newfd, oldfd, &col), 0);
	struct snap_chain ch;
	r = t->drv->diff(t->state, &t->snaps[c].ref, th_chain(t, c, &ch), snap_diff_collector_sink(col), &e);
	if (r < 0)
		fail_msg("fast diff: %s", e.message);
	assert_int_equal(snap_diff_collector_error(col, &e), 0);
	assert_int_equal(snap_diff_collector_write(col, fast, SNAP_COMPRESS_NONE, NULL, &e), 0);
	snap_diff_collector_free(col);
	assert_int_equal(snap_diff_collector_new(newfd, oldfd, &col), 0);
	assert_int_equal(t->drv->diff(t->state, &t->snaps[c].ref, &ch, snap_diff_collector_sink(col), &e), 0);
	assert_int_equal(snap_diff_collector_changes(col, &fch, &e), 0);
	snap_diff_collector_free(col);

	bool same = gch.n == fch.n;
	for (size_t i = 0; same && i < gch.n; i++)
		same = gch.v[i].kind == fch.v[i].kind && !strcmp(gch.v[i].path, fch.v[i].path);
	if (getenv("OVL_TEST_VERBOSE"))
		dump(features ? "fast diff, redirect_dir+metacopy on" : "fast diff, features off", &fch);
	if (!same) {
		dump("generic", &gch);
		dump("fast", &fch);
		fail_msg("change lists differ");
	}
	/* The change set is what was done. */
	static const struct {
		int kind;
		const char *path;
	} want[] = {
		{ SNAP_CHANGE_ADD, "/new-file" },        { SNAP_CHANGE_ADD, "/new-dir/f" },
		{ SNAP_CHANGE_MODIFY, "/modify" },       { SNAP_CHANGE_MODIFY, "/chmod" },
		{ SNAP_CHANGE_MODIFY, "/chown" },        { SNAP_CHANGE_MODIFY, "/big" },
		{ SNAP_CHANGE_DELETE, "/delete-file" },  { SNAP_CHANGE_DELETE, "/delete-dir" },
		{ SNAP_CHANGE_MODIFY, "/replace-dir" },  { SNAP_CHANGE_DELETE, "/rename-dir" },
		{ SNAP_CHANGE_ADD, "/renamed-dir/sub/y" }, { SNAP_CHANGE_ADD, "/hardlink-dst" },
		{ SNAP_CHANGE_MODIFY, "/xattr" },        { SNAP_CHANGE_DELETE, "/opaque-dir/o1" },
		{ SNAP_CHANGE_ADD, "/opaque-dir/o3" },
		{ SNAP_CHANGE_ADD, "/moved-file" },      { SNAP_CHANGE_DELETE, "/mv-file" },
		{ SNAP_CHANGE_ADD, "/renamed-dir/x" },   { SNAP_CHANGE_DELETE, "/reborn-dir/r1" },
		{ SNAP_CHANGE_ADD, "/reborn-dir/r2" },   { SNAP_CHANGE_ADD, "/reborn-moved/r1" },
		{ SNAP_CHANGE_MODIFY, "/deep/er" },      { SNAP_CHANGE_MODIFY, "/link" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!has_change(&fch, want[i].kind, want[i].path)) {
			dump("fast", &fch);
			fail_msg("missing change %c %s", "?ACD"[want[i].kind], want[i].path);
		}
	assert_false(has_change(&fch, SNAP_CHANGE_MODIFY, "/opened-rw"));
	assert_false(has_change(&fch, SNAP_CHANGE_MODIFY, "/keep/k"));
	assert_false(has_change(&fch, SNAP_CHANGE_MODIFY, "/deep/er/leaf"));

	size_t gl, fl;
	char *gb = slurp(gen, &gl), *fb = slurp(fast, &fl);
	assert_int_equal(gl, fl);
	assert_memory_equal(gb, fb, gl);
	free(gb);
	free(fb);
	snap_changes_done(&gch);
	snap_changes_done(&fch);
	close(gen);
	close(fast);
	close(oldfd);
	close(newfd);
	th_umount(t, mnew);
	th_umount(t, old_path);
	free(f1);
	free(cfs);
}

static void test_diff_features_off(void **state)
{
	struct th *t = *state;
	if (!t)
		skip();
	run_case(t, false);
}

static void test_diff_features_on(void **state)
{
	struct th *t = *state;
	if (!t)
		skip();
	run_case(t, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_diff_features_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_features_on, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
