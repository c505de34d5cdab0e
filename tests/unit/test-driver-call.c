/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver wrappers and the loader.  The wrappers' contract checks are
 * exercised with a deliberately misbehaving driver table (a driver that
 * forgets its message, returns garbage, an empty mount list, a negative
 * usage): those behaviours cannot be provoked from a correct driver, so a
 * table written for the purpose is the only way to test them.  Everything
 * that touches the filesystem uses the real vfs driver.
 */
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/driver-call.h"
#include "util/fs-util.h"
#include "plugin-api/driver-validate.h"
#include "plugin-api/loader.h"

/* ---- a misbehaving driver ------------------------------------------------ */

static int bad_mode;
static int bad_calls;

static int bad_open(const struct snap_driver_opts *o, void **state, struct snap_error *err)
{
	*state = NULL;
	return 0;
}
static void bad_close(void *state)
{
}
static int bad_create(void *state, const struct snap_ref *s, const struct snap_chain *p, struct snap_error *err)
{
	bad_calls++;
	return bad_mode == 0 ? -EIO /* no message */ : 7 /* not 0 or -errno */;
}
static int bad_mounts(void *state, const struct snap_ref *s, const struct snap_chain *p,
		      struct snap_mount_list *out, struct snap_error *err)
{
	bad_calls++;
	if (bad_mode == 1) {
		const char *opts[] = { "ro" };
		return out->add(out, "bind", "/x", opts, 1);
	}
	return 0; /* empty list */
}
static int bad_commit(void *state, const struct snap_ref *s, struct snap_error *err)
{
	return 0;
}
static int bad_remove(void *state, const struct snap_ref *s, struct snap_error *err)
{
	return snap_error_set(err, -EACCES, "remove %s: kept message", s->key);
}
static int bad_usage(void *state, const struct snap_ref *s, struct snap_usage *u, struct snap_error *err)
{
	u->size = -1;
	return 0;
}

static const struct snap_driver bad_driver = {
	.abi_version = SNAP_DRIVER_ABI_VERSION,
	.name = "bad",
	.open = bad_open,
	.close = bad_close,
	.create = bad_create,
	.mounts = bad_mounts,
	.commit = bad_commit,
	.remove = bad_remove,
	.usage = bad_usage,
};

static struct snap_ref ref(int kind)
{
	return (struct snap_ref){ .id = 5, .key = "k", .path = "/nonexistent/snapshots/5", .kind = kind };
}

static void test_validate(void **state)
{
	struct snap_error err = { 0 };
	ut_ok(snap_drv_validate(&bad_driver, &err), &err);

	struct snap_driver d = bad_driver;
	d.commit = NULL;
	ut_fails(snap_drv_validate(&d, &err), -EINVAL, &err);
	assert_non_null(strstr(err.message, "'commit'"));

	d = bad_driver;
	d.abi_version = (SNAP_DRIVER_ABI_MAJOR + 1) << 16;
	ut_fails(snap_drv_validate(&d, &err), -EPROTO, &err);

	d = bad_driver;
	d.name = "Bad Name";
	ut_fails(snap_drv_validate(&d, &err), -EINVAL, &err);
	d.name = NULL;
	ut_fails(snap_drv_validate(&d, &err), -EINVAL, &err);
}

static void test_postconditions(void **state)
{
	struct snap_error err = { 0 };
	struct snap_ref s = ref(SNAP_KIND_ACTIVE);
	struct snap_chain none = { 0 };

	/* A failure without a message gets a generic one naming the driver,
	 * the method and the snapshot. */
	bad_mode = 0;
	ut_fails(snap_drv_create(&bad_driver, NULL, &s, &none, &err), -EIO, &err);
	assert_non_null(strstr(err.message, "driver 'bad'"));
	assert_non_null(strstr(err.message, "create"));
	assert_non_null(strstr(err.message, "'k'"));
	/* A positive return is a driver bug. */
	bad_mode = 1;
	ut_fails(snap_drv_create(&bad_driver, NULL, &s, &none, &err), -EIO, &err);
	/* A driver's own message is kept. */
	ut_fails(snap_drv_remove(&bad_driver, NULL, &s, &err), -EACCES, &err);
	assert_non_null(strstr(err.message, "kept message"));

	/* Mount lists: empty is refused, a real one is copied. */
	struct snap_mounts m = { 0 };
	bad_mode = 0;
	ut_fails(snap_drv_mounts(&bad_driver, NULL, &s, &none, &m, &err), -EIO, &err);
	assert_int_equal(m.n, 0);
	bad_mode = 1;
	ut_ok(snap_drv_mounts(&bad_driver, NULL, &s, &none, &m, &err), &err);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.v[0].type, "bind");
	assert_string_equal(m.v[0].options[0], "ro");
	assert_null(m.v[0].options[1]);
	snap_mounts_done(&m);

	/* Negative usage is refused. */
	struct snap_usage u = { 0 };
	ut_fails(snap_drv_usage(&bad_driver, NULL, &s, &u, &err), -EIO, &err);
}

