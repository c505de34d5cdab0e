/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The btrfs driver through its vtable on a real btrfs: every case gets a
 * fresh root on the host filesystem (ext4 here), so the driver provisions
 * its loopback image, and the case ends by unmounting it (the loop device
 * autoclears) and removing the root.  With a plugin path as argv[1] the same
 * cases run against the driver loaded from that .so.
 */
#include <dlfcn.h>
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
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <linux/magic.h>
#include <unistd.h>
#include <btrfsutil.h>
#include <linux/btrfs.h>

#include <cmocka.h>

#include "btrfs-test-util.h"
#include "drivers/btrfs/btrfs.h"
#include "drivers/btrfs/btrfs-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "tests/vfs/tree-util.h"

static const struct snap_driver *drv = &snap_btrfs_driver;
static const char *expected_name = "btrfs";

#define MAX_SNAPS 8

struct fixture {
	char *root;
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
	struct snap_driver_opts opts = { .root = f->root, .btrfs_size = "1G",
					 .flags = SNAP_OPEN_CREATE };
	struct snap_error err = { 0 };
	if (drv->probe(f->root, &err) < 0)
		fail_msg("probe: %s", err.message);
	if (drv->open(&opts, &f->state, &err) < 0)
		fail_msg("open: %s", err.message);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	drv->close(f->state);
	btrfs_test_destroy_root(f->root);
	/* the image's loop device went with the unmount (autoclear) */
	int left = btrfs_test_wait_loops(f->root, 0);
	free(f->root);
	free(f);
	assert_int_equal(left, 0);
	return 0;
}

/* What the core does before create: an empty ROOT/snapshots/<id>, 0700. */
static struct snap_ref *mkref(struct fixture *f, uint64_t id, int kind)
{
	assert_true(id >= 1 && id <= MAX_SNAPS);
	snprintf(f->paths[id], sizeof(f->paths[id]), "%s/snapshots/%llu", f->root,
		 (unsigned long long)id);
	snprintf(f->keys[id], sizeof(f->keys[id]), "key-%llu", (unsigned long long)id);
	assert_int_equal(mkdir(f->paths[id], 0700), 0);
	f->refs[id] = (struct snap_ref){ .id = id, .key = f->keys[id], .path = f->paths[id],
					 .kind = kind };
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

static void do_remove(struct fixture *f, struct snap_ref *snap)
{
	struct snap_error err = { 0 };
	if (drv->remove(f->state, snap, &err) < 0)
		fail_msg("remove %s: %s", snap->key, err.message);
}

static int tree_of(struct fixture *f, struct snap_ref *snap)
{
	int fd = -1;
	struct snap_error err = { 0 };
	if (drv->open_tree(f->state, snap, &fd, &err) < 0)
		fail_msg("open_tree %s: %s", snap->key, err.message);
	return fd;
}

static bool is_subvolume_at(const char *path)
{
	return btrfs_util_is_subvolume(path) == BTRFS_UTIL_OK;
}

/* ---- mount list capture ------------------------------------------------- */

struct captured {
	struct snap_mount_list list;
	int n;
	char type[32];
	char source[PATH_MAX];
	char options[256];
	char data[256]; /* options without rw/ro, for mount(2) */
	bool ro;
};

static int capture_add(struct snap_mount_list *list, const char *type, const char *source,
		       const char *const *options, size_t n_options)
{
	struct captured *c = (struct captured *)list;
	c->n++;
	snprintf(c->type, sizeof(c->type), "%s", type);
	snprintf(c->source, sizeof(c->source), "%s", source);
	for (size_t i = 0; i < n_options; i++) {
		strncat(c->options, i ? "," : "", sizeof(c->options) - strlen(c->options) - 1);
		strncat(c->options, options[i], sizeof(c->options) - strlen(c->options) - 1);
		if (strcmp(options[i], "ro") == 0) {
			c->ro = true;
		} else if (strcmp(options[i], "rw") != 0 && strcmp(options[i], "rbind") != 0) {
			strncat(c->data, *c->data ? "," : "", sizeof(c->data) - strlen(c->data) - 1);
			strncat(c->data, options[i], sizeof(c->data) - strlen(c->data) - 1);
		}
	}
	return 0;
}

static void get_mounts(struct fixture *f, struct snap_ref *snap, struct captured *c)
{
	memset(c, 0, sizeof(*c));
	c->list.add = capture_add;
	struct snap_chain chain = { 0 };
	struct snap_error err = { 0 };
	if (drv->mounts(f->state, snap, &chain, &c->list, &err) < 0)
		fail_msg("mounts %s: %s", snap->key, err.message);
	assert_int_equal(c->n, 1);
}

/* Mount what mounts() described the way a containerd client does (the
 * mount(2) of type/source/options), at a fresh directory. */
static char *mount_described(const struct captured *c)
{
	char *target = tree_mkdtemp();
	unsigned long flags = c->ro ? MS_RDONLY : 0;
	if (strcmp(c->type, "bind") == 0)
		flags |= MS_BIND | MS_REC;
	if (mount(c->source, target, c->type, flags, *c->data ? c->data : NULL) < 0)
		fail_msg("mount %s (%s, %s) on %s: %s", c->source, c->type, c->options, target,
			 strerror(errno));
	if (c->ro && strcmp(c->type, "bind") == 0)
		assert_int_equal(mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL),
				 0);
	return target;
}

