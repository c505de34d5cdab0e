/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer trees published without a sync.  With --sync=blob (the default) an
 * unpacked layer is not synced: its blob is (content.c), and the row that
 * publishes the snapshot also records it here with the boot it was written
 * in.  While that boot lasts the page cache holds the tree whatever
 * happens to the process; after a reboot (perhaps a power loss) the tree
 * is checked against its diff ID and rebuilt from the blob when it does
 * not match (core/layer/layer-recover.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core-internal.h"
#include "pending-trees.h"
#include "util/fs-util.h"
#include "util/macro.h"

static snap_pending_recover_fn recover_fn;

void snap_core_set_pending_recover(snap_pending_recover_fn fn)
{
	recover_fn = fn;
}

int snap_boot_id(char buf[SNAP_BOOT_ID_MAX], struct snap_error *err)
{
	const char *fake = getenv("SNAPCTL_TEST_BOOT_ID");
	if (fake && *fake) {
		snprintf(buf, SNAP_BOOT_ID_MAX, "%s", fake);
		return 0;
	}
	static const char path[] = "/proc/sys/kernel/random/boot_id";
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "read %s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, SNAP_BOOT_ID_MAX - 1);
	if (n < 0)
		return snap_error_set(err, negative_errno(), "read %s: %s", path, strerror(errno));
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!buf[0])
		return snap_error_set(err, -EIO, "read %s: empty", path);
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int snap_pending_insert(struct snap_core *core, int64_t id, const struct snap_pending_tree *p,
			struct snap_error *err)
{
	static const char sql[] = "INSERT OR REPLACE INTO pending_trees(snapshot_id, boot_id, blob_digest, "
				  "diff_id, created_ns) VALUES (?1, ?2, ?3, ?4, ?5)";
	char boot[SNAP_BOOT_ID_MAX];
	int r = snap_boot_id(boot, err);
	if (r < 0)
		return r;
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	r = snap_store_stmt(core->store, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, boot, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, p->blob_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->diff_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ns());
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(core->store, rc, err, "record snapshot %lld as pending", (long long)id);
	return 0;
}

void snap_pending_list_done(struct snap_pending_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].ns);
		free(l->v[i].blob_digest);
		free(l->v[i].diff_id);
	}
	free(l->v);
	*l = (struct snap_pending_list){ 0 };
}

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return strdup(t ? (const char *)t : "");
}

int snap_pending_other_boot(struct snap_core *core, struct snap_pending_list *ret, struct snap_error *err)
{
	static const char sql[] = "SELECT p.snapshot_id, s.key, s.namespace, p.blob_digest, p.diff_id, p.created_ns "
				  "FROM pending_trees p JOIN snapshots s ON s.id = p.snapshot_id "
				  "WHERE p.boot_id != ?1 ORDER BY p.snapshot_id";
	*ret = (struct snap_pending_list){ 0 };
	char boot[SNAP_BOOT_ID_MAX];
	int r = snap_boot_id(boot, err);
	if (r < 0)
		return r;
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	r = snap_store_stmt(core->store, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, boot, -1, SQLITE_TRANSIENT);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct snap_pending_row *nv = realloc(ret->v, (ret->n + 1) * sizeof(*nv));
		if (!nv) {
			snap_pending_list_done(ret);
			return snap_error_set(err, -ENOMEM, "pending trees: out of memory");
		}
		ret->v = nv;
		struct snap_pending_row *row = &ret->v[ret->n++];
		*row = (struct snap_pending_row){
			.id = sqlite3_column_int64(st, 0),
			.key = column_dup(st, 1),
			.ns = column_dup(st, 2),
			.blob_digest = column_dup(st, 3),
			.diff_id = column_dup(st, 4),
			.created_ns = sqlite3_column_int64(st, 5),
		};
		if (!row->key || !row->ns || !row->blob_digest || !row->diff_id) {
			snap_pending_list_done(ret);
			return snap_error_set(err, -ENOMEM, "pending trees: out of memory");
		}
	}
	if (rc != SQLITE_DONE) {
		snap_pending_list_done(ret);
		return snap_store_error(core->store, rc, err, "list pending trees");
	}
	return 0;
}

/* One DELETE in a transaction of its own: ?1 is `boot` when given, else
 * `id`; ?2 is `ns` (a creation time). */