static void test_argument_checks(void **state)
{
	struct snap_error err = { 0 };
	struct snap_ref s = ref(SNAP_KIND_ACTIVE);
	struct snap_chain none = { 0 };
	bad_calls = 0;

	/* Invalid calls never reach the driver. */
	ut_fails(snap_drv_create(&bad_driver, NULL, NULL, &none, &err), -EINVAL, &err);
	ut_fails(snap_drv_create(&bad_driver, NULL, &s, NULL, &err), -EINVAL, &err);
	struct snap_ref committed = ref(SNAP_KIND_COMMITTED);
	ut_fails(snap_drv_create(&bad_driver, NULL, &committed, &none, &err), -EINVAL, &err);
	struct snap_ref odd = ref(42);
	ut_fails(snap_drv_mounts(&bad_driver, NULL, &odd, &none, &(struct snap_mounts){ 0 }, &err), -EINVAL, &err);
	/* A parent chain must be all committed. */
	struct snap_ref parents[2] = { ref(SNAP_KIND_COMMITTED), ref(SNAP_KIND_ACTIVE) };
	parents[0].id = 3;
	parents[1].id = 2;
	struct snap_chain chain = { .refs = parents, .n = 2 };
	ut_fails(snap_drv_create(&bad_driver, NULL, &s, &chain, &err), -EINVAL, &err);
	assert_non_null(strstr(err.message, "not committed"));
	/* Relative path. */
	struct snap_ref rel = ref(SNAP_KIND_ACTIVE);
	rel.path = "snapshots/5";
	ut_fails(snap_drv_create(&bad_driver, NULL, &rel, &none, &err), -EINVAL, &err);
	/* Commit of a view. */
	struct snap_ref view = ref(SNAP_KIND_VIEW);
	ut_fails(snap_drv_commit(&bad_driver, NULL, &view, &err), -EINVAL, &err);
	assert_int_equal(bad_calls, 0);
}

static void test_optional_methods(void **state)
{
	struct snap_error err = { 0 };
	struct snap_ref s = ref(SNAP_KIND_ACTIVE);
	struct snap_chain none = { 0 };
	struct snap_driver d = bad_driver;
	d.usage = NULL;

	/* Absent fast paths: -EOPNOTSUPP with a reason. */
	int fd = -1;
	ut_fails(snap_drv_open_tree(&d, NULL, &s, &fd, &err), -EOPNOTSUPP, &err);
	struct snap_change_sink sink = { .change = (void *)1 };
	ut_fails(snap_drv_diff(&d, NULL, &s, &none, &sink, &err), -EOPNOTSUPP, &err);
	ut_fails(snap_drv_mount(&d, NULL, &s, &none, "/mnt", 0, &err), -EOPNOTSUPP, &err);
	ut_fails(snap_drv_apply_whiteout(&d, NULL, 0, "x", SNAP_WHITEOUT_ENTRY, &err), -EOPNOTSUPP, &err);
	/* probe and info absent: fine. */
	ut_ok(snap_drv_probe(&d, "/", &err), &err);
	assert_false(snap_drv_has(&d, SNAP_DRV_INFO));

	/* usage absent: the core counts the directory itself. */
	char tmpl[] = "/tmp/snapctl-usage-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	_cleanup_close_ int dfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int f = openat(dfd, "a", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	char buf[8192] = { 1 };
	assert_int_equal(snap_write_all(f, buf, sizeof(buf)), 0);
	assert_int_equal(linkat(dfd, "a", dfd, "b", 0), 0);
	assert_int_equal(mkdirat(dfd, "d", 0755), 0);
	s.path = tmpl;
	struct snap_usage u = { 0 };
	ut_ok(snap_drv_usage(&d, NULL, &s, &u, &err), &err);
	assert_int_equal(u.inodes, 2); /* a (= b) and d */
	assert_true(u.size >= 8192);
	ut_rm_rf(tmpl);
}

static int frozen_calls;
static int frozen_open_tree(void *state, const struct snap_ref *s, int *ret, struct snap_error *err)
{
	frozen_calls++;
	*ret = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return *ret < 0 ? snap_error_set(err, -errno, "open /") : 0;
}

/* A committed snapshot's tree through open_tree: only from a driver that
 * sets SNAP_DRIVER_CAP_FROZEN_TREE (of minor 1 or later). */
static void test_frozen_tree(void **state)
{
	struct snap_error err = { 0 };
	struct snap_ref c = ref(SNAP_KIND_COMMITTED), a = ref(SNAP_KIND_ACTIVE);
	struct snap_driver d = bad_driver;
	d.open_tree = frozen_open_tree;
	int fd = -1;
	frozen_calls = 0;
	assert_false(snap_drv_frozen_tree(&d));
	ut_fails(snap_drv_open_tree(&d, NULL, &c, &fd, &err), -EINVAL, &err);
	assert_non_null(strstr(err.message, "committed"));
	assert_int_equal(frozen_calls, 0);
	ut_ok(snap_drv_open_tree(&d, NULL, &a, &fd, &err), &err);
	close(fd);

	d.caps = SNAP_DRIVER_CAP_FROZEN_TREE;
	assert_true(snap_drv_frozen_tree(&d));
	ut_ok(snap_drv_open_tree(&d, NULL, &c, &fd, &err), &err);
	close(fd);
	assert_int_equal(frozen_calls, 2);

	/* The flag without open_tree, or from a minor-0 driver: not frozen. */
	d.abi_version = SNAP_DRIVER_ABI_MAJOR << 16;
	assert_false(snap_drv_frozen_tree(&d));
	d.abi_version = SNAP_DRIVER_ABI_VERSION;
	d.open_tree = NULL;
	assert_false(snap_drv_frozen_tree(&d));
}