static void unmount_rm(char *target)
{
	assert_int_equal(umount2(target, 0), 0);
	assert_int_equal(rmdir(target), 0);
	free(target);
}

/* ---- cases -------------------------------------------------------------- */

static void test_name_and_backing(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(drv->name, expected_name);
	assert_int_equal(SNAP_ABI_MAJOR_OF(drv->abi_version), SNAP_DRIVER_ABI_MAJOR);
	char snapdir[PATH_MAX];
	snprintf(snapdir, sizeof(snapdir), "%s/snapshots", f->root);
	struct statfs sfs;
	assert_int_equal(statfs(snapdir, &sfs), 0);
	assert_true(sfs.f_type == BTRFS_SUPER_MAGIC);
}

static void test_active_without_parent_is_empty_subvolume(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *s = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, s, NULL);
	char fs[PATH_MAX + 8];
	snprintf(fs, sizeof(fs), "%s/fs", s->path);
	assert_true(is_subvolume_at(fs));
	_cleanup_close_ int t = tree_of(f, s);
	struct stat rst;
	assert_int_equal(fstat(t, &rst), 0);
	assert_int_equal(rst.st_mode & 07777, 0755);
	_cleanup_closedir_ DIR *d = fdopendir(dup(t));
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	assert_int_equal(n, 0);
	do_remove(f, s);
	assert_false(is_subvolume_at(fs));
	assert_int_equal(access(fs, F_OK), -1);
}