static int delete_where(struct snap_core *core, const char *sql, int64_t id, const char *boot, int64_t ns,
			struct snap_error *err)
{
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(core->store, &txn, err);
	if (r < 0)
		return r;
	{
		_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
		r = snap_store_stmt(core->store, sql, &st, err);
		if (r < 0)
			return r;
		if (boot)
			sqlite3_bind_text(st, 1, boot, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, ns);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			return snap_store_error(core->store, rc, err, "drop pending trees");
	}
	return snap_txn_commit(&txn, err);
}

int snap_pending_delete(struct snap_core *core, int64_t id, int64_t created_ns, struct snap_error *err)
{
	static const char sql[] = "DELETE FROM pending_trees WHERE snapshot_id = ?1 AND created_ns = ?2";
	return delete_where(core, sql, id, NULL, created_ns, err);
}

/* Rows of this boot old enough that writeback has written their pages:
 * one syncfs makes sure, then they go.  The syncfs comes first, so a row
 * is never dropped before its tree is on disk. */
static void settle_this_boot(struct snap_core *core, const char *boot)
{
	static const char count_sql[] = "SELECT count(*) FROM pending_trees WHERE boot_id = ?1 AND created_ns < ?2";
	static const char drop_sql[] = "DELETE FROM pending_trees WHERE boot_id = ?1 AND created_ns < ?2";
	struct snap_error e = { 0 };
	int64_t cutoff = now_ns() - (int64_t)SNAP_PENDING_SETTLE_NS;
	int64_t n = 0;
	{
		_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
		if (snap_store_stmt(core->store, count_sql, &st, &e) < 0)
			goto fail;
		sqlite3_bind_text(st, 1, boot, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, cutoff);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
	}
	if (n == 0)
		return;
	if (syncfs(core->snapfd) < 0) {
		snap_error_set(&e, negative_errno(), "syncfs %s/snapshots: %s", core->root, strerror(errno));
		goto fail;
	}
	if (delete_where(core, drop_sql, 0, boot, cutoff, &e) < 0)
		goto fail;
	return;
fail:
	snap_core_notice(core, "warning: pending layer trees not settled: %s", e.message);
}

/* Rows of an earlier boot: the recovery, one process at a time. */
static void settle_other_boot(struct snap_core *core, int64_t n)
{
	if (!recover_fn) {
		snap_core_notice(core,
				 "warning: %lld layer tree%s unpacked before the last reboot %s not verified yet: "
				 "run `snapctl check`",
				 (long long)n, n == 1 ? "" : "s", n == 1 ? "is" : "are");
		return;
	}
	struct snap_error e = { 0 };
	_cleanup_close_ int lockfd = openat(core->rootfd, "snapshots", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		snap_core_notice(core, "warning: lock %s/snapshots to recover pending layer trees: %s", core->root,
				 strerror(errno));
		return;
	}
	if (recover_fn(core, &e) < 0)
		snap_core_notice(core, "warning: pending layer trees: %s", e.message);
}

void snap_pending_settle(struct snap_core *core)
{
	static const char any_sql[] = "SELECT EXISTS (SELECT 1 FROM pending_trees)";
	static const char other_sql[] = "SELECT count(*) FROM pending_trees WHERE boot_id != ?1";
	struct snap_error e = { 0 };
	bool any = false;
	{
		_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
		if (snap_store_stmt(core->store, any_sql, &st, &e) < 0) {
			snap_core_notice(core, "warning: pending layer trees: %s", e.message);
			return;
		}
		any = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
	}
	if (!any)
		return;
	char boot[SNAP_BOOT_ID_MAX];
	if (snap_boot_id(boot, &e) < 0) {
		snap_core_notice(core, "warning: pending layer trees: %s", e.message);
		return;
	}
	int64_t other = 0;
	{
		_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
		if (snap_store_stmt(core->store, other_sql, &st, &e) < 0) {
			snap_core_notice(core, "warning: pending layer trees: %s", e.message);
			return;
		}
		sqlite3_bind_text(st, 1, boot, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			other = sqlite3_column_int64(st, 0);
	}
	if (other > 0)
		settle_other_boot(core, other);
	settle_this_boot(core, boot);
}
