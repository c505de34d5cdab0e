/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The btrfs fast diff against the generic differ: for every scenario, a
 * child snapshot of one committed base is changed, then both diffs go
 * through the layer collector; the layer tars must be byte-identical (same
 * diff_id) and the change lists equal.  Also: the reasons it falls back.
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <btrfsutil.h>

#include <cmocka.h>

#include "btrfs-test-util.h"
#include "drivers/btrfs/btrfs.h"
#include "util/fs-util.h"
#include "layer/layer-internal.h"
#include "layer/layer.h"
#include "util/macro.h"
#include "tests/vfs/tree-util.h"

static const struct snap_driver *drv = &snap_btrfs_driver;

struct fixture {
	char *root;
	void *state;
	uint64_t next_id;
	struct snap_ref base;
	char base_path[PATH_MAX];
	int basefd;
};

static char paths[128][PATH_MAX];

static struct snap_ref mkref(struct fixture *f, int kind)
{
	uint64_t id = ++f->next_id;
	assert_true(id < 128);
	snprintf(paths[id], sizeof(paths[id]), "%s/snapshots/%llu", f->root, (unsigned long long)id);
	assert_int_equal(mkdir(paths[id], 0700), 0);
	return (struct snap_ref){ .id = id, .key = "k", .path = paths[id], .kind = kind };
}

static int tree_of(struct fixture *f, const struct snap_ref *s)
{
	int fd = -1;
	struct snap_error err = { 0 };
	if (drv->open_tree(f->state, s, &fd, &err) < 0)
		fail_msg("open_tree: %s", err.message);
	return fd;
}

#define CHECK(x)                                                                               \
	do {                                                                                   \
		if ((x) < 0)                                                                   \
			fail_msg("%s: %s", #x, strerror(errno));                               \
	} while (0)

static void write_file(int dfd, const char *name, const char *s)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd);
	CHECK(write(fd, s, strlen(s)));
}

/* The base: the shared sample tree, plus enough plain entries in several
 * directories that leaves are shared and only some get rewritten. */
static void build_base(int fd)
{
	tree_build_sample(fd);
	CHECK(mkdirat(fd, "usr", 0755));
	CHECK(mkdirat(fd, "usr/lib", 0755));
	CHECK(mkdirat(fd, "usr/lib/deep", 0755));
	CHECK(mkdirat(fd, "usr/lib/deep/er", 0755));
	CHECK(mkdirat(fd, "etc", 0755));
	CHECK(mkdirat(fd, "gone", 0755));
	CHECK(mkdirat(fd, "gone/sub", 0755));
	CHECK(mkdirat(fd, "emptied", 0755));
	CHECK(mkdirat(fd, "moveme", 0755));
	for (int i = 0; i < 300; i++) {
		char n[64];
		snprintf(n, sizeof(n), "usr/lib/lib%03d.so", i);
		write_file(fd, n, n);
		snprintf(n, sizeof(n), "etc/conf%03d", i);
		write_file(fd, n, "x=1\n");
	}
	write_file(fd, "usr/lib/deep/er/leaf", "leaf\n");
	write_file(fd, "gone/a", "a\n");
	write_file(fd, "gone/sub/b", "b\n");
	write_file(fd, "emptied/one", "1\n");
	write_file(fd, "emptied/two", "2\n");
	write_file(fd, "moveme/inside", "in\n");
	write_file(fd, "zero-ns", "same size\n");
	/* an mtime without nanoseconds: the differs compare content */
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	CHECK(utimensat(fd, "zero-ns", ts, AT_SYMLINK_NOFOLLOW));
	CHECK(symlinkat("usr/lib/lib000.so", fd, "link"));
	CHECK(mkfifoat(fd, "fifo2", 0600));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->root = tree_mkdtemp();
	f->basefd = -1;
	*state = f;
	struct snap_driver_opts opts = { .root = f->root, .btrfs_size = "1G" };
	struct snap_error err = { 0 };
	if (drv->open(&opts, &f->state, &err) < 0)
		fail_msg("open: %s", err.message);
	f->base = mkref(f, SNAP_KIND_ACTIVE);
	struct snap_chain none = { 0 };
	if (drv->create(f->state, &f->base, &none, &err) < 0)
		fail_msg("create base: %s", err.message);
	f->basefd = tree_of(f, &f->base);
	build_base(f->basefd);
	/* the sample's overlay xattr stays: both differs ignore it */
	if (drv->commit(f->state, &f->base, &err) < 0)
		fail_msg("commit base: %s", err.message);
	f->base.kind = SNAP_KIND_COMMITTED;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	if (f->basefd >= 0)
		close(f->basefd);
	if (f->state)
		drv->close(f->state);
	btrfs_test_destroy_root(f->root);
	free(f->root);
	free(f);
	return 0;
}

