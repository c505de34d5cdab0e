/* SPDX-License-Identifier: Apache-2.0 */
/* Opening a root: driver choice and refusal, the metadata database (not a
 * database, migrations, newer schema), and several processes on one root. */
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "check.h"
#include "container-store.h"
#include "store.h"

static bool exists(const char *dir, const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	struct stat st;
	return stat(p, &st) == 0;
}

static void test_unknown_driver(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_fails(ut_open(r, "nosuchdriver", 0, &err), -EINVAL, &err);
	assert_non_null(strstr(err.message, "unknown driver 'nosuchdriver'"));
	assert_non_null(strstr(err.message, "vfs")); /* lists what exists */
	/* Nothing was created. */
	assert_false(exists(r->root, ""));
}

static void test_root_keeps_its_driver(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	ut_ok(snap_prepare(r->core, "k", NULL, NULL, NULL, &err), &err);
	ut_close(r);

	/* Another driver on this root: an error naming both. */
	ut_fails(ut_open(r, "vfs-plugin", 0, &err), -EINVAL, &err);
	assert_non_null(strstr(err.message, "'vfs'"));
	assert_non_null(strstr(err.message, "'vfs-plugin'"));
	assert_null(r->core);

	/* auto and the same name open it. */
	ut_ok(ut_open(r, "auto", 0, &err), &err);
	assert_string_equal(snap_core_driver_name(r->core), "vfs");
	assert_int_equal(ut_count(r->core, NULL), 1);
	ut_close(r);
	ut_ok(ut_open(r, NULL, 0, &err), &err);
	assert_string_equal(snap_core_driver_name(r->core), "vfs");
}

static void test_auto_on_fresh_root(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(ut_open(r, "auto", 0, &err), &err);
	/* overlay where its probe passes, else vfs. */
	const char *name = snap_core_driver_name(r->core);
	assert_true(strcmp(name, "overlay") == 0 || strcmp(name, "vfs") == 0);
	assert_true(exists(r->root, "metadata.db"));
	assert_true(exists(r->root, "snapshots"));
	assert_true(exists(r->root, "tmp"));
	assert_true(exists(r->root, "content/sha256"));
}

static void test_not_a_database(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	assert_int_equal(snap_mkdir_p(r->root, 0700), 0);
	char junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)('a' + i % 26);
	_cleanup_close_ int dfd = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(snap_write_file_atomic_at(dfd, "metadata.db", junk, sizeof(junk), 0600), 0);

	ut_fails(ut_open(r, "vfs", 0, &err), -EINVAL, &err);
	_cleanup_free_ char *real = realpath(r->root, NULL);
	assert_non_null(real);
	char want[4200];
	snprintf(want, sizeof(want), "open metadata %s/metadata.db: file is not a database", real);
	assert_string_equal(err.message, want);

	/* Nothing changed: same bytes, no journal, no subdirectories. */
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(snap_read_file_at(dfd, "metadata.db", 1 << 20, &data, &len), 0);
	assert_int_equal(len, sizeof(junk));
	assert_memory_equal(data, junk, len);
	free(data);
	assert_false(exists(r->root, "metadata.db-wal"));
	assert_false(exists(r->root, "snapshots"));
	assert_false(exists(r->root, "tmp"));
}

static int user_version(const char *root)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/metadata.db", root);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void exec_sql(const char *root, const char *sql)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/metadata.db", root);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void test_migration_from_empty_db(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	/* A zero-byte file is an empty database for sqlite. */
	assert_int_equal(snap_mkdir_p(r->root, 0700), 0);
	_cleanup_close_ int dfd = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(snap_write_file_atomic_at(dfd, "metadata.db", "", 0, 0600), 0);
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	ut_close(r);
	assert_int_equal(user_version(r->root), snap_store_schema_version());
	/* Opening again migrates nothing and keeps the data. */
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	ut_ok(snap_prepare(r->core, "k", NULL, NULL, NULL, &err), &err);
	ut_close(r);
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	assert_int_equal(ut_count(r->core, NULL), 1);
}