/* ---- the loader ---------------------------------------------------------- */

static void test_loader_plugins(void **state)
{
	const char *good = getenv("SNAPCTL_TEST_PLUGIN_DIR");
	const char *bad = getenv("SNAPCTL_TEST_BAD_PLUGIN_DIR");
	if (!good || !bad)
		skip();
	struct snap_loader *l = NULL;
	assert_int_equal(snap_loader_new(&l), 0);
	assert_int_equal(snap_loader_add_builtins(l), 0);
	assert_non_null(snap_loader_find(l, "vfs"));
	assert_int_equal(snap_loader_n_errors(l), 0);

	struct snap_error err = { 0 };
	int n = snap_loader_load_dir(l, good, false, &err);
	assert_true(n >= 1);
	const struct snap_loader_entry *e = snap_loader_entry(l, "vfs-plugin");
	assert_non_null(e);
	assert_false(e->builtin);
	assert_non_null(strstr(e->origin, ".so"));

	/* The bad ones: each refused with its reason, the loader goes on. */
	size_t before = snap_loader_count(l);
	n = snap_loader_load_dir(l, bad, false, &err);
	assert_true(n >= 0);
	assert_int_equal(snap_loader_count(l), before);
	bool saw_abi = false, saw_symbol = false, saw_dup = false;
	for (size_t i = 0; i < snap_loader_n_errors(l); i++) {
		const char *m = snap_loader_error(l, i);
		saw_abi |= strstr(m, "bad-abi.so") && strstr(m, "ABI");
		saw_symbol |= strstr(m, "no-symbol.so") && strstr(m, "snap_driver_entry");
		saw_dup |= strstr(m, "dup-name.so") && strstr(m, "already registered");
	}
	assert_true(saw_abi);
	assert_true(saw_symbol);
	assert_true(saw_dup);

	/* A missing directory: an error for an explicit one, nothing for an
	 * optional one; in a path list it is recorded and others go on. */
	ut_fails(snap_loader_load_dir(l, "/nonexistent-plugins", false, &err), -ENOENT, &err);
	assert_int_equal(snap_loader_load_dir(l, "/nonexistent-plugins", true, &err), 0);
	size_t errs = snap_loader_n_errors(l);
	assert_true(snap_loader_load_path(l, "/nonexistent-a:/nonexistent-b") == 0);
	assert_int_equal(snap_loader_n_errors(l), errs + 2);

	/* Adding a builtin twice is a duplicate. */
	ut_fails(snap_loader_add(l, snap_loader_find(l, "vfs"), "again", NULL, &err), -EEXIST, &err);
	snap_loader_free(l);
}

static void test_core_on_plugin(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	if (!getenv("SNAPCTL_TEST_PLUGIN_DIR"))
		skip();
	/* The dlopen()ed copy of vfs runs the core like the built-in one. */
	ut_ok(ut_open(r, "vfs-plugin", 0, &err), &err);
	assert_string_equal(snap_core_driver_name(r->core), "vfs-plugin");
	ut_ok(snap_prepare(r->core, "a", NULL, NULL, NULL, &err), &err);
	ut_write(r->core, "a", "f", "x");
	ut_ok(snap_commit(r->core, "b", "a", NULL, &err), &err);
	ut_ok(snap_prepare(r->core, "c", "b", NULL, NULL, &err), &err);
	_cleanup_free_ char *d = ut_read(r->core, "c", "f");
	assert_string_equal(d, "x");
	ut_ok(snap_remove(r->core, "c", &err), &err);
	ut_ok(snap_remove(r->core, "b", &err), &err);
}

static void test_bad_plugin_warnings_reach_notice(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	const char *bad = getenv("SNAPCTL_TEST_BAD_PLUGIN_DIR");
	if (!bad)
		skip();
	struct snap_core_opts opts = { .root = r->root, .driver = "vfs", .plugin_dir = bad };
	struct snap_core *c = NULL;
	/* The open succeeds with the other drivers; warnings are kept. */
	ut_ok(snap_core_open(&opts, &c, &err), &err);
	assert_true(snap_loader_n_errors(snap_core_loader(c)) >= 3);
	snap_core_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_postconditions),
		cmocka_unit_test(test_argument_checks),
		cmocka_unit_test(test_optional_methods),
		cmocka_unit_test(test_frozen_tree),
		cmocka_unit_test(test_loader_plugins),
		cmocka_unit_test_setup_teardown(test_core_on_plugin, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_bad_plugin_warnings_reach_notice, ut_setup_noopen, ut_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