struct result {
	char diff_id[SNAP_DIGEST_MAX];
	struct snap_changes changes;
	uint64_t entries;
};

static void collect(int oldfd, int newfd, bool fast, struct fixture *f, struct snap_ref *child,
		    struct result *res)
{
	struct snap_diff_collector *c = NULL;
	assert_int_equal(snap_diff_collector_new(newfd, oldfd, &c), 0);
	struct snap_error err = { 0 };
	int r;
	if (fast) {
		struct snap_chain chain = { .refs = &f->base, .n = 1 };
		r = drv->diff(f->state, child, &chain, snap_diff_collector_sink(c), &err);
	} else {
		r = snap_diff_trees(oldfd, newfd, 0, snap_diff_collector_sink(c), &err);
	}
	if (r < 0)
		fail_msg("%s diff: %s", fast ? "fast" : "generic", err.message);
	_cleanup_close_ int out = memfd_create("layer", MFD_CLOEXEC);
	assert_true(out >= 0);
	struct snap_layer_digests dg = { 0 };
	if (snap_diff_collector_write(c, out, SNAP_COMPRESS_NONE, &dg, &err) < 0)
		fail_msg("write layer: %s", err.message);
	if (snap_diff_collector_changes(c, &res->changes, &err) < 0)
		fail_msg("changes: %s", err.message);
	memcpy(res->diff_id, dg.diff_id, sizeof(res->diff_id));
	res->entries = dg.entries;
	snap_diff_collector_free(c);
}

static void print_changes(const char *what, const struct snap_changes *c)
{
	fprintf(stderr, "%s (%zu):\n", what, c->n);
	for (size_t i = 0; i < c->n; i++)
		fprintf(stderr, "  %c %s\n", "?AMD"[c->v[i].kind & 3], c->v[i].path);
}

typedef void (*mutate_fn)(int fd);

/* The driver's clone of `child` (since ABI 1.2): its fast diff against the
 * base finds what the child's generic diff found (g), and keeps finding it
 * after the child changes again; its usage counts what the child wrote. */
static void check_clone(struct fixture *f, const char *name, struct snap_ref *child, int cfd,
			const struct result *g)
{
	if (SNAP_ABI_MINOR_OF(drv->abi_version) < 2 || !drv->clone)
		return;
	struct snap_error err = { 0 };
	struct snap_usage cu = { 0 }, ku = { 0 };
	if (drv->usage(f->state, child, &cu, &err) < 0)
		fail_msg("usage of the child: %s", err.message);
	struct snap_ref copy = mkref(f, SNAP_KIND_ACTIVE);
	struct snap_chain chain = { .refs = &f->base, .n = 1 };
	if (drv->clone(f->state, &copy, &chain, child, &err) < 0)
		fail_msg("clone: %s", err.message);
	write_file(cfd, "written-after-the-clone", "later\n");
	_cleanup_close_ int kfd = tree_of(f, &copy);
	struct result k = { 0 };
	collect(f->basefd, kfd, true, f, &copy, &k);
	bool same = strcmp(g->diff_id, k.diff_id) == 0 && g->changes.n == k.changes.n;
	for (size_t i = 0; same && i < g->changes.n; i++)
		same = g->changes.v[i].kind == k.changes.v[i].kind &&
		       strcmp(g->changes.v[i].path, k.changes.v[i].path) == 0;
	if (!same) {
		print_changes("child, generic", &g->changes);
		print_changes("clone, btrfs", &k.changes);
		fail_msg("scenario %s: the clone's diff differs from the child's", name);
	}
	if (drv->usage(f->state, &copy, &ku, &err) < 0)
		fail_msg("usage of the clone: %s", err.message);
	assert_int_equal(ku.inodes, cu.inodes);
	assert_int_equal(ku.size, cu.size);
	snap_changes_done(&k.changes);
	close(TAKE_FD(kfd));
	if (drv->remove(f->state, &copy, &err) < 0)
		fail_msg("remove the clone: %s", err.message);
}

