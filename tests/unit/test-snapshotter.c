/* SPDX-License-Identifier: Apache-2.0 */
/* containerd snapshotter semantics of the core, on the real vfs driver:
 * every operation and every error path with its errno. */
#include "test-util.h"

#include <errno.h>

#include "check.h"
#include "core-internal.h"

static void test_lifecycle(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };
	struct snap_mounts m = { 0 };

	assert_string_equal(snap_core_driver_name(c), "vfs");
	ut_ok(snap_prepare(c, "base-active", NULL, NULL, &m, &err), &err);
	assert_true(m.n >= 1);
	assert_non_null(m.v[0].type);
	snap_mounts_done(&m);
	ut_write(c, "base-active", "hello", "world");

	struct snap_info info = { 0 };
	ut_ok(snap_stat(c, "base-active", &info, &err), &err);
	assert_int_equal(info.kind, SNAP_KIND_ACTIVE);
	assert_null(info.parent);
	assert_true(info.created_ns > 0);
	snap_info_done(&info);

	ut_ok(snap_commit(c, "base", "base-active", NULL, &err), &err);
	/* The active key is gone; the committed name exists. */
	ut_fails(snap_stat(c, "base-active", &info, &err), -ENOENT, &err);
	ut_ok(snap_stat(c, "base", &info, &err), &err);
	assert_int_equal(info.kind, SNAP_KIND_COMMITTED);
	snap_info_done(&info);

	/* A child sees the parent's file and writes its own. */
	ut_ok(snap_prepare(c, "child", "base", NULL, NULL, &err), &err);
	_cleanup_free_ char *data = ut_read(c, "child", "hello");
	assert_non_null(data);
	assert_string_equal(data, "world");
	ut_write(c, "child", "hello", "child");
	_cleanup_free_ char *again = ut_read(c, "child", "hello");
	assert_string_equal(again, "child");
	ut_ok(snap_stat(c, "child", &info, &err), &err);
	assert_string_equal(info.parent, "base");
	snap_info_done(&info);

	/* A view of the parent. */
	ut_ok(snap_view(c, "look", "base", NULL, &m, &err), &err);
	assert_true(m.n >= 1);
	snap_mounts_done(&m);
	ut_ok(snap_stat(c, "look", &info, &err), &err);
	assert_int_equal(info.kind, SNAP_KIND_VIEW);
	snap_info_done(&info);

	/* Mounts of an active snapshot and a view; not of a committed one. */
	ut_ok(snap_mounts_get(c, "child", &m, &err), &err);
	snap_mounts_done(&m);
	ut_fails(snap_mounts_get(c, "base", &m, &err), -EBUSY, &err);

	assert_int_equal(ut_count(c, NULL), 3);
	ut_ok(snap_remove(c, "look", &err), &err);
	ut_ok(snap_remove(c, "child", &err), &err);
	ut_ok(snap_remove(c, "base", &err), &err);
	assert_int_equal(ut_count(c, NULL), 0);

	/* Nothing left on disk, nothing for check to find. */
	assert_int_equal(snap_check(c, false, NULL, NULL, &err), 0);
}

static void test_prepare_errors(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };

	ut_ok(snap_prepare(c, "a", NULL, NULL, NULL, &err), &err);
	/* A key that exists (active). */
	ut_fails(snap_prepare(c, "a", NULL, NULL, NULL, &err), -EEXIST, &err);
	assert_non_null(strstr(err.message, "already exists"));
	ut_fails(snap_view(c, "a", NULL, NULL, NULL, &err), -EEXIST, &err);
	/* A parent that is active: InvalidArgument, as containerd. */
	ut_fails(snap_prepare(c, "b", "a", NULL, NULL, &err), -EINVAL, &err);
	assert_non_null(strstr(err.message, "not a committed snapshot"));
	ut_fails(snap_view(c, "b", "a", NULL, NULL, &err), -EINVAL, &err);
	/* A parent that does not exist. */
	ut_fails(snap_prepare(c, "b", "nope", NULL, NULL, &err), -ENOENT, &err);
	/* An empty key. */
	ut_fails(snap_prepare(c, "", NULL, NULL, NULL, &err), -EINVAL, &err);
	/* A key that exists (committed). */
	ut_ok(snap_commit(c, "a-committed", "a", NULL, &err), &err);
	ut_fails(snap_prepare(c, "a-committed", NULL, NULL, NULL, &err), -EEXIST, &err);
	/* Nothing of the refused calls is left behind. */
	assert_int_equal(ut_count(c, NULL), 1);
	assert_int_equal(snap_check(c, false, NULL, NULL, &err), 0);
}

