/* SPDX-License-Identifier: Apache-2.0 */
/* check / cleanup / gc: crash leftovers are simulated the way a crash
 * leaves them (rows in an intermediate state, directories without rows,
 * staging directories, mounts on removed snapshots) and must be found,
 * repaired when safe, and live work must be left alone. */
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "util/fs-util.h"

struct findings {
	int kinds[16];
	int repaired[16];
	size_t n;
};

static void on_item(const struct snap_check_item *item, void *userdata)
{
	struct findings *f = userdata;
	assert_non_null(item->object);
	assert_non_null(item->message);
	if (f->n < 16) {
		f->kinds[f->n] = item->kind;
		f->repaired[f->n] = item->repaired;
		f->n++;
	}
}

static bool found(const struct findings *f, int kind)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->kinds[i] == kind)
			return true;
	return false;
}

static void sql(struct snap_core *c, const char *q)
{
	char *msg = NULL;
	if (sqlite3_exec(snap_core_db(c), q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", q, msg);
}

static int64_t id_of(struct snap_core *c, const char *key)
{
	struct snap_info info = { 0 };
	struct snap_error err = { 0 };
	ut_ok(snap_stat(c, key, &info, &err), &err);
	int64_t id = (int64_t)info.id;
	snap_info_done(&info);
	return id;
}

static bool snapdir_exists(struct ut_root *r, int64_t id)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/snapshots/%lld", r->root, (long long)id);
	struct stat st;
	return stat(p, &st) == 0;
}

static void test_clean_root(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(snap_prepare(r->core, "a", NULL, NULL, NULL, &err), &err);
	struct findings f = { 0 };
	assert_int_equal(snap_check(r->core, false, on_item, &f, &err), 0);
	assert_int_equal(f.n, 0);
}

static void test_orphan_dir(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	char p[4096];
	snprintf(p, sizeof(p), "%s/snapshots/4242/fs/sub", r->root);
	assert_int_equal(snap_mkdir_p(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/snapshots/not-an-id", r->root);
	assert_int_equal(mkdir(p, 0700), 0);

	struct findings f = { 0 };
	assert_int_equal(snap_check(r->core, false, on_item, &f, &err), 2);
	assert_true(found(&f, SNAP_CHECK_ORPHAN_DIR));
	assert_true(found(&f, SNAP_CHECK_UNKNOWN_ENTRY));
	assert_true(snapdir_exists(r, 4242)); /* check alone changes nothing */

	f = (struct findings){ 0 };
	/* The unknown entry is never touched: one finding remains. */
	assert_int_equal(snap_check(r->core, true, on_item, &f, &err), 1);
	assert_false(snapdir_exists(r, 4242));
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(snap_check(r->core, false, NULL, NULL, &err), 0);
}

/* An apply that died half-way leaves its undo directory in the tree: check
 * reports it (not repairable: the journal died with the process) and leaves
 * the snapshot alone; a live apply's directory is not reported. */
static void test_interrupted_apply(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(snap_prepare(r->core, "a", NULL, NULL, NULL, &err), &err);
	char dead[4096], live[4096];
	/* A pid above pid_max is never alive. */
	snprintf(dead, sizeof(dead), "%s/snapshots/%lld/fs/.snapctl-apply-99999999", r->root,
		 (long long)id_of(r->core, "a"));
	snprintf(live, sizeof(live), "%s/snapshots/%lld/fs/.snapctl-apply-%d", r->root,
		 (long long)id_of(r->core, "a"), (int)getpid());
	assert_int_equal(mkdir(dead, 0700), 0);
	assert_int_equal(mkdir(live, 0700), 0);

	struct findings f = { 0 };
	assert_int_equal(snap_check(r->core, true, on_item, &f, &err), 1);
	assert_int_equal(f.n, 1);
	assert_true(found(&f, SNAP_CHECK_INTERRUPTED_APPLY));
	assert_false(f.repaired[0]);
	struct stat st;
	assert_int_equal(stat(dead, &st), 0); /* left alone */
	assert_int_equal(rmdir(dead), 0);
	assert_int_equal(snap_check(r->core, false, NULL, NULL, &err), 0);
	assert_int_equal(rmdir(live), 0);
}

static void test_stale_creating_row(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	/* A process died between inserting the row and publishing it. */
	sql(r->core, "INSERT INTO snapshots(key, kind, state, created_ns, updated_ns) "
		     "VALUES ('half', 2, 1, 1, 1)");
	int64_t id = sqlite3_last_insert_rowid(snap_core_db(r->core));
	char p[4096];
	snprintf(p, sizeof(p), "%s/snapshots/%lld/fs", r->root, (long long)id);
	assert_int_equal(snap_mkdir_p(p, 0700), 0);

	/* Invisible, but its key is taken until repaired. */
	struct snap_info info = { 0 };
	ut_fails(snap_stat(r->core, "half", &info, &err), -ENOENT, &err);
	assert_int_equal(ut_count(r->core, NULL), 0);
	ut_fails(snap_prepare(r->core, "half", NULL, NULL, NULL, &err), -EEXIST, &err);

	struct findings f = { 0 };
	assert_int_equal(snap_check(r->core, false, on_item, &f, &err), 1);
	assert_true(found(&f, SNAP_CHECK_STALE_CREATING));
	f = (struct findings){ 0 };
	assert_int_equal(snap_check(r->core, true, on_item, &f, &err), 0);
	assert_true(f.repaired[0]);
	assert_false(snapdir_exists(r, id));
	ut_ok(snap_prepare(r->core, "half", NULL, NULL, NULL, &err), &err);
}

static void test_stale_committing_row(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(snap_prepare(r->core, "c", NULL, NULL, NULL, &err), &err);
	sql(r->core, "UPDATE snapshots SET state = 2 WHERE key = 'c'");
	/* Mid-commit: busy for commit and remove. */
	ut_fails(snap_commit(r->core, "c1", "c", NULL, &err), -EBUSY, &err);
	ut_fails(snap_remove(r->core, "c", &err), -EBUSY, &err);

	struct findings f = { 0 };
	assert_int_equal(snap_check(r->core, true, on_item, &f, &err), 0);
	assert_true(found(&f, SNAP_CHECK_STALE_COMMITTING));
	ut_ok(snap_commit(r->core, "c1", "c", NULL, &err), &err);
}

static void test_dead_commit_reservation(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(snap_prepare(r->core, "c", NULL, NULL, NULL, &err), &err);
	int64_t id = id_of(r->core, "c");
	/* What a commit of c as c1 leaves when it dies after txn 1. */
	char q[256];
	snprintf(q, sizeof(q),
		 "INSERT INTO snapshots(key, parent_id, kind, state, created_ns, updated_ns) "
		 "VALUES ('c1', %lld, 0, 1, 1, 1); UPDATE snapshots SET state = 2 WHERE id = %lld",
		 (long long)id, (long long)id);
	sql(r->core, q);
	/* The reserved name is taken but invisible. */
	struct snap_info info = { 0 };
	ut_fails(snap_stat(r->core, "c1", &info, &err), -ENOENT, &err);
	ut_fails(snap_prepare(r->core, "c1", NULL, NULL, NULL, &err), -EEXIST, &err);
	ut_fails(snap_prepare(r->core, "child", "c1", NULL, NULL, &err), -ENOENT, &err);
	assert_int_equal(ut_count(r->core, NULL), 1);

	/* While the committer's directory is locked (a live commit), check
	 * leaves both rows alone. */
	char p[4096];
	snprintf(p, sizeof(p), "%s/snapshots/%lld", r->root, (long long)id);
	int lock = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(lock >= 0);
	assert_int_equal(flock(lock, LOCK_EX | LOCK_NB), 0);
	struct findings f = { 0 };
	assert_int_equal(snap_check(r->core, true, on_item, &f, &err), 0);
	assert_int_equal(f.n, 0);
	close(lock);

	f = (struct findings){ 0 };
	assert_int_equal(snap_check(r->core, true, on_item, &f, &err), 0);
	assert_true(found(&f, SNAP_CHECK_STALE_COMMITTING));
	assert_true(found(&f, SNAP_CHECK_STALE_RESERVATION));
	ut_ok(snap_commit(r->core, "c1", "c", NULL, &err), &err);
	ut_ok(snap_stat(r->core, "c1", &info, &err), &err);
	assert_int_equal(info.kind, SNAP_KIND_COMMITTED);
	snap_info_done(&info);
	assert_int_equal(snap_check(r->core, false, NULL, NULL, &err), 0);
}

static void test_metadata_foreign_key(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	/* What an old tool writing with foreign keys off could leave. */
	sql(r->core, "PRAGMA foreign_keys = OFF; "
		     "INSERT INTO snapshots(key, parent_id, kind, state, created_ns, updated_ns) "
		     "VALUES ('dangling', 9999, 2, 0, 1, 1); PRAGMA foreign_keys = ON");
	struct findings f = { 0 };
	int n = snap_check(r->core, false, on_item, &f, &err);
	assert_true(n >= 1);
	assert_true(found(&f, SNAP_CHECK_METADATA));
}

static void test_missing_dir(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(snap_prepare(r->core, "p-a", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_commit(r->core, "p", "p-a", NULL, &err), &err);
	ut_ok(snap_prepare(r->core, "child", "p", NULL, NULL, &err), &err);
	int64_t pid = id_of(r->core, "p"), cid = id_of(r->core, "child");
	char name[32];
	_cleanup_close_ int sfd = -EBADF;
	char p[4096];
	snprintf(p, sizeof(p), "%s/snapshots", r->root);
	sfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(name, sizeof(name), "%lld", (long long)pid);
	assert_int_equal(snap_rm_rf_at(sfd, name), 0);
	snprintf(name, sizeof(name), "%lld", (long long)cid);
	assert_int_equal(snap_rm_rf_at(sfd, name), 0);

	/* Both missing; only the leaf can be dropped. */
	struct findings f = { 0 };
	assert_int_equal(snap_check(r->core, true, on_item, &f, &err), 1);
	assert_int_equal(f.n, 2);
	assert_int_equal(ut_count(r->core, NULL), 1);
	/* With the child gone the parent goes on the next run. */
	assert_int_equal(snap_check(r->core, true, NULL, NULL, &err), 0);
	assert_int_equal(ut_count(r->core, NULL), 0);
}

static void test_staging(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	char p[4096];
	snprintf(p, sizeof(p), "%s/tmp/unpack-dead/deep", r->root);
	assert_int_equal(snap_mkdir_p(p, 0700), 0);
	/* A live staging dir of this very core is left alone. */
	_cleanup_free_ char *live = NULL;
	ut_ok(snap_core_mkstaging(r->core, "unpack", &live, &err), &err);

	struct findings f = { 0 };
	assert_int_equal(snap_check(r->core, false, on_item, &f, &err), 1);
	assert_true(found(&f, SNAP_CHECK_STAGING_LEFTOVER));
	struct snap_gc_stats stats = { 0 };
	ut_ok(snap_gc(r->core, &stats, &err), &err);
	assert_int_equal(stats.staging_removed, 1);
	struct stat st;
	assert_int_equal(stat(live, &st), 0);
	snprintf(p, sizeof(p), "%s/tmp/unpack-dead", r->root);
	assert_int_equal(stat(p, &st), -1);

	/* Once released (renamed or removed by its owner) it is fair game. */
	snap_core_staging_done(r->core, live);
	ut_ok(snap_cleanup(r->core, &err), &err);
	assert_int_equal(stat(live, &st), -1);
}

static void test_stale_mount(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	if (geteuid() != 0)
		skip();
	char p[4096];
	snprintf(p, sizeof(p), "%s/snapshots/777/fs", r->root);
	assert_int_equal(snap_mkdir_p(p, 0700), 0);
	if (mount("snapctl-test", p, "tmpfs", 0, "size=64k") < 0) {
		print_message("cannot mount tmpfs here (%s)\n", strerror(errno));
		skip();
	}
	struct findings f = { 0 };
	int n = snap_check(r->core, true, on_item, &f, &err);
	if (n != 0)
		umount2(p, MNT_DETACH);
	assert_int_equal(n, 0);
	assert_true(found(&f, SNAP_CHECK_STALE_MOUNT));
	assert_true(found(&f, SNAP_CHECK_ORPHAN_DIR));
	assert_false(snapdir_exists(r, 777));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_root, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_orphan_dir, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_interrupted_apply, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_stale_creating_row, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_stale_committing_row, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_dead_commit_reservation, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_metadata_foreign_key, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_staging, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_stale_mount, ut_setup, ut_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