/* Make a child of the base, change it, and compare both diffs. */
static void check_scenario(struct fixture *f, const char *name, mutate_fn mutate,
			   bool expect_empty)
{
	struct snap_ref child = mkref(f, SNAP_KIND_ACTIVE);
	struct snap_chain chain = { .refs = &f->base, .n = 1 };
	struct snap_error err = { 0 };
	if (drv->create(f->state, &child, &chain, &err) < 0)
		fail_msg("create: %s", err.message);
	_cleanup_close_ int cfd = tree_of(f, &child);
	mutate(cfd);
	/* what the core does before a diff: a view of the parent to mount
	 * (snapshotting the parent again must not spoil the fast path) */
	struct snap_ref view = mkref(f, SNAP_KIND_VIEW);
	if (drv->create(f->state, &view, &chain, &err) < 0)
		fail_msg("create view: %s", err.message);

	struct result g = { 0 }, q = { 0 };
	collect(f->basefd, cfd, false, f, &child, &g);
	collect(f->basefd, cfd, true, f, &child, &q);
	bool same = strcmp(g.diff_id, q.diff_id) == 0 && g.changes.n == q.changes.n;
	for (size_t i = 0; same && i < g.changes.n; i++)
		same = g.changes.v[i].kind == q.changes.v[i].kind &&
		       strcmp(g.changes.v[i].path, q.changes.v[i].path) == 0;
	if (!same) {
		print_changes("generic", &g.changes);
		print_changes("btrfs", &q.changes);
		fail_msg("scenario %s: the fast diff differs from the generic one", name);
	}
	if (expect_empty)
		assert_int_equal(g.changes.n, 0);
	else
		assert_true(g.changes.n > 0);
	check_clone(f, name, &child, cfd, &g);
	snap_changes_done(&g.changes);
	snap_changes_done(&q.changes);
	close(TAKE_FD(cfd));
	if (drv->remove(f->state, &child, &err) < 0 || drv->remove(f->state, &view, &err) < 0)
		fail_msg("remove: %s", err.message);
}

/* ---- scenarios ---------------------------------------------------------- */

static void m_nothing(int fd)
{
	(void)fd;
}

static void m_read_only(int fd)
{
	_cleanup_free_ char *s = tree_read(fd, "usr/lib/lib010.so");
	struct stat st;
	CHECK(fstatat(fd, "etc/conf001", &st, 0));
}

static void m_chmod_back(int fd)
{
	/* ctime changes, nothing a layer records does */
	CHECK(fchmodat(fd, "etc/conf002", 0600, 0));
	CHECK(fchmodat(fd, "etc/conf002", 0644, 0));
}

static void m_add(int fd)
{
	write_file(fd, "newfile", "new\n");
	write_file(fd, "usr/lib/libnew.so", "new\n");
	CHECK(mkdirat(fd, "newdir", 0750));
	CHECK(mkdirat(fd, "newdir/sub", 0755));
	write_file(fd, "newdir/sub/f", "f\n");
	CHECK(symlinkat("/etc/passwd", fd, "newdir/abs-link"));
	CHECK(mknodat(fd, "newdir/null", S_IFCHR | 0666, makedev(1, 3)));
}

static void m_modify(int fd)
{
	write_file(fd, "usr/lib/lib100.so", "rewritten\n");
	_cleanup_close_ int a = openat(fd, "etc/conf200", O_WRONLY | O_APPEND | O_CLOEXEC);
	CHECK(a);
	CHECK(write(a, "y=2\n", 4));
	write_file(fd, "usr/lib/deep/er/leaf", "LEAF\n");
}