static void test_commit_errors(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };

	ut_ok(snap_prepare(c, "a", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_prepare(c, "b", NULL, NULL, NULL, &err), &err);
	/* Commit onto a name that exists. */
	ut_fails(snap_commit(c, "b", "a", NULL, &err), -EEXIST, &err);
	/* Commit of a missing key. */
	ut_fails(snap_commit(c, "x", "missing", NULL, &err), -ENOENT, &err);
	ut_ok(snap_commit(c, "a1", "a", NULL, &err), &err);
	/* A committed snapshot cannot be committed again. */
	ut_fails(snap_commit(c, "a2", "a1", NULL, &err), -EBUSY, &err);
	/* A view cannot be committed (FailedPrecondition). */
	ut_ok(snap_view(c, "v", "a1", NULL, NULL, &err), &err);
	ut_fails(snap_commit(c, "v1", "v", NULL, &err), -EBUSY, &err);
	assert_non_null(strstr(err.message, "view"));
	/* The refused commits changed nothing. */
	struct snap_info info = { 0 };
	ut_ok(snap_stat(c, "v", &info, &err), &err);
	assert_int_equal(info.kind, SNAP_KIND_VIEW);
	snap_info_done(&info);
	ut_ok(snap_stat(c, "b", &info, &err), &err);
	assert_int_equal(info.kind, SNAP_KIND_ACTIVE);
	snap_info_done(&info);
}

static void test_remove_rules(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };

	ut_fails(snap_remove(c, "missing", &err), -ENOENT, &err);
	ut_ok(snap_prepare(c, "p-a", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_commit(c, "p", "p-a", NULL, &err), &err);
	ut_ok(snap_prepare(c, "c1", "p", NULL, NULL, &err), &err);
	ut_ok(snap_view(c, "v1", "p", NULL, NULL, &err), &err);
	/* Children exist: refused (FailedPrecondition), nothing changes. */
	ut_fails(snap_remove(c, "p", &err), -EBUSY, &err);
	assert_non_null(strstr(err.message, "child"));
	assert_int_equal(ut_count(c, NULL), 3);
	ut_ok(snap_remove(c, "c1", &err), &err);
	ut_fails(snap_remove(c, "p", &err), -EBUSY, &err);
	ut_ok(snap_remove(c, "v1", &err), &err);
	ut_ok(snap_remove(c, "p", &err), &err);
	assert_int_equal(ut_count(c, NULL), 0);

	/* Removing an intermediate committed snapshot once its children are
	 * gone, leaving the chain below intact. */
	ut_ok(snap_prepare(c, "l1-a", NULL, NULL, NULL, &err), &err);
	ut_write(c, "l1-a", "f", "1");
	ut_ok(snap_commit(c, "l1", "l1-a", NULL, &err), &err);
	ut_ok(snap_prepare(c, "l2-a", "l1", NULL, NULL, &err), &err);
	ut_ok(snap_commit(c, "l2", "l2-a", NULL, &err), &err);
	ut_ok(snap_prepare(c, "top", "l2", NULL, NULL, &err), &err);
	ut_fails(snap_remove(c, "l2", &err), -EBUSY, &err);
	ut_ok(snap_remove(c, "top", &err), &err);
	ut_ok(snap_remove(c, "l2", &err), &err);
	ut_ok(snap_prepare(c, "again", "l1", NULL, NULL, &err), &err);
	_cleanup_free_ char *d = ut_read(c, "again", "f");
	assert_string_equal(d, "1");
	assert_int_equal(snap_check(c, false, NULL, NULL, &err), 0);
}

