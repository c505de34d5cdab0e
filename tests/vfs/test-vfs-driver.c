/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vfs driver through its vtable, doing what the core does around it
 * (ROOT/snapshots/<id> made empty before create, parents nearest first).
 * With a plugin path as argv[1] the same cases run against the driver
 * loaded from that .so instead of the built-in one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/vfs/vfs.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "tree-util.h"

static const struct snap_driver *drv = &snap_vfs_driver;
static const char *expected_name = "vfs";

#define MAX_SNAPS 8

struct fixture {
	char *root;
	int rootfd;
	void *state;
	struct snap_ref refs[MAX_SNAPS + 1];
	char paths[MAX_SNAPS + 1][PATH_MAX];
	char keys[MAX_SNAPS + 1][32];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->root = tree_mkdtemp();
	f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	assert_int_equal(mkdirat(f->rootfd, "snapshots", 0700), 0);
	struct snap_driver_opts opts = { .root = f->root, .flags = SNAP_OPEN_CREATE };
	struct snap_error err = { 0 };
	assert_int_equal(drv->probe(f->root, &err), 0);
	if (drv->open(&opts, &f->state, &err) < 0)
		fail_msg("open: %s", err.message);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	drv->close(f->state);
	close(f->rootfd);
	tree_rm_rf(f->root);
	free(f->root);
	free(f);
	return 0;
}

/* What the core does before create: an empty ROOT/snapshots/<id>, 0700. */
static struct snap_ref *mkref(struct fixture *f, uint64_t id, int kind)
{
	assert_true(id >= 1 && id <= MAX_SNAPS);
	snprintf(f->paths[id], sizeof(f->paths[id]), "%s/snapshots/%llu", f->root, (unsigned long long)id);
	snprintf(f->keys[id], sizeof(f->keys[id]), "key-%llu", (unsigned long long)id);
	assert_int_equal(mkdir(f->paths[id], 0700), 0);
	f->refs[id] = (struct snap_ref){ .id = id, .key = f->keys[id], .path = f->paths[id], .kind = kind };
	return &f->refs[id];
}

static void do_create(struct fixture *f, struct snap_ref *snap, struct snap_ref *parent)
{
	struct snap_chain chain = { .refs = parent, .n = parent ? 1 : 0 };
	struct snap_error err = { 0 };
	if (drv->create(f->state, snap, &chain, &err) < 0)
		fail_msg("create %s: %s", snap->key, err.message);
}

static void do_commit(struct fixture *f, struct snap_ref *snap)
{
	struct snap_error err = { 0 };
	if (drv->commit(f->state, snap, &err) < 0)
		fail_msg("commit %s: %s", snap->key, err.message);
	snap->kind = SNAP_KIND_COMMITTED;
}

static int tree_of(struct fixture *f, struct snap_ref *snap)
{
	int fd = -1;
	struct snap_error err = { 0 };
	if (drv->open_tree(f->state, snap, &fd, &err) < 0)
		fail_msg("open_tree %s: %s", snap->key, err.message);
	return fd;
}