static void test_migration_from_version_zero_db(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	/* A database another tool made (user_version 0, a foreign table). */
	assert_int_equal(snap_mkdir_p(r->root, 0700), 0);
	exec_sql(r->root, "CREATE TABLE unrelated(x)");
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	assert_int_equal(user_version(r->root), snap_store_schema_version());
	ut_ok(snap_prepare(r->core, "k", NULL, NULL, NULL, &err), &err);
}

/* Migration 4 (snapshots scoped by namespace) on a root of schema 3: the
 * table is rebuilt without UNIQUE(key); ids, parents, labels and the
 * AUTOINCREMENT high-water mark survive, and the same key then exists once
 * per namespace. */
static void test_migration_namespaces(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	ut_close(r);
	/* Back to schema 3's snapshot tables, as migration 1 made them, and
	 * its containers table (a row of an older run: migration 5 gives it
	 * an empty run configuration); no prepared_ns (migration 6), no pending_trees (migration 7). */
	exec_sql(r->root,
		 "PRAGMA foreign_keys = OFF;"
		 "DROP TABLE pending_trees;"
		 "ALTER TABLE containers DROP COLUMN config;"
		 "INSERT INTO containers(id, name, image, image_id, snapshot, command, created_ns, state)"
		 "  VALUES ('c1', 'old', 'img', 'sha256:1', 'container-c1', '[\"true\"]', 1, 2);"
		 "DROP TABLE snapshot_labels; DROP TABLE snapshots;"
		 "CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE NOT NULL,"
		 "  parent_id INTEGER REFERENCES snapshots(id), kind INTEGER NOT NULL,"
		 "  state INTEGER NOT NULL DEFAULT 0, created_ns INTEGER NOT NULL,"
		 "  updated_ns INTEGER NOT NULL, size INTEGER, inodes INTEGER);"
		 "CREATE INDEX snapshots_parent ON snapshots(parent_id);"
		 "CREATE TABLE snapshot_labels (snapshot_id INTEGER NOT NULL REFERENCES snapshots(id)"
		 "  ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL,"
		 "  PRIMARY KEY (snapshot_id, key)) WITHOUT ROWID;"
		 "INSERT INTO snapshots VALUES (3, 'base', NULL, 3, 0, 1, 1, 10, 1);"
		 "INSERT INTO snapshots VALUES (5, 'child', 3, 2, 0, 2, 2, NULL, NULL);"
		 "INSERT INTO snapshot_labels VALUES (3, 'a', '1'), (5, 'b', '2');"
		 "UPDATE sqlite_sequence SET seq = 41 WHERE name = 'snapshots';"
		 "INSERT INTO sqlite_sequence(name, seq) SELECT 'snapshots', 41"
		 "  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'snapshots');"
		 "PRAGMA user_version = 3;");
	assert_int_equal(snap_mkdir_p(r->root, 0700), 0);
	char p[4096];
	for (int id = 3; id <= 5; id += 2) {
		snprintf(p, sizeof(p), "%s/snapshots/%d", r->root, id);
		assert_int_equal(snap_mkdir_p(p, 0700), 0);
	}
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	assert_int_equal(user_version(r->root), snap_store_schema_version());
	struct snap_info info = { 0 };
	struct snap_container_rec rec = { 0 };
	ut_ok(snap_container_store_get(r->core, "old", &rec, &err), &err);
	assert_string_equal(rec.config, "{}");
	assert_string_equal(rec.command, "[\"true\"]");
	snap_container_rec_done(&rec);
	ut_ok(snap_stat(r->core, "child", &info, &err), &err);
	assert_int_equal(info.id, 5);
	assert_string_equal(info.parent, "base");
	assert_string_equal(snap_labels_get(&info.labels, "b"), "2");
	snap_info_done(&info);
	ut_ok(snap_stat(r->core, "base", &info, &err), &err);
	assert_string_equal(snap_labels_get(&info.labels, "a"), "1");
	snap_info_done(&info);
	/* No id is reused. */
	ut_ok(snap_prepare(r->core, "new", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_stat(r->core, "new", &info, &err), &err);
	assert_int_equal(info.id, 42);
	snap_info_done(&info);
	/* One key, two namespaces; the default one still sees its own. */
	ut_ok(snap_core_set_namespace(r->core, "ns-a", &err), &err);
	ut_fails(snap_stat(r->core, "base", &info, &err), -ENOENT, &err);
	ut_ok(snap_prepare(r->core, "base", NULL, NULL, NULL, &err), &err);
	assert_int_equal(ut_count(r->core, NULL), 1);
	ut_ok(snap_core_set_namespace(r->core, "", &err), &err);
	assert_int_equal(ut_count(r->core, NULL), 3);
	/* Namespaces from keys (containerd's "NS/ID/KEY"): a key without one
	 * is refused, a parent in another namespace too; walk lists only the
	 * keys that name their namespace, never the CLI's. */
	ut_ok(snap_core_set_namespace(r->core, NULL, &err), &err);
	assert_int_equal(ut_count(r->core, NULL), 0);
	ut_fails(snap_stat(r->core, "base", &info, &err), -EINVAL, &err);
	ut_fails(snap_prepare(r->core, "x", NULL, NULL, NULL, &err), -EINVAL, &err);
	ut_ok(snap_prepare(r->core, "ns-a/1/x", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_commit(r->core, "ns-a/2/y", "ns-a/1/x", NULL, &err), &err);
	ut_fails(snap_prepare(r->core, "ns-b/3/z", "ns-a/2/y", NULL, NULL, &err), -EINVAL, &err);
	ut_fails(snap_prepare(r->core, "ns-b/3/z", "ns-b/2/y", NULL, NULL, &err), -ENOENT, &err);
	assert_int_equal(ut_count(r->core, NULL), 1);
	ut_ok(snap_core_set_namespace(r->core, "ns-a", &err), &err);
	assert_int_equal(ut_count(r->core, NULL), 2);
	ut_ok(snap_stat(r->core, "ns-a/2/y", &info, &err), &err);
	snap_info_done(&info);
	ut_ok(snap_core_set_namespace(r->core, "", &err), &err);
	ut_ok(snap_remove(r->core, "new", &err), &err);
	ut_fails(snap_core_set_namespace(r->core, "a/b", &err), -EINVAL, &err);
	ut_fails(snap_core_set_namespace(r->core, "-a", &err), -EINVAL, &err);
	ut_fails(snap_core_set_namespace(r->core, "a..b", &err), -EINVAL, &err);
	assert_true(snap_namespace_valid("k8s.io"));
	assert_true(snap_namespace_valid("a-b_c.d9"));
	assert_false(snap_namespace_valid("a-"));
}

static void test_newer_schema_refused(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	ut_close(r);
	exec_sql(r->root, "PRAGMA user_version = 9999");
	ut_fails(ut_open(r, "vfs", 0, &err), -EPROTO, &err);
	assert_non_null(strstr(err.message, "newer"));
	assert_int_equal(user_version(r->root), 9999);
}

static void test_readonly_missing_root(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	snap_error_clear(&err);
	assert_true(ut_open(r, "vfs", SNAP_CORE_READONLY, &err) < 0);
	assert_true(err.message[0] != '\0');
	assert_false(exists(r->root, ""));
}

/* Two processes prepare on one root at once: BEGIN IMMEDIATE and the busy
 * timeout serialise them; every key lands once, the shared key once. */
static void test_two_processes(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	ut_ok(snap_prepare(r->core, "base-a", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_commit(r->core, "base", "base-a", NULL, &err), &err);
	ut_close(r);

	enum { PER_CHILD = 15 };
	pid_t pids[2];
	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] > 0)
			continue;
		/* child: its own core on the same root */
		struct snap_core_opts opts = { .root = r->root, .driver = "vfs" };
		struct snap_core *core = NULL;
		struct snap_error e = { 0 };
		if (snap_core_open(&opts, &core, &e) < 0)
			_exit(10);
		int status = 0;
		for (int i = 0; i < PER_CHILD; i++) {
			char key[64];
			snprintf(key, sizeof(key), "p%d-%d", c, i);
			if (snap_prepare(core, key, "base", NULL, NULL, &e) < 0) {
				fprintf(stderr, "child %d: %s\n", c, e.message);
				status = 11;
				break;
			}
			if (i % 3 == 0) {
				char name[80];
				snprintf(name, sizeof(name), "%s-c", key);
				if (snap_commit(core, name, key, NULL, &e) < 0) {
					fprintf(stderr, "child %d: %s\n", c, e.message);
					status = 12;
					break;
				}
			}
		}
		/* Both race for one key: exactly one wins. */
		int rr = snap_prepare(core, "shared", "base", NULL, NULL, &e);
		if (status == 0 && rr < 0 && rr != -EEXIST)
			status = 13;
		if (status == 0 && rr == 0)
			status = 1; /* winner */
		snap_core_close(core);
		_exit(status == 1 ? 1 : status == 0 ? 2 : status);
	}
	int winners = 0;
	for (int c = 0; c < 2; c++) {
		int st = 0;
		assert_int_equal(waitpid(pids[c], &st, 0), pids[c]);
		assert_true(WIFEXITED(st));
		int code = WEXITSTATUS(st);
		if (code != 1 && code != 2)
			fail_msg("child %d failed with %d", c, code);
		winners += code == 1;
	}
	assert_int_equal(winners, 1);
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	assert_int_equal(ut_count(r->core, NULL), 1 + 2 * PER_CHILD + 1);
	assert_int_equal(ut_count(r->core, "kind==committed"), 1 + 2 * 5);
	assert_int_equal(snap_check(r->core, false, NULL, NULL, &err), 0);
}