static void test_labels(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };
	_cleanup_(snap_labels_done) struct snap_labels l = { 0 };

	/* A label without '=' is refused by the parser. */
	assert_int_equal(snap_labels_parse_kv(&l, "novalue"), -EINVAL);
	assert_int_equal(snap_labels_parse_kv(&l, "=v"), -EINVAL);

	ut_labels(&l, "a=1", "b=2", "x.y/z=3", NULL);
	ut_ok(snap_prepare(c, "k", NULL, &l, NULL, &err), &err);
	struct snap_info info = { 0 };
	ut_ok(snap_stat(c, "k", &info, &err), &err);
	assert_int_equal(info.labels.n, 3);
	assert_string_equal(snap_labels_get(&info.labels, "x.y/z"), "3");
	int64_t created = info.created_ns, updated = info.updated_ns;
	snap_info_done(&info);

	/* Edits: K=V sets, K= removes. */
	_cleanup_(snap_labels_done) struct snap_labels e = { 0 };
	ut_labels(&e, "a=10", "b=", "c=3", NULL);
	ut_ok(snap_label_edit(c, "k", &e, &err), &err);
	ut_ok(snap_stat(c, "k", &info, &err), &err);
	assert_string_equal(snap_labels_get(&info.labels, "a"), "10");
	assert_null(snap_labels_get(&info.labels, "b"));
	assert_string_equal(snap_labels_get(&info.labels, "c"), "3");
	assert_int_equal(info.created_ns, created);
	assert_true(info.updated_ns >= updated);
	snap_info_done(&info);

	/* update with field paths: only the named labels change; a named
	 * label absent from the input is removed. */
	_cleanup_(snap_labels_done) struct snap_labels u = { 0 };
	ut_labels(&u, "a=100", "c=ignored", "new=n", NULL);
	const char *paths[] = { "labels.a", "labels.x.y/z", "labels.new" };
	ut_ok(snap_update(c, "k", &u, paths, 3, &info, &err), &err);
	assert_string_equal(snap_labels_get(&info.labels, "a"), "100");
	assert_string_equal(snap_labels_get(&info.labels, "c"), "3");
	assert_string_equal(snap_labels_get(&info.labels, "new"), "n");
	assert_null(snap_labels_get(&info.labels, "x.y/z"));
	snap_info_done(&info);
	/* Without paths: all labels replaced. */
	ut_ok(snap_update(c, "k", &u, NULL, 0, &info, &err), &err);
	assert_int_equal(info.labels.n, 3);
	assert_string_equal(snap_labels_get(&info.labels, "c"), "ignored");
	snap_info_done(&info);
	/* An unknown field path. */
	const char *bad[] = { "kind" };
	ut_fails(snap_update(c, "k", &u, bad, 1, NULL, &err), -EINVAL, &err);
	ut_fails(snap_update(c, "missing", &u, NULL, 0, NULL, &err), -ENOENT, &err);

	/* Commit labels replace, never inherit (containerd). */
	_cleanup_(snap_labels_done) struct snap_labels cl = { 0 };
	ut_labels(&cl, "committed=yes", NULL);
	ut_ok(snap_commit(c, "k-c", "k", &cl, &err), &err);
	ut_ok(snap_stat(c, "k-c", &info, &err), &err);
	assert_int_equal(info.labels.n, 1);
	assert_string_equal(snap_labels_get(&info.labels, "committed"), "yes");
	snap_info_done(&info);
}

/* The unpacker's proof label: only snap_core_commit_proven sets it; every
 * client path refuses it (-EINVAL), and update never drops it. */
