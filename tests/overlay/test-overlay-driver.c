/* SPDX-License-Identifier: Apache-2.0 */
/* The overlay driver through its table, with real mounts: lifecycle, mount
 * lists, views, usage, long chains, copy-up semantics, info. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

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

#define TH_OR_SKIP(state)                                                              \
	({                                                                             \
		struct th *_t = *(state);                                              \
		if (!_t)                                                               \
			skip();                                                        \
		_t;                                                                    \
	})

/* Collects one mounts() call. */
struct list {
	struct snap_mount_list l;
	int n;
	char type[32], source[4096];
	char opts[16][8192];
	size_t n_opts;
};

static int list_add(struct snap_mount_list *l, const char *type, const char *source,
		    const char *const *options, size_t n_options)
{
	struct list *c = (struct list *)l;
	c->n++;
	snprintf(c->type, sizeof(c->type), "%s", type);
	snprintf(c->source, sizeof(c->source), "%s", source);
	c->n_opts = n_options;
	for (size_t i = 0; i < n_options && i < 16; i++)
		snprintf(c->opts[i], sizeof(c->opts[i]), "%s", options[i]);
	return 0;
}

static bool has_opt(const struct list *c, const char *opt)
{
	for (size_t i = 0; i < c->n_opts; i++)
		if (strcmp(c->opts[i], opt) == 0)
			return true;
	return false;
}

static void get_mounts(struct th *t, int idx, struct list *c)
{
	memset(c, 0, sizeof(*c));
	c->l.add = list_add;
	struct snap_chain ch;
	struct snap_error e = { 0 };
	int r = t->drv->mounts(t->state, &t->snaps[idx].ref, th_chain(t, idx, &ch), &c->l, &e);
	if (r < 0)
		fail_msg("mounts: %s", e.message);
	assert_int_equal(c->n, 1);
}

static const char *mount_ok(struct th *t, int idx, unsigned flags)
{
	struct snap_error e = { 0 };
	int r;
	const char *m = th_mount(t, idx, flags, &e, &r);
	if (r < 0)
		fail_msg("mount: %s", e.message);
	return m;
}

static void test_active_without_parent(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	int a = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	assert_true(a >= 0);
	struct list c;
	get_mounts(t, a, &c);
	assert_string_equal(c.type, "bind");
	char *fs = th_fs(t, a, NULL);
	assert_string_equal(c.source, fs);
	assert_true(has_opt(&c, "rw") && has_opt(&c, "rbind"));

	const char *m = mount_ok(t, a, 0);
	th_write(m, "hello", "world");
	th_umount(t, m);
	char *s = th_read(fs, "hello");
	assert_non_null(s);
	assert_string_equal(s, "world");
	free(s);
	free(fs);
}