static void m_metadata(int fd)
{
	CHECK(fchmodat(fd, "etc/conf010", 0600, 0));
	CHECK(fchownat(fd, "etc/conf011", 1234, 1234, AT_SYMLINK_NOFOLLOW));
	struct timespec ts[2] = { { 5, 0 }, { 123456789, 42 } };
	CHECK(utimensat(fd, "etc/conf012", ts, 0));
	_cleanup_close_ int x = openat(fd, "etc/conf013", O_RDONLY | O_CLOEXEC);
	CHECK(x);
	CHECK(fsetxattr(x, "user.added", "v", 1, 0));
	CHECK(fchownat(fd, "link", 7, 7, AT_SYMLINK_NOFOLLOW));
}

static void m_same_size_zero_ns(int fd)
{
	/* same size, mtime put back (no nanoseconds): only content tells */
	write_file(fd, "zero-ns", "SAME SIZE\n");
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	CHECK(utimensat(fd, "zero-ns", ts, AT_SYMLINK_NOFOLLOW));
}

static void m_delete(int fd)
{
	CHECK(unlinkat(fd, "etc/conf020", 0));
	CHECK(snap_rm_rf_at(fd, "gone"));
	CHECK(unlinkat(fd, "emptied/one", 0));
	CHECK(unlinkat(fd, "emptied/two", 0));
	CHECK(unlinkat(fd, "fifo2", 0));
}

static void m_rename(int fd)
{
	CHECK(renameat(fd, "etc/conf030", fd, "etc/conf030.renamed"));
	CHECK(renameat(fd, "moveme", fd, "moved"));
	CHECK(renameat(fd, "etc/conf031", fd, "etc/conf032")); /* over an existing one */
	CHECK(renameat(fd, "usr/lib/deep", fd, "deep-now-at-root"));
}

static void m_replace_types(int fd)
{
	CHECK(unlinkat(fd, "etc/conf040", 0));
	CHECK(mkdirat(fd, "etc/conf040", 0755));
	write_file(fd, "etc/conf040/inner", "i\n");
	CHECK(snap_rm_rf_at(fd, "moveme"));
	write_file(fd, "moveme", "now a file\n");
	CHECK(unlinkat(fd, "etc/conf041", 0));
	CHECK(symlinkat("conf042", fd, "etc/conf041"));
	/* delete and re-create a directory with partly the same names */
	CHECK(snap_rm_rf_at(fd, "usr/lib/deep"));
	CHECK(mkdirat(fd, "usr/lib/deep", 0755));
	write_file(fd, "usr/lib/deep/new", "n\n");
}

static void m_hardlinks(int fd)
{
	CHECK(linkat(fd, "etc/conf050", fd, "etc/conf050.link", 0));
	CHECK(linkat(fd, "usr/lib/lib050.so", fd, "hardlinked-at-root", 0));
	write_file(fd, "fresh", "fresh\n");
	CHECK(linkat(fd, "fresh", fd, "usr/fresh-link", 0));
}