static void test_reserved_labels(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };
	_cleanup_(snap_labels_done) struct snap_labels proof = { 0 };
	_cleanup_(snap_labels_done) struct snap_labels other = { 0 };
	ut_labels(&proof, SNAP_LABEL_UNPACK_DIFF_ID "=sha256:00", NULL);
	ut_labels(&other, "snapctl.unpack.anything=1", "mine=1", NULL);

	ut_fails(snap_prepare(c, "k", NULL, &proof, NULL, &err), -EINVAL, &err);
	assert_non_null(strstr(err.message, "reserved"));
	ut_fails(snap_view(c, "k", NULL, &other, NULL, &err), -EINVAL, &err);
	ut_ok(snap_prepare(c, "k", NULL, NULL, NULL, &err), &err);
	ut_fails(snap_commit(c, "k-c", "k", &proof, &err), -EINVAL, &err);
	ut_fails(snap_label_edit(c, "k", &other, &err), -EINVAL, &err);
	ut_fails(snap_update(c, "k", &proof, NULL, 0, NULL, &err), -EINVAL, &err);

	ut_ok(snap_core_commit_proven(c, "k-c", "k", &proof, NULL, &err), &err);
	struct snap_info info = { 0 };
	/* Removing it by name, by edit or by a replace-all update: refused or
	 * kept. */
	_cleanup_(snap_labels_done) struct snap_labels mine = { 0 };
	ut_labels(&mine, "mine=2", NULL);
	const char *named[] = { "labels." SNAP_LABEL_UNPACK_DIFF_ID };
	ut_fails(snap_update(c, "k-c", &mine, named, 1, NULL, &err), -EINVAL, &err);
	_cleanup_(snap_labels_done) struct snap_labels rm = { 0 };
	ut_labels(&rm, SNAP_LABEL_UNPACK_DIFF_ID "=", NULL);
	ut_fails(snap_label_edit(c, "k-c", &rm, &err), -EINVAL, &err);
	const char *all[] = { "labels" };
	ut_ok(snap_update(c, "k-c", &mine, all, 1, NULL, &err), &err);
	ut_ok(snap_update(c, "k-c", &mine, NULL, 0, &info, &err), &err);
	assert_int_equal(info.labels.n, 2);
	assert_string_equal(snap_labels_get(&info.labels, SNAP_LABEL_UNPACK_DIFF_ID), "sha256:00");
	assert_string_equal(snap_labels_get(&info.labels, "mine"), "2");
	snap_info_done(&info);
}

static int count_cb(const struct snap_info *info, void *userdata)
{
	(*(size_t *)userdata)++;
	return 0;
}

static void test_walk_filters(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };
	_cleanup_(snap_labels_done) struct snap_labels l = { 0 };
	ut_labels(&l, "team=a", "dotted.key=v", NULL);

	ut_ok(snap_prepare(c, "base-a", NULL, &l, NULL, &err), &err);
	ut_ok(snap_commit(c, "base", "base-a", &l, &err), &err);
	ut_ok(snap_prepare(c, "act1", "base", NULL, NULL, &err), &err);
	ut_ok(snap_prepare(c, "act2", NULL, &l, NULL, &err), &err);
	ut_ok(snap_view(c, "view1", "base", NULL, NULL, &err), &err);

	assert_int_equal(ut_count(c, NULL), 4);
	assert_int_equal(ut_count(c, "kind==committed"), 1);
	assert_int_equal(ut_count(c, "kind==active"), 2);
	assert_int_equal(ut_count(c, "kind==view"), 1);
	assert_int_equal(ut_count(c, "kind!=active"), 2);
	assert_int_equal(ut_count(c, "parent==base"), 2);
	assert_int_equal(ut_count(c, "name==act1"), 1);
	assert_int_equal(ut_count(c, "name~=^act"), 2);
	assert_int_equal(ut_count(c, "labels.team==a"), 2);
	assert_int_equal(ut_count(c, "labels.team"), 2);
	assert_int_equal(ut_count(c, "labels.\"dotted.key\"==v"), 2);
	assert_int_equal(ut_count(c, "labels.dotted.key==v"), 2);
	assert_int_equal(ut_count(c, "labels.team==a,kind==active"), 1);
	assert_int_equal(ut_count(c, "labels.team==\"a\", kind==committed"), 1);
	assert_int_equal(ut_count(c, "labels.nope"), 0);

	/* Several filters are ORed. */
	size_t n = 0;
	const char *any[] = { "kind==view", "name==act2" };
	ut_ok(snap_walk(c, any, 2, count_cb, &n, &err), &err);
	assert_int_equal(n, 2);

	/* Invalid filters. */
	const char *bad[] = { "kind=active" };
	ut_fails(snap_walk(c, bad, 1, count_cb, NULL, &err), -EINVAL, &err);
	const char *bad2[] = { "labels.\"unterminated==x" };
	ut_fails(snap_walk(c, bad2, 1, count_cb, NULL, &err), -EINVAL, &err);
	const char *bad3[] = { "name~=(" };
	ut_fails(snap_walk(c, bad3, 1, count_cb, NULL, &err), -EINVAL, &err);
}