static void test_chain_and_whiteout_by_kernel(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	int base = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	char *bfs = th_fs(t, base, NULL);
	th_write(bfs, "a", "from base");
	th_write(bfs, "b", "keep");
	assert_int_equal(th_commit(t, base), 0);

	int child = th_create(t, SNAP_KIND_ACTIVE, base, NULL, NULL);
	struct list c;
	get_mounts(t, child, &c);
	assert_string_equal(c.type, "overlay");
	assert_string_equal(c.source, "overlay");
	char want[PATH_MAX * 2];
	snprintf(want, sizeof(want), "lowerdir=%s", bfs);
	assert_true(has_opt(&c, want));
	snprintf(want, sizeof(want), "upperdir=%s/fs", t->snaps[child].path);
	assert_true(has_opt(&c, want));
	snprintf(want, sizeof(want), "workdir=%s/work", t->snaps[child].path);
	assert_true(has_opt(&c, want));
	/* The options field order containerd uses: lowerdir last. */
	assert_memory_equal(c.opts[c.n_opts - 1], "lowerdir=", 9);

	const char *m = mount_ok(t, child, 0);
	char *s = th_read(m, "a");
	assert_string_equal(s, "from base");
	free(s);
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/a", m);
	assert_int_equal(unlink(p), 0);
	th_write(m, "c", "new");
	th_umount(t, m);

	/* The upper dir holds exactly the change: a whiteout for a, c. */
	char *cfs = th_fs(t, child, NULL);
	struct stat st;
	snprintf(p, sizeof(p), "%s/a", cfs);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	assert_false(th_exists(cfs, "b"));
	assert_true(th_exists(cfs, "c"));
	/* The merged root keeps the parent's root attributes. */
	struct stat r1, r2;
	assert_int_equal(stat(bfs, &r1), 0);
	assert_int_equal(stat(cfs, &r2), 0);
	assert_int_equal(r1.st_mode, r2.st_mode);
	assert_int_equal(r1.st_uid, r2.st_uid);
	assert_int_equal(th_commit(t, child), 0);

	/* Views: one parent without grandparents = read-only bind; two = ro overlay. */
	int v1 = th_create(t, SNAP_KIND_VIEW, base, NULL, NULL);
	get_mounts(t, v1, &c);
	assert_string_equal(c.type, "bind");
	assert_string_equal(c.source, bfs);
	assert_true(has_opt(&c, "ro"));
	m = mount_ok(t, v1, 0);
	snprintf(p, sizeof(p), "%s/x", m);
	assert_int_equal(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);
	th_umount(t, m);

	int v2 = th_create(t, SNAP_KIND_VIEW, child, NULL, NULL);
	get_mounts(t, v2, &c);
	assert_string_equal(c.type, "overlay");
	snprintf(want, sizeof(want), "lowerdir=%s:%s", cfs, bfs);
	assert_true(has_opt(&c, want));
	for (size_t i = 0; i < c.n_opts; i++)
		assert_null(strstr(c.opts[i], "upperdir"));
	m = mount_ok(t, v2, 0);
	assert_false(th_exists(m, "a"));
	assert_true(th_exists(m, "b") && th_exists(m, "c"));
	snprintf(p, sizeof(p), "%s/x", m);
	assert_int_equal(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);
	th_umount(t, m);

	/* An active snapshot mounted read-only on request. */
	int a2 = th_create(t, SNAP_KIND_ACTIVE, child, NULL, NULL);
	m = mount_ok(t, a2, SNAP_MOUNT_RDONLY);
	assert_int_equal(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
	th_umount(t, m);
	free(bfs);
	free(cfs);
}

static void test_usage_and_remove(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	int a = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	char *fs = th_fs(t, a, NULL);
	char big[8193];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	th_write(fs, "f1", big);
	char p1[PATH_MAX * 2], p2[PATH_MAX * 2];
	snprintf(p1, sizeof(p1), "%s/f1", fs);
	snprintf(p2, sizeof(p2), "%s/f1-link", fs);
	assert_int_equal(link(p1, p2), 0);
	snprintf(p1, sizeof(p1), "%s/d", fs);
	assert_int_equal(mkdir(p1, 0755), 0);
	struct snap_usage u = { 0 };
	struct snap_error e = { 0 };
	assert_int_equal(t->drv->usage(t->state, &t->snaps[a].ref, &u, &e), 0);
	assert_int_equal(u.inodes, 2); /* f1 (linked twice) and d */
	assert_true(u.size >= 8192 + 4096);

	int fd = -1;
	assert_int_equal(t->drv->open_tree(t->state, &t->snaps[a].ref, &fd, &e), 0);
	struct stat st;
	assert_int_equal(fstatat(fd, "f1", &st, AT_SYMLINK_NOFOLLOW), 0);
	close(fd);

	assert_int_equal(t->drv->remove(t->state, &t->snaps[a].ref, &e), 0);
	assert_false(th_exists(t->snaps[a].path, "fs"));
	assert_false(th_exists(t->snaps[a].path, "work"));
	/* Twice, and on a partial snapshot: still fine. */
	assert_int_equal(t->drv->remove(t->state, &t->snaps[a].ref, &e), 0);
	free(fs);
}

/* A chain of n layers, layer i holding file "f<i>", topped by an active
 * snapshot; returns the active one. */
static int make_chain(struct th *t, int n)
{
	int parent = -1;
	for (int i = 0; i < n; i++) {
		int s = th_create(t, SNAP_KIND_ACTIVE, parent, NULL, NULL);
		assert_true(s >= 0);
		char name[32], *fs = th_fs(t, s, NULL);
		snprintf(name, sizeof(name), "f%d", i);
		th_write(fs, name, name);
		free(fs);
		assert_int_equal(th_commit(t, s), 0);
		parent = s;
	}
	return th_create(t, SNAP_KIND_ACTIVE, parent, NULL, NULL);
}

static void read_chain(struct th *t, int top, int n)
{
	struct snap_error e = { 0 };
	int r;
	const char *m = th_mount(t, top, 0, &e, &r);
	if (r < 0)
		fail_msg("mount of a %d-layer chain: %s", n, e.message);
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%d", i);
		char *s = th_read(m, name);
		if (!s)
			fail_msg("layer %d: %s missing in the merged view", i, name);
		assert_string_equal(s, name);
		free(s);
	}
	th_write(m, "top", "written");
	th_umount(t, m);
}