static void test_child_snapshot_commit_view(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *p = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, p, NULL);
	_cleanup_close_ int pfs = tree_of(f, p);
	tree_build_sample(pfs);
	/* a snapshot keeps every xattr, trusted.overlay.* too (the layer code
	 * is what refuses those); the shared comparison expects them gone */
	_cleanup_close_ int ro = openat(pfs, "ro", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(fremovexattr(ro, "trusted.overlay.opaque"), 0);
	do_commit(f, p);

	/* committed: the tree is frozen */
	assert_int_equal(openat(pfs, "new-after-commit", O_CREAT | O_WRONLY | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);

	struct snap_ref *c = mkref(f, 2, SNAP_KIND_ACTIVE);
	do_create(f, c, p);
	_cleanup_close_ int cfs = tree_of(f, c);
	tree_assert_equal(pfs, cfs);
	tree_write(cfs, "hello", "changed\n");
	_cleanup_free_ char *back = tree_read(pfs, "hello");
	assert_string_not_equal(back, "changed\n");

	struct snap_ref *v = mkref(f, 3, SNAP_KIND_VIEW);
	do_create(f, v, p);
	_cleanup_close_ int vfs = tree_of(f, v);
	tree_assert_equal(pfs, vfs);
	assert_int_equal(openat(vfs, "x", O_CREAT | O_WRONLY | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);

	/* an empty view is read-only too */
	struct snap_ref *ev = mkref(f, 4, SNAP_KIND_VIEW);
	do_create(f, ev, NULL);
	_cleanup_close_ int evfs = tree_of(f, ev);
	assert_int_equal(openat(evfs, "x", O_CREAT | O_WRONLY | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);

	/* a committed parent can be removed only after its children in the
	 * core's eyes, but the driver's subvolumes are independent */
	do_remove(f, ev);
	do_remove(f, v);
	do_remove(f, c);
	do_remove(f, p);
}

static void test_mounts_device_form(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *p = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, p, NULL);
	_cleanup_close_ int pfs = tree_of(f, p);
	tree_write(pfs, "file", "parent\n");

	struct captured c;
	get_mounts(f, p, &c);
	assert_string_equal(c.type, "btrfs");
	assert_true(strncmp(c.source, "/dev/loop", 9) == 0);
	uint64_t id;
	assert_int_equal(btrfs_util_subvolume_id_fd(pfs, &id), BTRFS_UTIL_OK);
	char want[64];
	snprintf(want, sizeof(want), "subvolid=%llu,rw", (unsigned long long)id);
	assert_string_equal(c.options, want);

	char *target = mount_described(&c);
	_cleanup_close_ int mfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *s = tree_read(mfd, "file");
	assert_string_equal(s, "parent\n");
	tree_write(mfd, "via-mount", "x\n");
	_cleanup_free_ char *s2 = tree_read(pfs, "via-mount");
	assert_string_equal(s2, "x\n");
	close(TAKE_FD(mfd));
	unmount_rm(target);

	do_commit(f, p);
	struct snap_ref *v = mkref(f, 2, SNAP_KIND_VIEW);
	do_create(f, v, p);
	get_mounts(f, v, &c);
	assert_true(c.ro);
	assert_non_null(strstr(c.options, ",ro"));
	target = mount_described(&c);
	mfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *s3 = tree_read(mfd, "via-mount");
	assert_string_equal(s3, "x\n");
	assert_int_equal(openat(mfd, "y", O_CREAT | O_WRONLY | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);
	close(TAKE_FD(mfd));
	unmount_rm(target);
	do_remove(f, v);
	do_remove(f, p);
}

static void test_mount_bind_method(void **state)
{
	struct fixture *f = *state;
	assert_non_null(drv->mount);
	struct snap_ref *p = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, p, NULL);
	_cleanup_close_ int pfs = tree_of(f, p);
	tree_write(pfs, "file", "data\n");

	char *target = tree_mkdtemp();
	struct snap_chain chain = { 0 };
	struct snap_error err = { 0 };
	if (drv->mount(f->state, p, &chain, target, 0, &err) < 0)
		fail_msg("mount: %s", err.message);
	_cleanup_close_ int mfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	tree_write(mfd, "rw", "yes\n");
	_cleanup_free_ char *s = tree_read(pfs, "rw");
	assert_string_equal(s, "yes\n");
	close(TAKE_FD(mfd));
	unmount_rm(target);

	target = tree_mkdtemp();
	if (drv->mount(f->state, p, &chain, target, SNAP_MOUNT_RDONLY, &err) < 0)
		fail_msg("mount ro: %s", err.message);
	mfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(openat(mfd, "y", O_CREAT | O_WRONLY | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);
	close(TAKE_FD(mfd));
	unmount_rm(target);
	do_remove(f, p);
}

/* A file of 1 MiB at `name` in the tree open at treefd; `durable`: its
 * extents written in a transaction of their own (fsync, then syncfs). */
static void write_mib(int treefd, const char *name, bool durable)
{
	_cleanup_free_ char *buf = malloc(1 << 20);
	assert_non_null(buf);
	memset(buf, 'm', 1 << 20);
	_cleanup_close_ int fd = openat(treefd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, 1 << 20), 1 << 20);
	if (durable) {
		assert_int_equal(fsync(fd), 0);
		assert_int_equal(syncfs(fd), 0);
	}
}

/* A child of `parent` that writes 1 MiB and is committed at once, no
 * usage() asked in between. */
static struct snap_ref *commit_child_of_1mib(struct fixture *f, uint64_t id, struct snap_ref *parent)
{
	struct snap_ref *s = mkref(f, id, SNAP_KIND_ACTIVE);
	do_create(f, s, parent);
	_cleanup_close_ int sfs = tree_of(f, s);
	write_mib(sfs, "late", false);
	do_commit(f, s);
	return s;
}

static void test_usage(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *p = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, p, NULL);
	_cleanup_close_ int pfs = tree_of(f, p);
	write_mib(pfs, "big", false);
	tree_write(pfs, "small", "s\n");

	struct snap_usage u = { 0 };
	struct snap_error err = { 0 };
	if (drv->usage(f->state, p, &u, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(u.size >= (1 << 20));
	assert_true(u.inodes >= 3); /* root dir, big, small */

	do_commit(f, p);
	struct snap_usage uc = { 0 };
	if (drv->usage(f->state, p, &uc, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(uc.size >= (1 << 20));

	/* a child that shares everything owns almost nothing */
	struct snap_ref *c = mkref(f, 2, SNAP_KIND_ACTIVE);
	do_create(f, c, p);
	_cleanup_close_ int cfs = tree_of(f, c);
	tree_write(cfs, "new", "n\n");
	struct snap_usage ucc = { 0 };
	if (drv->usage(f->state, c, &ucc, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(ucc.size < (1 << 20));
	assert_true(ucc.inodes >= 1);
	do_remove(f, c);

	/* data written just before commit is counted: no usage() between */
	struct snap_ref *w = commit_child_of_1mib(f, 3, p);
	struct snap_usage uw = { 0 };
	if (drv->usage(f->state, w, &uw, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(uw.size >= (1 << 20));
	assert_true(uw.size < (2 << 20));
	do_remove(f, w);

	/* The same, but a child made of it before anyone asked: the child's
	 * snapshot flushed the parent, whose usage is then measured without a
	 * sync and kept beside it (keep_parent_usage).  It must count the
	 * data written just before the commit, and what is kept must be what
	 * usage() answers. */
	struct snap_ref *l = commit_child_of_1mib(f, 4, p);
	_cleanup_close_ int ldir = open(l->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(ldir >= 0);
	assert_int_equal(faccessat(ldir, "usage", F_OK, 0), -1); /* commit measures nothing */
	struct snap_ref *lc = mkref(f, 5, SNAP_KIND_ACTIVE);
	do_create(f, lc, l);
	struct snap_usage kept = { 0 }, ul = { 0 };
	{
		_cleanup_close_ int kfd = openat(ldir, "usage", O_RDONLY | O_CLOEXEC);
		assert_true(kfd >= 0);
		char kb[64] = "";
		assert_true(read(kfd, kb, sizeof(kb) - 1) > 0);
		long long ks, ki;
		assert_int_equal(sscanf(kb, "%lld %lld", &ks, &ki), 2);
		kept = (struct snap_usage){ .size = ks, .inodes = ki };
	}
	assert_true(kept.size >= (1 << 20));
	assert_true(kept.size < (2 << 20));
	if (drv->usage(f->state, l, &ul, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_int_equal(ul.size, kept.size);
	assert_int_equal(ul.inodes, kept.inodes);
	do_remove(f, lc);
	do_remove(f, l);
	do_remove(f, p);
}

static void skip_without_clone(void)
{
	if (SNAP_ABI_MINOR_OF(drv->abi_version) < 2 || !drv->clone)
		skip();
}

/* A committed snapshot (id 1) and an active child of it (id 2). */
static void committed_and_child(struct fixture *f, struct snap_ref **ret_p, struct snap_ref **ret_c)
{
	*ret_p = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, *ret_p, NULL);
	do_commit(f, *ret_p);
	*ret_c = mkref(f, 2, SNAP_KIND_ACTIVE);
	do_create(f, *ret_c, *ret_p);
}

/* The driver's clone of c (child of p) as snapshot `id`. */
static struct snap_ref *clone_of(struct fixture *f, uint64_t id, struct snap_ref *p, struct snap_ref *c)
{
	struct snap_ref *k = mkref(f, id, SNAP_KIND_ACTIVE);
	struct snap_chain chain = { .refs = p, .n = 1 };
	struct snap_error err = { 0 };
	if (drv->clone(f->state, k, &chain, c, &err) < 0)
		fail_msg("clone: %s", err.message);
	return k;
}

/* A committed clone's usage counts what its source wrote, also once the
 * source is gone (a container is removed after its commit). */
static void test_usage_of_committed_clone(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *p, *c;
	skip_without_clone();
	committed_and_child(f, &p, &c);
	_cleanup_close_ int cfs = tree_of(f, c);
	/* its extents in a transaction before the clone's, as a container's
	 * writes mostly are: the clone alone would not count them */
	write_mib(cfs, "big", true);
	close(TAKE_FD(cfs));
	struct snap_ref *k = clone_of(f, 3, p, c);
	do_commit(f, k);
	do_remove(f, c);
	struct snap_error err = { 0 };
	struct snap_usage u = { 0 };
	if (drv->usage(f->state, k, &u, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(u.size >= (1 << 20));
	assert_true(u.size < (2 << 20));
	do_remove(f, k);
	do_remove(f, p);
}

static int count_change(struct snap_change_sink *sink, int kind, const char *path, int src_dirfd)
{
	(void)kind;
	(void)src_dirfd;
	if (strcmp(path, "big") == 0)
		(*(int *)sink->opaque)++;
	return 0;
}

/* A committed p, its active child c and a neighbour n beside it, each
 * with 1 MiB written and not synced (c's "big", n's "neighbour"). */
struct two_writers {
	struct snap_ref *p, *c, *n;
	int cfs, nfs;
};

static void two_writers_make(struct fixture *f, struct two_writers *w)
{
	committed_and_child(f, &w->p, &w->c);
	w->n = mkref(f, 3, SNAP_KIND_ACTIVE);
	do_create(f, w->n, w->p);
	w->cfs = tree_of(f, w->c);
	w->nfs = tree_of(f, w->n);
	write_mib(w->cfs, "big", false);
	write_mib(w->nfs, "neighbour", false);
}

static void two_writers_remove(struct fixture *f, struct two_writers *w)
{
	close(w->cfs);
	close(w->nfs);
	do_remove(f, w->n);
	do_remove(f, w->c);
	do_remove(f, w->p);
}

/* A clone is read-only from the start, and its diff and commit write out
 * nothing of another writer: no BTRFS_IOC_SYNC (it would write every
 * writer's delalloc on the filesystem, a neighbour's gigabyte included). */
static void test_clone_frozen_without_sync(void **state)
{
	struct fixture *f = *state;
	struct two_writers w;
	skip_without_clone();
	two_writers_make(f, &w);
	struct snap_ref *k = clone_of(f, 4, w.p, w.c);
	struct snap_chain chain = { .refs = w.p, .n = 1 };
	struct snap_error err = { 0 };
	/* the clone took the container's data with it */
	assert_false(btrfs_test_is_delalloc(w.cfs, "big"));
	assert_true(btrfs_test_is_delalloc(w.nfs, "neighbour"));
	_cleanup_close_ int kfs = tree_of(f, k);
	assert_int_equal(openat(kfs, "new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);
	int seen = 0;
	struct snap_change_sink sink = { .opaque = &seen, .change = count_change };
	if (drv->diff(f->state, k, &chain, &sink, &err) < 0)
		fail_msg("diff of the clone: %s", err.message);
	assert_int_equal(seen, 1);
	do_commit(f, k);
	struct snap_usage u = { 0 };
	if (drv->usage(f->state, k, &u, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(u.size >= (1 << 20));
	assert_true(btrfs_test_is_delalloc(w.nfs, "neighbour"));
	close(TAKE_FD(kfs));
	do_remove(f, k);
	two_writers_remove(f, &w);
}

/* How many diff copies (drivers/btrfs/diff.c) the directory holds. */
static size_t diff_copies_in(int dfd)
{
	_cleanup_(snap_names_done) struct snap_names all = { 0 }, others = { 0 };
	assert_int_equal(snap_dir_list_sorted(dfd, NULL, &all), 0);
	assert_int_equal(snap_dir_list_sorted(dfd, BTRFS_DIFF_COPY_PREFIX, &others), 0);
	return all.n - others.n;
}

/* A diff of an active snapshot searches a read-only copy of it, which
 * writes out its own delalloc only, not a neighbour's (BTRFS_IOC_SYNC
 * would), and drops the copy after. */
static void test_diff_of_active_without_sync(void **state)
{
	struct fixture *f = *state;
	struct two_writers w;
	two_writers_make(f, &w);
	assert_true(btrfs_test_is_delalloc(w.cfs, "big"));
	assert_true(btrfs_test_is_delalloc(w.nfs, "neighbour"));
	int seen = 0;
	struct snap_change_sink sink = { .opaque = &seen, .change = count_change };
	struct snap_chain chain = { .refs = w.p, .n = 1 };
	struct snap_error err = { 0 };
	if (drv->diff(f->state, w.c, &chain, &sink, &err) < 0)
		fail_msg("diff: %s", err.message);
	assert_int_equal(seen, 1);
	assert_true(btrfs_test_is_delalloc(w.nfs, "neighbour"));
	_cleanup_close_ int dfd = open(w.c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(diff_copies_in(dfd), 0);
	two_writers_remove(f, &w);
}

/* A copy a crashed diff left beside a snapshot's tree goes with it. */
static void test_remove_drops_a_crashed_diff_copy(void **state)
{
	struct fixture *f = *state;
	struct snap_ref *p, *c;
	committed_and_child(f, &p, &c);
	_cleanup_close_ int dfd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int cfs = tree_of(f, c);
	assert_true(dfd >= 0);
	write_mib(cfs, "big", false);
	close(TAKE_FD(cfs));
	struct snap_error err = { 0 };
	_cleanup_close_ int sfd = openat(dfd, "fs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sfd >= 0);
	assert_int_equal(btrfs_util_create_snapshot_fd2(sfd, dfd, BTRFS_DIFF_COPY_PREFIX "1",
							 BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, NULL, NULL),
			 BTRFS_UTIL_OK);
	close(TAKE_FD(sfd));
	if (drv->remove(f->state, c, &err) < 0)
		fail_msg("remove: %s", err.message);
	assert_int_equal(diff_copies_in(dfd), 0);
	do_remove(f, p);
}

struct method_capture {
	char method[256];
};

static void method_emit(void *ctx, const char *key, const char *value)
{
	if (strcmp(key, "usage method") == 0)
		snprintf(((struct method_capture *)ctx)->method, 256, "%s", value);
}

static void test_usage_with_quotas(void **state)
{
	struct fixture *f = *state;
	/* enable quota groups on the fresh filesystem, then reopen: quotas
	 * are probed at open */
	char sd[PATH_MAX];
	snprintf(sd, sizeof(sd), "%s/snapshots", f->root);
	_cleanup_close_ int sfd = open(sd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct btrfs_ioctl_quota_ctl_args q = { .cmd = BTRFS_QUOTA_CTL_ENABLE };
	if (ioctl(sfd, BTRFS_IOC_QUOTA_CTL, &q) < 0)
		skip();
	/* enabling marks the counts inconsistent until a rescan ran (the
	 * driver then keeps estimating from extents) */
	struct btrfs_ioctl_quota_rescan_args ra = { 0 };
	(void)ioctl(sfd, BTRFS_IOC_QUOTA_RESCAN, &ra);
	assert_int_equal(ioctl(sfd, BTRFS_IOC_QUOTA_RESCAN_WAIT, NULL), 0);
	drv->close(f->state);
	f->state = NULL;
	struct snap_driver_opts opts = { .root = f->root };
	struct snap_error err = { 0 };
	if (drv->open(&opts, &f->state, &err) < 0)
		fail_msg("reopen: %s", err.message);
	struct method_capture mc = { "" };
	assert_int_equal(drv->info(f->state, method_emit, &mc, &err), 0);
	assert_non_null(strstr(mc.method, "qgroup"));

	struct snap_ref *p = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_create(f, p, NULL);
	_cleanup_close_ int pfs = tree_of(f, p);
	write_mib(pfs, "big", false);
	do_commit(f, p);
	struct snap_usage u = { 0 };
	if (drv->usage(f->state, p, &u, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(u.size >= (1 << 20));
	/* a child shares it all: exclusive bytes stay small */
	struct snap_ref *c = mkref(f, 2, SNAP_KIND_ACTIVE);
	do_create(f, c, p);
	struct snap_usage uc = { 0 };
	if (drv->usage(f->state, c, &uc, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(uc.size < (1 << 20));
	/* the parent's exclusive bytes fell with the child; its usage counts
	 * what it wrote, and does not fall: as kept when the child was made,
	 * and as measured again without what was kept */
	struct snap_usage up = { 0 };
	if (drv->usage(f->state, p, &up, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(up.size >= (1 << 20));
	_cleanup_close_ int pdir = open(p->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(unlinkat(pdir, "usage", 0), 0);
	up = (struct snap_usage){ 0 };
	if (drv->usage(f->state, p, &up, &err) < 0)
		fail_msg("usage: %s", err.message);
	assert_true(up.size >= (1 << 20));
	do_remove(f, c);
	do_remove(f, p);
}

static void test_remove_partial_and_nested(void **state)
{
	struct fixture *f = *state;
	/* nothing created at all */
	struct snap_ref *a = mkref(f, 1, SNAP_KIND_ACTIVE);
	do_remove(f, a);
	/* a plain directory "fs" with contents (a crash mid-way) */
	struct snap_ref *b = mkref(f, 2, SNAP_KIND_ACTIVE);
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/fs", b->path);
	assert_int_equal(mkdir(p, 0755), 0);
	_cleanup_close_ int bfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	tree_write(bfd, "junk", "j\n");
	do_remove(f, b);
	assert_int_equal(access(p, F_OK), -1);
	/* a container made a subvolume inside its tree */
	struct snap_ref *c = mkref(f, 3, SNAP_KIND_ACTIVE);
	do_create(f, c, NULL);
	_cleanup_close_ int cfs = tree_of(f, c);
	assert_int_equal(btrfs_util_create_subvolume_fd(cfs, "inner", 0, NULL, NULL),
			 BTRFS_UTIL_OK);
	do_remove(f, c);
	snprintf(p, sizeof(p), "%s/fs", c->path);
	assert_int_equal(access(p, F_OK), -1);
}

struct info_capture {
	int n;
	bool has_device, has_method, has_image;
};

static void info_emit(void *ctx, const char *key, const char *value)
{
	struct info_capture *c = ctx;
	c->n++;
	if (strcmp(key, "device") == 0 && strncmp(value, "/dev/loop", 9) == 0)
		c->has_device = true;
	if (strcmp(key, "usage method") == 0 && *value)
		c->has_method = true;
	if (strcmp(key, "image") == 0 && strstr(value, "btrfs.img"))
		c->has_image = true;
}

static void test_info(void **state)
{
	struct fixture *f = *state;
	struct info_capture c = { 0 };
	struct snap_error err = { 0 };
	assert_non_null(drv->info);
	assert_int_equal(drv->info(f->state, info_emit, &c, &err), 0);
	assert_true(c.has_device);
	assert_true(c.has_method);
	assert_true(c.has_image);
}

static int load_plugin(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	const struct snap_plugin *p = dlsym(h, SNAP_PLUGIN_ENTRY_SYMBOL);
	if (!p || p->magic != SNAP_PLUGIN_MAGIC || p->abi_major != SNAP_DRIVER_ABI_MAJOR ||
	    !p->driver) {
		fprintf(stderr, "%s: no valid %s\n", path, SNAP_PLUGIN_ENTRY_SYMBOL);
		return -1;
	}
	drv = p->driver;
	expected_name = "btrfs-plugin";
	return 0; /* the handle stays open for the process' life */
}

int main(int argc, char **argv)
{
	const char *why = btrfs_test_skip_reason();
	if (why) {
		fprintf(stderr, "skip: %s\n", why);
		return 77;
	}
	if (argc > 1 && load_plugin(argv[1]) < 0)
		return 1;
	int r = btrfs_test_private_ns();
	if (r < 0) {
		fprintf(stderr, "skip: cannot make a private mount namespace: %s\n", strerror(-r));
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_name_and_backing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_without_parent_is_empty_subvolume,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_snapshot_commit_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mounts_device_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_bind_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_with_quotas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_of_committed_clone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_frozen_without_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_of_active_without_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_drops_a_crashed_diff_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_partial_and_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