struct collect {
	char names[8][32];
	size_t n;
};

static int collect_cb(const struct snap_info *info, void *userdata)
{
	struct collect *col = userdata;
	if (col->n < 8)
		snprintf(col->names[col->n++], 32, "%s", info->key);
	return col->n == 2 ? 1 : 0; /* stop after two */
}

static void test_walk_order_and_stop(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };
	ut_ok(snap_prepare(c, "c", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_prepare(c, "a", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_prepare(c, "b", NULL, NULL, NULL, &err), &err);
	struct collect col = { 0 };
	ut_ok(snap_walk(c, NULL, 0, collect_cb, &col, &err), &err);
	assert_int_equal(col.n, 2);
	assert_string_equal(col.names[0], "a");
	assert_string_equal(col.names[1], "b");
}

static void test_usage(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };
	ut_ok(snap_prepare(c, "u", NULL, NULL, NULL, &err), &err);
	struct snap_usage before = { 0 }, after = { 0 }, stored = { 0 };
	ut_ok(snap_usage_get(c, "u", &before, &err), &err);
	char big[64 * 1024];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ut_write(c, "u", "big", big);
	ut_ok(snap_usage_get(c, "u", &after, &err), &err);
	assert_true(after.size > before.size);
	assert_true(after.inodes > before.inodes);
	ut_ok(snap_commit(c, "u-c", "u", NULL, &err), &err);
	ut_ok(snap_usage_get(c, "u-c", &stored, &err), &err);
	assert_int_equal(stored.size, after.size);
	assert_int_equal(stored.inodes, after.inodes);
	ut_fails(snap_usage_get(c, "nope", &stored, &err), -ENOENT, &err);
}

static void test_chain(void **state)
{
	struct ut_root *r = *state;
	struct snap_core *c = r->core;
	struct snap_error err = { 0 };
	char key[32], parent[32] = "";
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "l%d-a", i);
		ut_ok(snap_prepare(c, key, parent[0] ? parent : NULL, NULL, NULL, &err), &err);
		char f[16];
		snprintf(f, sizeof(f), "f%d", i);
		ut_write(c, key, f, f);
		snprintf(parent, sizeof(parent), "l%d", i);
		ut_ok(snap_commit(c, parent, key, NULL, &err), &err);
	}
	ut_ok(snap_prepare(c, "top", "l4", NULL, NULL, &err), &err);
	struct snap_chain_owned ch = { 0 };
	ut_ok(snap_chain_get(c, "top", &ch, &err), &err);
	assert_int_equal(ch.n, 5);
	/* Nearest first. */
	assert_string_equal(ch.parents[0].key, "l4");
	assert_string_equal(ch.parents[4].key, "l0");
	for (size_t i = 0; i < ch.n; i++)
		assert_int_equal(ch.parents[i].kind, SNAP_KIND_COMMITTED);
	assert_int_equal(ch.self.kind, SNAP_KIND_ACTIVE);
	snap_chain_done(&ch);
	for (int i = 0; i < 5; i++) {
		char f[16];
		snprintf(f, sizeof(f), "f%d", i);
		_cleanup_free_ char *d = ut_read(c, "top", f);
		assert_non_null(d);
		assert_string_equal(d, f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_prepare_errors, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_commit_errors, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_remove_rules, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_labels, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_reserved_labels, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_walk_filters, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_walk_order_and_stop, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_usage, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_chain, ut_setup, ut_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