static void test_chain_128(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	int top = make_chain(t, 128);
	read_chain(t, top, 128);
}

/* The kernel's own limit: 500 lower layers.  With the new mount API they
 * are handed over one by one; under the legacy fallback the option string
 * with relative names still fits a page for ids this small. */
static void test_chain_500(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	int top = make_chain(t, 500);
	read_chain(t, top, 500);
}

static void test_copy_up_semantics(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	int l1 = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	char *f1 = th_fs(t, l1, NULL);
	char p[PATH_MAX * 2], q[PATH_MAX * 2];
	th_write(f1, "data", "lower data");
	snprintf(p, sizeof(p), "%s/dir", f1);
	mkdir(p, 0755);
	th_write(f1, "dir/inner", "inner");
	th_write(f1, "xattr", "x");
	snprintf(p, sizeof(p), "%s/xattr", f1);
	assert_int_equal(setxattr(p, "user.k", "v1", 2, 0), 0);
	assert_int_equal(th_commit(t, l1), 0);
	int l2 = th_create(t, SNAP_KIND_ACTIVE, l1, NULL, NULL);
	char *f2 = th_fs(t, l2, NULL);
	th_write(f2, "mid", "middle");
	assert_int_equal(th_commit(t, l2), 0);
	int top = th_create(t, SNAP_KIND_ACTIVE, l2, NULL, NULL);
	const char *m = mount_ok(t, top, 0);

	/* Write into a lower file: copied up, the lower layer untouched. */
	th_write(m, "data", "changed");
	char *s = th_read(m, "data");
	assert_string_equal(s, "changed");
	free(s);
	s = th_read(f1, "data");
	assert_string_equal(s, "lower data");
	free(s);

	/* Rename across layers: a file from layer 1 and one from layer 2,
	 * and a directory from layer 1 (redirect_dir or EXDEV → copy). */
	snprintf(p, sizeof(p), "%s/mid", m);
	snprintf(q, sizeof(q), "%s/dir/mid-moved", m);
	assert_int_equal(rename(p, q), 0);
	snprintf(p, sizeof(p), "%s/dir", m);
	snprintf(q, sizeof(q), "%s/dir-renamed", m);
	if (rename(p, q) < 0)
		assert_int_equal(errno, EXDEV); /* redirect_dir off: userspace copies */
	else {
		s = th_read(m, "dir-renamed/inner");
		assert_string_equal(s, "inner");
		free(s);
		assert_false(th_exists(m, "dir"));
		s = th_read(m, "dir-renamed/mid-moved");
		assert_string_equal(s, "middle");
		free(s);
	}
	assert_true(th_exists(f2, "mid"));

	/* Hardlink a lower file, then write through one name: both see it. */
	snprintf(p, sizeof(p), "%s/xattr", m);
	snprintf(q, sizeof(q), "%s/xattr-link", m);
	assert_int_equal(link(p, q), 0);
	th_write(m, "xattr-link", "through the link");
	s = th_read(m, "xattr");
	assert_string_equal(s, "through the link");
	free(s);
	struct stat a, b;
	assert_int_equal(lstat(p, &a), 0);
	assert_int_equal(lstat(q, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_nlink, 2);

	/* Xattrs survive copy-up and change in the upper only. */
	char v[16] = "";
	assert_int_equal(getxattr(p, "user.k", v, sizeof(v)), 2);
	assert_memory_equal(v, "v1", 2);
	assert_int_equal(setxattr(p, "user.k", "v2", 2, 0), 0);
	th_umount(t, m);
	snprintf(p, sizeof(p), "%s/xattr", f1);
	assert_int_equal(getxattr(p, "user.k", v, sizeof(v)), 2);
	assert_memory_equal(v, "v1", 2);
	free(f1);
	free(f2);
}

static void test_volatile_label(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	int base = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	assert_int_equal(th_commit(t, base), 0);
	int v = th_create(t, SNAP_KIND_ACTIVE, base, "snapctl.volatile=true", NULL);
	assert_true(v >= 0);
	struct list c;
	get_mounts(t, v, &c);
	assert_true(has_opt(&c, "volatile"));
	/* Mounting twice works: the workdir's incompat/volatile left by the
	 * first mount is cleared first. */
	for (int i = 0; i < 2; i++) {
		const char *m = mount_ok(t, v, 0);
		th_write(m, "f", "x");
		th_umount(t, m);
	}
	assert_int_equal(th_commit(t, v), 0);
	int bad = th_create(t, SNAP_KIND_ACTIVE, base, "snapctl.volatile=maybe", NULL);
	assert_int_equal(bad, -EINVAL);
}

static void test_metacopy_label(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	int base = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	assert_int_equal(th_commit(t, base), 0);
	int off = th_create(t, SNAP_KIND_ACTIVE, base, "snapctl.overlay.metacopy=false",
			    "snapctl.overlay.redirect_dir=false");
	struct list c;
	get_mounts(t, off, &c);
	assert_false(has_opt(&c, "metacopy=on"));
	assert_false(has_opt(&c, "redirect_dir=on"));
	int on = th_create(t, SNAP_KIND_ACTIVE, base, "snapctl.overlay.metacopy=true", NULL);
	if (on == -EOPNOTSUPP)
		skip();
	get_mounts(t, on, &c);
	assert_true(has_opt(&c, "metacopy=on"));
	assert_true(has_opt(&c, "redirect_dir=on"));
	/* A child of a metacopy layer follows metacopy whatever its labels say. */
	assert_int_equal(th_commit(t, on), 0);
	int child = th_create(t, SNAP_KIND_ACTIVE, on, "snapctl.overlay.metacopy=false", NULL);
	get_mounts(t, child, &c);
	assert_true(has_opt(&c, "metacopy=on"));
}

/* The classic mount list, joined as containerd does (options by ','), must
 * mount with mount(2) as is, even where ROOT holds ',' and ':' (escaped). */
static void mount_list(const struct list *c, const char *target)
{
	char data[16 * 8192] = "";
	for (size_t i = 0; i < c->n_opts; i++) {
		if (!strcmp(c->opts[i], "rbind") || !strcmp(c->opts[i], "ro") || !strcmp(c->opts[i], "rw"))
			continue;
		if (data[0])
			strcat(data, ",");
		strcat(data, c->opts[i]);
	}
	unsigned long flags = 0;
	if (!strcmp(c->type, "bind"))
		flags = MS_BIND | MS_REC;
	if (mount(c->source, target, strcmp(c->type, "bind") ? c->type : NULL, flags, data) < 0)
		fail_msg("mount -t %s %s -o %s: %s", c->type, c->source, data, strerror(errno));
	if (has_opt(c, "ro") && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		fail_msg("remount ro: %s", strerror(errno));
}

static void test_mount_list_odd_root(void **state)
{
	th_free(*state);
	*state = th_new_at("/var/tmp/ovl,test:odd\\root-XXXXXX");
	struct th *t = *state;
	int base = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	char *bfs = th_fs(t, base, NULL);
	th_write(bfs, "f", "base");
	assert_int_equal(th_commit(t, base), 0);
	int mid = th_create(t, SNAP_KIND_ACTIVE, base, NULL, NULL);
	char *mfs = th_fs(t, mid, NULL);
	th_write(mfs, "g", "mid");
	assert_int_equal(th_commit(t, mid), 0);
	int top = th_create(t, SNAP_KIND_ACTIVE, mid, NULL, NULL);
	int view = th_create(t, SNAP_KIND_VIEW, mid, NULL, NULL);

	int ids[] = { top, view };
	for (size_t i = 0; i < 2; i++) {
		struct list c;
		get_mounts(t, ids[i], &c);
		char target[PATH_MAX];
		snprintf(target, sizeof(target), "%.3000s/tmp/list%zu", t->root, i);
		assert_int_equal(mkdir(target, 0755), 0);
		mount_list(&c, target);
		char *s = th_read(target, "f");
		assert_string_equal(s, "base");
		free(s);
		s = th_read(target, "g");
		assert_string_equal(s, "mid");
		free(s);
		th_umount(t, target);
		/* And the driver's own mount (new API: raw paths; fallback:
		 * escaped relative names). */
		const char *m = mount_ok(t, ids[i], 0);
		s = th_read(m, "f");
		assert_string_equal(s, "base");
		free(s);
		th_umount(t, m);
	}
	/* The probes ran in this root too: metacopy was found. */
	struct list c;
	get_mounts(t, top, &c);
	assert_true(has_opt(&c, "metacopy=on") || !has_opt(&c, "index=off"));
	free(bfs);
	free(mfs);
}

/* A broken chain gives a clear error naming what is missing. */
static void test_mount_errors(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	int base = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	assert_int_equal(th_commit(t, base), 0);
	int top = th_create(t, SNAP_KIND_ACTIVE, base, NULL, NULL);
	char *bfs = th_fs(t, base, NULL);
	assert_int_equal(rmdir(bfs), 0);
	struct snap_error e = { 0 };
	int r;
	const char *m = th_mount(t, top, 0, &e, &r);
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(e.message, "k2"));
	if (!th_legacy())
		assert_non_null(strstr(e.message, bfs));
	rmdir(m);
	/* Nothing stayed mounted. */
	assert_false(th_exists(m, "."));
	free(bfs);
}

struct infos {
	char keys[32][64];
	char values[32][128];
	int n;
};

static void info_emit(void *ctx, const char *key, const char *value)
{
	struct infos *i = ctx;
	assert_non_null(value);
	if (i->n < 32) {
		snprintf(i->values[i->n], 128, "%s", value);
		snprintf(i->keys[i->n++], 64, "%s", key);
	}
}

static void test_info(void **state)
{
	struct th *t = TH_OR_SKIP(state);
	struct infos i = { 0 };
	struct snap_error e = { 0 };
	assert_int_equal(t->drv->info(t->state, info_emit, &i, &e), 0);
	static const char *const want[] = { "lowerdir+", "userxattr", "metacopy", "redirect_dir",
					    "index", "volatile", "nfs_export", "idmapped_layers" };
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		bool found = false;
		for (int k = 0; k < i.n; k++)
			found |= strcmp(i.keys[k], want[w]) == 0;
		if (!found)
			fail_msg("info lacks %s", want[w]);
	}
	/* Under the no-fsopen wrapper the probe must see no new mount API. */
	for (int k = 0; k < i.n; k++)
		if (strcmp(i.keys[k], "lowerdir+") == 0 && th_legacy())
			assert_string_equal(i.values[k], "no");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_active_without_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_and_whiteout_by_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_128, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_500, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_up_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volatile_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metacopy_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_list_odd_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