static void m_xattr_only(int fd)
{
	_cleanup_close_ int x = openat(fd, "usr/lib/lib060.so", O_RDONLY | O_CLOEXEC);
	CHECK(x);
	CHECK(fsetxattr(x, "user.k", "v", 1, 0));
	_cleanup_close_ int d = openat(fd, "ro", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(d);
	CHECK(fremovexattr(d, "user.kept"));
	/* an overlay-private xattr alone is no change to either differ */
	_cleanup_close_ int y = openat(fd, "etc/conf061", O_RDONLY | O_CLOEXEC);
	CHECK(y);
	CHECK(fsetxattr(y, "trusted.overlay.origin", "o", 1, 0));
}

static void m_everything(int fd)
{
	m_add(fd);
	m_modify(fd);
	m_metadata(fd);
	m_delete(fd);
	m_rename(fd);
	m_hardlinks(fd);
	m_xattr_only(fd);
}

static void m_create_then_delete(int fd)
{
	write_file(fd, "etc/tmpfile", "t\n");
	CHECK(unlinkat(fd, "etc/tmpfile", 0));
	CHECK(mkdirat(fd, "tmpdir", 0755));
	CHECK(unlinkat(fd, "tmpdir", AT_REMOVEDIR));
}

#define SCENARIO(fn, empty)                                                                    \
	static void test_##fn(void **state)                                                    \
	{                                                                                      \
		check_scenario(*state, #fn, fn, empty);                                        \
	}
SCENARIO(m_nothing, true)
SCENARIO(m_read_only, true)
SCENARIO(m_chmod_back, true)
SCENARIO(m_add, false)
SCENARIO(m_modify, false)
SCENARIO(m_metadata, false)
SCENARIO(m_same_size_zero_ns, false)
SCENARIO(m_delete, false)
SCENARIO(m_rename, false)
SCENARIO(m_replace_types, false)
SCENARIO(m_hardlinks, false)
SCENARIO(m_xattr_only, false)
SCENARIO(m_create_then_delete, false)
SCENARIO(m_everything, false)

/* ---- fallbacks ---------------------------------------------------------- */

static int null_change(struct snap_change_sink *sink, int kind, const char *path, int fd)
{
	return 0;
}

static void test_fallbacks(void **state)
{
	struct fixture *f = *state;
	struct snap_change_sink sink = { .change = null_change };
	struct snap_error err = { 0 };

	/* no parent */
	struct snap_ref lone = mkref(f, SNAP_KIND_ACTIVE);
	struct snap_chain none = { 0 };
	if (drv->create(f->state, &lone, &none, &err) < 0)
		fail_msg("create: %s", err.message);
	assert_int_equal(drv->diff(f->state, &lone, &none, &sink, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.message, "no parent"));

	/* the "parent" is not what the snapshot was taken from */
	struct snap_ref child = mkref(f, SNAP_KIND_ACTIVE);
	struct snap_chain chain = { .refs = &f->base, .n = 1 };
	if (drv->create(f->state, &child, &chain, &err) < 0)
		fail_msg("create: %s", err.message);
	struct snap_chain wrong = { .refs = &lone, .n = 1 };
	assert_int_equal(drv->diff(f->state, &child, &wrong, &sink, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.message, "not a snapshot of its parent"));

	/* a writable parent (not committed) */
	struct snap_ref grandchild = mkref(f, SNAP_KIND_ACTIVE);
	struct snap_chain cchain = { .refs = &child, .n = 1 };
	if (drv->create(f->state, &grandchild, &cchain, &err) < 0)
		fail_msg("create: %s", err.message);
	assert_int_equal(drv->diff(f->state, &grandchild, &cchain, &sink, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.message, "writable"));

	/* a nested subvolume */
	_cleanup_close_ int cfd = tree_of(f, &child);
	assert_int_equal(btrfs_util_create_subvolume_fd(cfd, "nested", 0, NULL, NULL), 0);
	assert_int_equal(drv->diff(f->state, &child, &chain, &sink, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.message, "nested subvolumes"));
	close(TAKE_FD(cfd));

	assert_int_equal(drv->remove(f->state, &grandchild, &err), 0);
	assert_int_equal(drv->remove(f->state, &child, &err), 0);
	assert_int_equal(drv->remove(f->state, &lone, &err), 0);
}

static int load_plugin(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	const struct snap_plugin *p = dlsym(h, SNAP_PLUGIN_ENTRY_SYMBOL);
	if (!p || p->magic != SNAP_PLUGIN_MAGIC || !p->driver)
		return -1;
	drv = p->driver;
	return 0;
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
		cmocka_unit_test(test_m_nothing),
		cmocka_unit_test(test_m_read_only),
		cmocka_unit_test(test_m_chmod_back),
		cmocka_unit_test(test_m_add),
		cmocka_unit_test(test_m_modify),
		cmocka_unit_test(test_m_metadata),
		cmocka_unit_test(test_m_same_size_zero_ns),
		cmocka_unit_test(test_m_delete),
		cmocka_unit_test(test_m_rename),
		cmocka_unit_test(test_m_replace_types),
		cmocka_unit_test(test_m_hardlinks),
		cmocka_unit_test(test_m_xattr_only),
		cmocka_unit_test(test_m_create_then_delete),
		cmocka_unit_test(test_m_everything),
		cmocka_unit_test(test_fallbacks),
	};
	/* one base for all scenarios: each makes and removes its own child */
	return cmocka_run_group_tests(tests, setup, teardown);
}
