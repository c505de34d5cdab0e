/* SPDX-License-Identifier: Apache-2.0 */
/* Layering cases (containerd testsuite issues.go and the mount checks):
 * each builds a chain of snapshots and checks every layer through a
 * mounted view against a flat directory the same edits were applied to. */
#include "conformance.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"
#include "tests/vfs/tree-util.h"

#define CHECK_SNAPSHOTS(f, ...)                                                        \
	do {                                                                           \
		const struct applier _as[] = { __VA_ARGS__ };                          \
		conf_check_snapshots((f), _as, ELEMENTSOF(_as));                       \
	} while (0)

/* docker/docker#21555 */
void test_layer_file_update(void **state)
{
	struct conf *f = *state;
	/* twice: the original bug depended on both layers' mtimes falling in
	 * the same second, which the first round makes likely */
	for (int i = 0; i < 2; i++)
		CHECK_SNAPSHOTS(f,
				APPLIER(CREATE_DIR("/etc", 0700),
					CREATE_FILE("/etc/hosts", "mydomain 10.0.0.1", 0644),
					CREATE_FILE("/etc/profile", "PATH=/usr/bin", 0644)),
				APPLIER(CREATE_FILE("/etc/hosts", "mydomain 10.0.0.2", 0644),
					CREATE_FILE("/etc/profile", "PATH=/usr/bin", 0666),
					CREATE_DIR("/root", 0700),
					CREATE_FILE("/root/.bashrc", "PATH=/usr/sbin:/usr/bin", 0644)));
}

/* docker/docker#25244 */
void test_remove_directory_in_lower_layer(void **state)
{
	CHECK_SNAPSHOTS((struct conf *)*state,
			APPLIER(CREATE_DIR("/lib", 0700), CREATE_FILE("/lib/hidden", "", 0644)),
			APPLIER(REMOVE_ALL("/lib"), CREATE_DIR("/lib", 0700), CREATE_FILE("/lib/not-hidden", "", 0644)),
			APPLIER(CREATE_FILE("/lib/newfile", "", 0644)));
}

/* docker/docker#20240, #24913, #28391 */
void test_chown(void **state)
{
	CHECK_SNAPSHOTS((struct conf *)*state,
			APPLIER(CREATE_DIR("/opt", 0700), CREATE_DIR("/opt/a", 0700), CREATE_DIR("/opt/a/b", 0700),
				CREATE_FILE("/opt/a/b/file.txt", "hello", 0644)),
			APPLIER(CHOWN("/opt", 1, 1), CHOWN("/opt/a", 1, 1), CHOWN("/opt/a/b", 1, 1),
				CHOWN("/opt/a/b/file.txt", 1, 1)));
}

/* docker/docker#27298 */
void test_directory_permission_on_commit(void **state)
{
	CHECK_SNAPSHOTS((struct conf *)*state,
			APPLIER(CREATE_DIR("/dir1", 0700), CREATE_DIR("/dir2", 0700), CREATE_DIR("/dir3", 0700),
				CREATE_DIR("/dir4", 0700), CREATE_FILE("/dir4/f1", "...", 0644),
				CREATE_DIR("/dir5", 0700), CREATE_FILE("/dir5/f1", "...", 0644), CHOWN("/dir1", 1, 1),
				CHOWN("/dir2", 1, 1), CHOWN("/dir3", 1, 1), CHOWN("/dir5", 1, 1),
				CHOWN("/dir5/f1", 1, 1)),
			APPLIER(CHOWN("/dir2", 0, 0), REMOVE_ALL("/dir3"), CHOWN("/dir4", 1, 1), CHOWN("/dir4/f1", 1, 1)),
			APPLIER(CREATE_DIR("/dir3", 0700), CHOWN("/dir3", 1, 1), REMOVE_ALL("/dir5"),
				CREATE_DIR("/dir5", 0700), CHOWN("/dir5", 1, 1)));
}

void test_remove_intermediate_snapshot(void **state)
{
	struct conf *f = *state;
	_cleanup_free_ char *base = conf_prepare_mount(f, "base", NULL);
	conf_commit(f, "committed-base", "base");
	conf_prepare(f, "intermediate", "committed-base");
	conf_commit(f, "committed-inter", "intermediate");
	conf_prepare(f, "toplayer", "committed-inter");

	struct snap_error err = { 0 };
	int r = snap_remove(f->core, "committed-inter", &err);
	assert_true(r == -EBUSY || r == -ENOTEMPTY);
	assert_non_null(strstr(err.message, "committed-inter"));
	/* still there, still usable */
	conf_view(f, "inter-view", "committed-inter");
	conf_remove(f, "inter-view");

	conf_remove(f, "toplayer");
	conf_remove(f, "committed-inter");
	conf_umount(base);
	conf_remove(f, "committed-base");
	_cleanup_free_ char *keys = conf_walk_keys(f, NULL, 0);
	assert_string_equal(keys, "");
}

void test_deleted_files_in_child(void **state)
{
	CHECK_SNAPSHOTS((struct conf *)*state,
			APPLIER(CREATE_FILE("/foo", "foo\n", 0777), CREATE_FILE("/foobar", "foobar\n", 0777)),
			APPLIER(REMOVE_ALL("/foobar")), APPLIER_EMPTY);
}