static size_t count_entries(int dirfd)
{
	_cleanup_closedir_ DIR *d = fdopendir(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	return n;
}

/* ---- mount list capture ------------------------------------------------- */

struct captured {
	struct snap_mount_list list;
	int n;
	char type[32];
	char source[PATH_MAX];
	char options[256];
};

static int capture_add(struct snap_mount_list *list, const char *type, const char *source,
		       const char *const *options, size_t n_options)
{
	struct captured *c = (struct captured *)list;
	c->n++;
	snprintf(c->type, sizeof(c->type), "%s", type);
	snprintf(c->source, sizeof(c->source), "%s", source);
	c->options[0] = '\0';
	for (size_t i = 0; i < n_options; i++) {
		strncat(c->options, i ? "," : "", sizeof(c->options) - strlen(c->options) - 1);
		strncat(c->options, options[i], sizeof(c->options) - strlen(c->options) - 1);
	}
	return 0;
}

static void get_mounts(struct fixture *f, struct snap_ref *snap, struct snap_ref *parent, struct captured *c)
{
	memset(c, 0, sizeof(*c));
	c->list.add = capture_add;
	struct snap_chain chain = { .refs = parent, .n = parent ? 1 : 0 };
	struct snap_error err = { 0 };
	if (drv->mounts(f->state, snap, &chain, &c->list, &err) < 0)
		fail_msg("mounts %s: %s", snap->key, err.message);
	assert_int_equal(c->n, 1);
}

/* ---- cases -------------------------------------------------------------- */

static void test_name(void **state)
{
	assert_string_equal(drv->name, expected_name);
	assert_int_equal(SNAP_ABI_MAJOR_OF(drv->abi_version), SNAP_DRIVER_ABI_MAJOR);
}

static void test_active_without_parent_is_empty(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *s = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, s, NULL);
	_cleanup_close_ int fs = tree_of(f, s);
	struct stat st;
	assert_int_equal(fstat(fs, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(count_entries(fs), 0);

	struct captured c;
	get_mounts(f, s, NULL, &c);
	assert_string_equal(c.type, "bind");
	char want[PATH_MAX + 8];
	snprintf(want, sizeof(want), "%s/fs", f->paths[1]);
	assert_string_equal(c.source, want);
	assert_string_equal(c.options, "rbind,rw");
}

static void test_child_is_a_full_copy(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *p = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, p, NULL);
	_cleanup_close_ int pfs = tree_of(f, p);
	tree_build_sample(pfs);
	do_commit(f, p);

	struct snap_ref *c = mkref(f, 2, SNAP_KIND_ACTIVE);
	do_create(f, c, p);
	_cleanup_close_ int cfs = tree_of(f, c);
	tree_assert_equal(pfs, cfs);

	/* the copy is independent of its parent */
	tree_write(cfs, "hello", "changed\n");
	assert_int_equal(unlinkat(cfs, "empty", 0), 0);
	_cleanup_free_ char *old = tree_read(pfs, "hello");
	assert_string_equal(old, "hello world\n");
	struct stat st;
	assert_int_equal(fstatat(pfs, "empty", &st, 0), 0);

	/* no staging name left behind */
	_cleanup_close_ int dir = open(f->paths[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(count_entries(dir), 1);
}

static void test_chain_of_copies(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *prev = NULL;
	for (uint64_t id = 1; id <= 5; id++) {
		struct snap_ref *s = mkref(f, id, SNAP_KIND_ACTIVE);
		do_create(f, s, prev);
		_cleanup_close_ int fs = tree_of(f, s);
		char name[16];
		snprintf(name, sizeof(name), "layer%llu", (unsigned long long)id);
		tree_write(fs, name, name);
		tree_write(fs, "top", name);
		do_commit(f, s);
		prev = s;
	}
	_cleanup_close_ int fs = open(f->paths[5], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int top = openat(fs, "fs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(count_entries(top), 6);
	_cleanup_free_ char *s = tree_read(top, "top");
	assert_string_equal(s, "layer5");
	_cleanup_free_ char *l1 = tree_read(top, "layer1");
	assert_string_equal(l1, "layer1");
}

static void test_view_binds_parent_read_only(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *p = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, p, NULL);
	{
		_cleanup_close_ int pfs = tree_of(f, p);
		tree_write(pfs, "file", "from parent");
	}
	do_commit(f, p);

	struct snap_ref *v = mkref(f, 2, SNAP_KIND_VIEW);
	do_create(f, v, p);
	/* nothing copied: the view's own directory stays empty */
	_cleanup_close_ int vdir = open(f->paths[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(count_entries(vdir), 0);

	struct captured c;
	get_mounts(f, v, p, &c);
	char want[PATH_MAX + 8];
	snprintf(want, sizeof(want), "%s/fs", f->paths[1]);
	assert_string_equal(c.type, "bind");
	assert_string_equal(c.source, want);
	assert_string_equal(c.options, "rbind,ro");

	/* a view has no writable tree */
	struct snap_error err = { 0 };
	int fd = -1;
	assert_int_equal(drv->open_tree(f->state, v, &fd, &err), -EROFS);
	assert_true(err.message[0] != '\0');

	struct snap_usage u = { -1, -1 };
	assert_int_equal(drv->usage(f->state, v, &u, &err), 0);
	assert_int_equal(u.size, 0);
	assert_int_equal(u.inodes, 0);

	/* mounted for real as described, it reads the parent and refuses writes */
	_cleanup_free_ char *target = NULL;
	assert_true(asprintf(&target, "%s/mnt", f->root) > 0);
	assert_int_equal(mkdir(target, 0755), 0);
	if (mount(c.source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail_msg("bind %s: %s", c.source, strerror(errno));
	int r = mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
	int saved = errno;
	_cleanup_close_ int mfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *s = mfd >= 0 ? tree_read(mfd, "file") : NULL;
	int wfd = mfd >= 0 ? openat(mfd, "new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
	int werr = errno;
	if (wfd >= 0)
		close(wfd);
	closep(&mfd);
	assert_int_equal(umount2(target, MNT_DETACH), 0);
	if (r < 0)
		fail_msg("remount ro: %s", strerror(saved));
	assert_string_equal(s, "from parent");
	assert_true(wfd < 0);
	assert_int_equal(werr, EROFS);
}

static void test_view_without_parent(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *v = mkref(f, 1, SNAP_KIND_VIEW);
	do_create(f, v, NULL);
	struct captured c;
	get_mounts(f, v, NULL, &c);
	char want[PATH_MAX + 8];
	snprintf(want, sizeof(want), "%s/fs", f->paths[1]);
	assert_string_equal(c.source, want);
	assert_string_equal(c.options, "rbind,ro");
	struct stat st;
	assert_int_equal(stat(want, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_usage_counts_hardlinks_once(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *s = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, s, NULL);
	_cleanup_close_ int fs = tree_of(f, s);
	struct snap_error err = { 0 };
	struct snap_usage empty;
	assert_int_equal(drv->usage(f->state, s, &empty, &err), 0);
	assert_int_equal(empty.inodes, 1); /* the root directory */

	char buf[8192];
	memset(buf, 'u', sizeof(buf));
	{
		_cleanup_close_ int fd = openat(fs, "data", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_int_equal(snap_write_all(fd, buf, sizeof(buf)), 0);
		assert_int_equal(fsync(fd), 0);
	}
	assert_int_equal(mkdirat(fs, "d", 0755), 0);
	assert_int_equal(linkat(fs, "data", fs, "d/again", 0), 0);
	struct snap_usage u;
	assert_int_equal(drv->usage(f->state, s, &u, &err), 0);
	assert_int_equal(u.inodes, 3); /* root, data (two names), d */
	struct stat st;
	assert_int_equal(fstatat(fs, "data", &st, 0), 0);
	assert_true(u.size >= (int64_t)st.st_blocks * 512);
	assert_true(u.size < (int64_t)st.st_blocks * 512 * 2 + empty.size + 64 * 1024);
}

static void test_remove(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *s = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, s, NULL);
	{
		_cleanup_close_ int fs = tree_of(f, s);
		tree_build_sample(fs);
	}
	_cleanup_close_ int dir = open(f->paths[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* a staging leftover from a crashed create goes too */
	assert_int_equal(mkdirat(dir, "fs.tmp", 0700), 0);
	struct snap_error err = { 0 };
	if (drv->remove(f->state, s, &err) < 0)
		fail_msg("remove: %s", err.message);
	assert_int_equal(count_entries(dir), 0);
	/* again, and on a path that is gone: both fine */
	assert_int_equal(drv->remove(f->state, s, &err), 0);
	assert_int_equal(rmdir(f->paths[1]), 0);
	assert_int_equal(drv->remove(f->state, s, &err), 0);
}

static void test_create_from_broken_parent_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *p = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, p, NULL);
	do_commit(f, p);
	/* the parent's tree is lost */
	_cleanup_close_ int pdir = open(f->paths[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(snap_rm_rf_at(pdir, "fs"), 0);

	struct snap_ref *c = mkref(f, 2, SNAP_KIND_ACTIVE);
	struct snap_chain chain = { .refs = p, .n = 1 };
	struct snap_error err = { 0 };
	assert_int_equal(drv->create(f->state, c, &chain, &err), -ENOENT);
	assert_int_equal(err.code, -ENOENT);
	assert_non_null(strstr(err.message, "key-2"));
	assert_non_null(strstr(err.message, "key-1"));
	_cleanup_close_ int cdir = open(f->paths[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(count_entries(cdir), 0);

	/* and a snapshot without its tree cannot be committed */
	c->kind = SNAP_KIND_ACTIVE;
	assert_int_equal(drv->commit(f->state, c, &err), -ENOENT);
	assert_non_null(strstr(err.message, "key-2"));
}

static void test_create_rejects_bad_kind(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *s = mkref(f, 1, SNAP_KIND_COMMITTED);
	struct snap_chain none = { 0 };
	struct snap_error err = { 0 };
	assert_int_equal(drv->create(f->state, s, &none, &err), -EINVAL);
	assert_non_null(strstr(err.message, "key-1"));
}

static void emit_check(void *ctx, const char *key, const char *value)
{
	if (strcmp(key, "copy-method") == 0)
		*(int *)ctx += 1;
	assert_non_null(value);
}

static void test_info(void **state)
{
	struct fixture *f = *state;
	assert_non_null(drv->info);
	int seen = 0;
	struct snap_error err = { 0 };
	assert_int_equal(drv->info(f->state, emit_check, &seen, &err), 0);
	assert_int_equal(seen, 1);
}

static int load_plugin(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	const struct snap_plugin *p = dlsym(h, SNAP_PLUGIN_ENTRY_SYMBOL);
	if (!p || p->magic != SNAP_PLUGIN_MAGIC || p->abi_major != SNAP_DRIVER_ABI_MAJOR || !p->driver) {
		fprintf(stderr, "%s: no valid %s\n", path, SNAP_PLUGIN_ENTRY_SYMBOL);
		return -1;
	}
	drv = p->driver;
	expected_name = "vfs-plugin";
	return 0; /* the handle stays open for the process' life */
}

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip: the vfs driver tests need root (chown, mknod, bind mounts)\n");
		return 77;
	}
	if (argc > 1 && load_plugin(argv[1]) < 0)
		return 1;
	/* Mounts made here stay in a namespace of our own even when the
	 * suite is not run under unshare -m. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "skip: cannot make a private mount namespace: %s\n", strerror(errno));
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test_setup_teardown(test_active_without_parent_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_is_a_full_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_of_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_binds_parent_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_without_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_counts_hardlinks_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_from_broken_parent_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rejects_bad_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
	};
	return cmocka_run_group_tests_name(argc > 1 ? "vfs-driver-plugin" : "vfs-driver", tests, NULL, NULL);
}