/* Two processes open a fresh root at once: the schema is created once (the
 * version is re-read under the write lock) and the driver recorded once. */
static void test_two_processes_first_open(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	pid_t pids[2];
	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] > 0)
			continue;
		struct snap_core_opts opts = { .root = r->root, .driver = "vfs" };
		struct snap_core *core = NULL;
		struct snap_error e = { 0 };
		if (snap_core_open(&opts, &core, &e) < 0) {
			fprintf(stderr, "child %d: %s\n", c, e.message);
			_exit(10);
		}
		char key[32];
		snprintf(key, sizeof(key), "k%d", c);
		int rr = snap_prepare(core, key, NULL, NULL, NULL, &e);
		snap_core_close(core);
		_exit(rr < 0 ? 11 : 0);
	}
	for (int c = 0; c < 2; c++) {
		int st = 0;
		assert_int_equal(waitpid(pids[c], &st, 0), pids[c]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(user_version(r->root), snap_store_schema_version());
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	assert_int_equal(ut_count(r->core, NULL), 2);
}

static void test_store_txn_guard(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	assert_int_equal(snap_mkdir_p(r->root, 0700), 0);
	char p[4096];
	snprintf(p, sizeof(p), "%s/metadata.db", r->root);
	struct snap_store *s = NULL;
	ut_ok(snap_store_open(p, 0, &s, &err), &err);
	{
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		ut_ok(snap_txn_begin(s, &txn, &err), &err);
		assert_true(snap_store_in_txn(s));
		/* Nested begin is refused. */
		ut_fails(snap_store_begin(s, &err), -EINVAL, &err);
		ut_ok(snap_store_meta_set(s, "x", "1", &err), &err);
		/* scope exit rolls back */
	}
	assert_false(snap_store_in_txn(s));
	char *v = NULL;
	ut_fails(snap_store_meta_get(s, "x", &v, &err), -ENOENT, &err);
	{
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		ut_ok(snap_txn_begin(s, &txn, &err), &err);
		ut_ok(snap_store_meta_set(s, "x", "2", &err), &err);
		ut_ok(snap_txn_commit(&txn, &err), &err);
	}
	ut_ok(snap_store_meta_get(s, "x", &v, &err), &err);
	assert_string_equal(v, "2");
	free(v);
	snap_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unknown_driver, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_root_keeps_its_driver, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_auto_on_fresh_root, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_empty_db, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_zero_db, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_migration_namespaces, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_missing_root, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_two_processes_first_open, ut_setup_noopen, ut_teardown),
		cmocka_unit_test_setup_teardown(test_store_txn_guard, ut_setup_noopen, ut_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