void test_move_file_from_lower_layer(void **state)
{
	CHECK_SNAPSHOTS((struct conf *)*state,
			APPLIER(CREATE_DIR("/dir1", 0700), CREATE_FILE("/dir1/f1", "Hello", 0644),
				CREATE_DIR("dir2", 0700), CREATE_FILE("dir2/f2", "...", 0644)),
			APPLIER(CREATE_DIR("/dir3", 0700), CREATE_FILE("/dir3/f1", "Hello", 0644),
				REMOVE_ALL("/dir1"), LINK("dir2/f2", "dir3/f2"), REMOVE_ALL("dir2/f2")));
}

/* docker/docker#25409; containerd skips it for overlay on old kernels, we
 * run it everywhere. */
void test_rename(void **state)
{
	CHECK_SNAPSHOTS((struct conf *)*state,
			APPLIER(CREATE_DIR("/dir1", 0700), CREATE_DIR("/somefiles", 0700),
				CREATE_FILE("/somefiles/f1", "was here first!", 0644),
				CREATE_FILE("/somefiles/f2", "nothing interesting", 0644)),
			APPLIER(RENAME("/dir1", "/dir2"), CREATE_FILE("/somefiles/f1-overwrite", "new content 1", 0644),
				RENAME("/somefiles/f1-overwrite", "/somefiles/f1"),
				RENAME("/somefiles/f2", "/somefiles/f3")));
}

void test_view_readonly(void **state)
{
	struct conf *f = *state;
	conf_prepare(f, "preparing", NULL);
	conf_commit(f, "committed", "preparing");
	conf_view(f, "view", "committed");
	/* the option string is not enough (containerd#1368): mount for real */
	_cleanup_free_ char *target = conf_mount(f, "view");
	_cleanup_close_ int dir = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dir >= 0);
	int fd = openat(dir, "testfile", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	int e = errno;
	if (fd >= 0) {
		close(fd);
		fail_msg("writing into view mounted on %s succeeded", target);
	}
	assert_int_equal(e, EROFS);
	assert_int_equal(mkdirat(dir, "newdir", 0755), -1);
	assert_int_equal(errno, EROFS);
	closep(&dir);
	conf_umount(target);
	conf_remove(f, "view");
	conf_remove(f, "committed");
}

void test_root_permission(void **state)
{
	struct conf *f = *state;
	_cleanup_free_ char *target = conf_prepare_mount(f, "preparing", NULL);
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	if ((st.st_mode & 0777) != 0755)
		fail_msg("root of a new snapshot is %o, expected 755", st.st_mode & 0777);
	conf_umount(target);
}

void test_128_layers_mount(void **state)
{
	struct conf *f = *state;
	_cleanup_free_ char *flat = conf_mkdir(f, "flat");
	_cleanup_close_ int flatfd = open(flat, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(flatfd >= 0);
	const struct applier lowest = APPLIER(CREATE_FILE("/bottom", "way at the bottom\n", 0777),
					      CREATE_FILE("/overwriteme", "FIRST!\n", 0777),
					      CREATE_DIR("/ADDHERE", 0755), CREATE_DIR("/ONLYME", 0755),
					      CREATE_FILE("/ONLYME/bottom", "bye!\n", 0777));
	char parent[64] = "";
	for (int i = 0; i < 128; i++) {
		char key[64], over[64], add[64], only[64];
		snprintf(over, sizeof(over), "%d WAS HERE!\n", i);
		snprintf(add, sizeof(add), "/ADDHERE/file-%d", i);
		snprintf(only, sizeof(only), "/ONLYME/file-%d", i);
		const struct applier layer = APPLIER(CREATE_FILE("/overwriteme", over, 0777),
						     CREATE_FILE(add, "same\n", 0755), REMOVE_ALL("/ONLYME"),
						     CREATE_DIR("/ONLYME", 0755),
						     CREATE_FILE(only, "only me!\n", 0777));
		const struct applier *a = i == 0 ? &lowest : &layer;

		snprintf(key, sizeof(key), "prepare-layer-%d", i);
		_cleanup_free_ char *target = conf_prepare_mount(f, key, parent[0] ? parent : NULL);
		_cleanup_close_ int tfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(tfd >= 0);
		tree_assert_same(flatfd, tfd, 0);
		applier_apply(a, flatfd);
		applier_apply(a, tfd);
		tree_assert_same(flatfd, tfd, 0);
		closep(&tfd);
		conf_umount(target);
		snprintf(parent, sizeof(parent), "committed-%d", i);
		conf_commit(f, parent, key);
	}

	conf_view(f, "fullview", parent);
	_cleanup_free_ char *view = conf_mount(f, "fullview");
	_cleanup_close_ int vfd = open(view, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(vfd >= 0);
	tree_assert_same(flatfd, vfd, 0);
	/* every layer's own file is readable through the one mount */
	for (int i = 1; i < 128; i++) {
		char name[64];
		snprintf(name, sizeof(name), "ADDHERE/file-%d", i);
		_cleanup_free_ char *s = tree_read(vfd, name);
		assert_string_equal(s, "same\n");
	}
	_cleanup_free_ char *top = tree_read(vfd, "overwriteme");
	assert_string_equal(top, "127 WAS HERE!\n");
	closep(&vfd);
	conf_umount(view);
}
