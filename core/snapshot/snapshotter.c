/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd's snapshotter semantics on the sqlite store.
 *
 * Every change follows the same pattern so that a crash at any instant
 * leaves the old state or the new one plus leftovers that check/cleanup find:
 *
 *   prepare/view: txn 1 inserts the row in state CREATING (the key is taken,
 *     the id known); the directory ROOT/snapshots/<id> is made and locked
 *     (flock) and the driver builds it outside any transaction; txn 2 flips
 *     the row to READY.  A CREATING row whose directory lock is free belongs
 *     to a dead process: cleanup removes it.
 *   commit: txn 1 marks the row COMMITTING (concurrent remove/commit get
 *     -EBUSY) and reserves the new name; usage and the driver's freeze run
 *     outside; txn 2 drops the reservation and renames the row.
 *   remove: one txn deletes the row (refused while children exist), then
 *     the driver removes the directory; a crash in between leaves an orphan
 *     directory, which cleanup removes.
 */
#include "core.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core-internal.h"
#include "pending-trees.h"
#include "snapshot/driver-call.h"
#include "snapshot/filter.h"
#include "snapshot/label-values.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "snapshot/mount.h"
#include "snapshot/snapshot-rows.h"
#include "store.h"

int snap_stat(struct snap_core *core, const char *key, struct snap_info *ret, struct snap_error *err)
{
	int r = snap_key_validate("stat", key, err);
	if (r < 0)
		return r;
	struct snap_row row = { 0 };
	r = snap_row_visible(core, key, &row, err);
	if (r < 0)
		return r;
	r = snap_row_info(core, &row, ret, err);
	snap_row_done(&row);
	return r;
}

/* ---- prepare / view ------------------------------------------------------ */

/* With namespaces taken from keys, a snapshot and its parent (or its
 * committed name) must name the same one: nothing builds on, or moves to,
 * another namespace. */
static int same_namespace(struct snap_core *core, const char *what, const char *key, const char *other,
			  struct snap_error *err)
{
	char a[SNAP_NAMESPACE_MAX + 1], b[SNAP_NAMESPACE_MAX + 1];
	if (!core->ns_from_key || !other || !*other)
		return 0;
	int r = snap_core_key_namespace(core, key, a, err);
	if (r >= 0)
		r = snap_core_key_namespace(core, other, b, err);
	if (r >= 0 && strcmp(a, b) != 0)
		r = snap_error_set(err, -EINVAL, "%s '%s': '%s' is in namespace '%s', not '%s'", what, key,
				   other, b, a);
	return r;
}

/* A row in state CREATING: a snapshot about to be made, or (kind UNKNOWN,
 * parent the committing snapshot, no labels) the name a commit reserves. */
static int insert_row(struct snap_core *core, const char *key, int64_t parent_id, int kind,
		      const struct snap_labels *labels, int64_t *ret_id, struct snap_error *err)
{
	char ns[SNAP_NAMESPACE_MAX + 1];
	int q = snap_core_key_namespace(core, key, ns, err);
	if (q < 0)
		return q;
	static const char sql[] = "INSERT INTO snapshots(key, parent_id, kind, state, created_ns, updated_ns, "
				  "namespace) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)";
	{
		_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
		int r = snap_store_stmt(core->store, sql, &st, err);
		if (r < 0)
			return r;
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (parent_id)
			sqlite3_bind_int64(st, 2, parent_id);
		else
			sqlite3_bind_null(st, 2);
		sqlite3_bind_int(st, 3, kind);
		sqlite3_bind_int(st, 4, SNAP_ROW_CREATING);
		sqlite3_bind_int64(st, 5, snap_now_ns());
		sqlite3_bind_text(st, 6, ns, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			return snap_store_error(core->store, rc, err, "%s '%s'",
						kind == SNAP_KIND_UNKNOWN ? "reserve name" : "insert snapshot", key);
	}
	int64_t id = sqlite3_last_insert_rowid(snap_store_db(core->store));
	if (labels) {
		int r = snap_row_labels_store(core, id, labels, err);
		if (r < 0)
			return r;
	}
	*ret_id = id;
	return 0;
}

/* Undo a snapshot that never got published: its directory and its row. */
static void abandon_created(struct snap_core *core, int64_t id, const char *key, int kind)
{
	struct snap_error e = { 0 };
	if (snap_core_remove_dir(core, (uint64_t)id, key, kind, &e) < 0)
		snap_core_notice(core, "warning: %s", e.message);
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	if (snap_txn_begin(core->store, &txn, &e) < 0 || snap_row_delete(core, id, &e) < 0 ||
	    snap_txn_commit(&txn, &e) < 0)
		snap_core_notice(core, "warning: snapshot '%s' left half-created (run check --repair): %s",
				 key, e.message);
}

/* The coarse realtime clock, which the kernel stamps ctimes from (or from
 * a later fine-grained reading): an inode changed after this call gets a
 * ctime at or after it, even within the same tick.  A fine clock could
 * read later than the ctime of a write that follows it in the same tick.
 *
 * A create that copied a parent (a driver without SNAP_DRIVER_CAP_O1_CREATE:
 * vfs) stamped its last copies in the current tick: with the reading of
 * that tick they tie, and every diff reads them (14 to 123 of 5,000 files,
 * 3 runs here).  So wait for the next tick: about one tick (4 ms at
 * HZ=250), paid by a create that copied a tree anyway; bounded, should the
 * clock stall.  Copies stamped fine-grained (multigrain timestamps) can be
 * ahead of the coarse clock even so (0 and 27 of 5,000 in 2 runs): they
 * are read too.  Never a wrong answer either way: only extra reads.
 *
 * So the wait pays only for a tree big enough that re-reading it costs
 * more than the tick: a copy of at most SMALL_COPY_INODES entries (by the
 * parent's usage, recorded at its commit) returns at once, and a diff
 * reads those few entries instead (an empty base: 2 ms saved per prepare
 * on average, at HZ=250). */
#define SMALL_COPY_INODES 64

static int64_t prepared_now(bool copied)
{
	struct timespec t0, ts;
	if (clock_gettime(CLOCK_REALTIME_COARSE, &t0) < 0)
		return 0; /* unknown: the differ reads every candidate */
	ts = t0;
	for (int i = 0; copied && i < 50 && ts.tv_sec == t0.tv_sec && ts.tv_nsec == t0.tv_nsec; i++) {
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) < 0)
			return 0;
	}
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* prepare, view, or (clone_of set, kind ACTIVE, no parent or labels given)
 * a clone: an active snapshot on the parent of active `clone_of` whose
 * tree is a copy of clone_of's, made by the driver's clone method. */
static int create_snapshot(struct snap_core *core, int kind, const char *key, const char *parent,
			   const char *clone_of, const struct snap_labels *labels,
			   struct snap_mounts *ret_mounts, struct snap_error *err)
{
	const char *what = clone_of ? "clone" : kind == SNAP_KIND_VIEW ? "view" : "prepare";
	int r = snap_key_validate(what, key, err);
	if (r < 0)
		return r;
	r = same_namespace(core, what, key, clone_of ? clone_of : parent, err);
	if (r < 0)
		return r;
	if (clone_of && !snap_drv_has(core->drv, SNAP_DRV_CLONE))
		return snap_error_set(err, -EOPNOTSUPP, "clone '%s': driver '%s' cannot clone a snapshot",
				      clone_of, core->drv->name);
	r = snap_labels_validate(labels, err);
	if (r >= 0)
		r = snap_labels_refuse_reserved(labels, err);
	if (r >= 0)
		r = snap_label_values_check(labels, err);
	if (r < 0)
		return snap_error_prefix(err, "%s '%s'", what, key);
	if (parent && !*parent)
		parent = NULL;

	/* txn 1: take the key, allocate the id, make and lock the directory.
	 * The directory is made under the write lock so that check, which
	 * decides about orphans under the same lock, never sees a directory
	 * whose row is not yet committed; the flock then tells check in any
	 * process that the creation is alive. */
	int64_t id = 0;
	bool small_parent = false;
	char name[32];
	_cleanup_(snap_row_done) struct snap_row src = { 0 }; /* clone_of's row */
	_cleanup_close_ int lockfd = -EBADF;
	{
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(core->store, &txn, err);
		if (r < 0)
			return snap_error_prefix(err, "%s '%s'", what, key);
		struct snap_row existing = { 0 };
		r = snap_row_by_key(core, key, &existing, err);
		if (r == 0) {
			snap_row_done(&existing);
			return snap_error_set(err, -EEXIST, "%s '%s': snapshot '%s' already exists", what, key, key);
		}
		if (r != -ENOENT)
			return r;
		int64_t parent_id = 0;
		if (clone_of) {
			r = snap_row_visible(core, clone_of, &src, err);
			if (r == -ENOENT)
				return snap_error_set(err, -ENOENT, "clone '%s': snapshot '%s' does not exist",
						      key, clone_of);
			if (r < 0)
				return r;
			if (src.kind != SNAP_KIND_ACTIVE)
				return snap_error_set(err, -EINVAL, "clone '%s': '%s' is not an active snapshot (it is %s)",
						      key, clone_of, snap_kind_name(src.kind));
			parent_id = src.parent_id;
		} else if (parent) {
			struct snap_row p = { 0 };
			/* A parent still being created is not there yet. */
			r = snap_row_visible(core, parent, &p, err);
			if (r == -ENOENT)
				return snap_error_set(err, -ENOENT, "%s '%s': parent snapshot '%s' does not exist",
						      what, key, parent);
			if (r < 0)
				return r;
			parent_id = p.id;
			small_parent = p.has_usage && p.inodes <= SMALL_COPY_INODES;
			bool committed = p.kind == SNAP_KIND_COMMITTED && p.state == SNAP_ROW_READY;
			int pkind = p.kind;
			snap_row_done(&p);
			/* containerd's storage answers InvalidArgument here. */
			if (!committed)
				return snap_error_set(err, -EINVAL,
						      "%s '%s': parent '%s' is not a committed snapshot (it is %s)",
						      what, key, parent, snap_kind_name(pkind));
		}
		r = insert_row(core, key, parent_id, kind, labels, &id, err);
		if (r < 0)
			return snap_error_prefix(err, "%s '%s'", what, key);
		snprintf(name, sizeof(name), "%lld", (long long)id);
		uint64_t t = snap_core_dir_timer_start();
		int mk = mkdirat(core->snapfd, name, 0700);
		snap_core_dir_timer_stop(t);
		if (mk < 0)
			return snap_error_set(err, negative_errno(), "%s '%s': mkdir %s/snapshots/%s: %s", what,
					      key, core->root, name, strerror(errno));
		lockfd = snap_dir_trylock_at(core->snapfd, name);
		if (lockfd < 0) {
			r = snap_error_set(err, lockfd, "%s '%s': lock %s/snapshots/%s: %s", what, key,
					   core->root, name, strerror(-lockfd));
			unlinkat(core->snapfd, name, AT_REMOVEDIR);
			return r;
		}
		r = snap_txn_commit(&txn, err);
		if (r < 0) {
			unlinkat(core->snapfd, name, AT_REMOVEDIR);
			return snap_error_prefix(err, "%s '%s'", what, key);
		}
	}

	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	struct snap_row self = { .id = id, .key = (char *)key, .kind = kind };
	r = snap_row_chain(core, &self, &chain, err);
	if (r < 0) {
		snap_error_prefix(err, "%s '%s'", what, key);
		abandon_created(core, id, key, kind);
		return r;
	}
	struct snap_chain parents = snap_chain_view(&chain);
	if (clone_of) {
		_cleanup_(snap_chain_done) struct snap_chain_owned src_ref = { 0 };
		r = snap_row_self(core, &src, &src_ref, err);
		if (r == 0)
			r = snap_drv_clone(core->drv, core->drv_state, &chain.self, &parents, &src_ref.self, err);
	} else {
		r = snap_drv_create(core->drv, core->drv_state, &chain.self, &parents, err);
	}
	if (r < 0) {
		snap_error_prefix(err, "%s '%s'", what, key);
		abandon_created(core, id, key, kind);
		return r;
	}
	/* Taken once the tree is built, not at insert: vfs copies the parent
	 * in create, and the copies' ctimes must come before it (struct
	 * snap_ref's prepared_ns; the differ reads files written after it). */
	bool copied = kind == SNAP_KIND_ACTIVE && parents.n > 0 && !small_parent &&
		      !(core->drv->caps & SNAP_DRIVER_CAP_O1_CREATE);
	/* A clone holds what its source wrote since the source's prepare:
	 * the differ must read those entries as the source's diff would. */
	int64_t prepared_ns = clone_of ? src.prepared_ns : prepared_now(copied);

	_cleanup_(snap_mounts_done) struct snap_mounts mounts = { 0 };
	if (ret_mounts) {
		r = snap_drv_mounts(core->drv, core->drv_state, &chain.self, &parents, &mounts, err);
		if (r < 0) {
			snap_error_prefix(err, "%s '%s'", what, key);
			abandon_created(core, id, key, kind);
			return r;
		}
	}

	/* txn 2: publish. */
	{
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(core->store, &txn, err);
		if (r >= 0)
			r = snap_row_publish(core, id, prepared_ns, err);
		if (r >= 0 && sqlite3_changes(snap_store_db(core->store)) != 1)
			r = snap_error_set(err, -ESTALE, "row of snapshot %lld vanished", (long long)id);
		if (r >= 0)
			r = snap_txn_commit(&txn, err);
		if (r < 0) {
			snap_error_prefix(err, "%s '%s': publish", what, key);
			snap_txn_done(&txn);
			abandon_created(core, id, key, kind);
			return r;
		}
	}
	if (ret_mounts) {
		*ret_mounts = mounts;
		mounts = (struct snap_mounts){ 0 };
	}
	snap_dir_unlock(&lockfd);
	return 0;
}

int snap_prepare(struct snap_core *core, const char *key, const char *parent, const struct snap_labels *labels,
		 struct snap_mounts *ret_mounts, struct snap_error *err)
{
	return create_snapshot(core, SNAP_KIND_ACTIVE, key, parent, NULL, labels, ret_mounts, err);
}

int snap_view(struct snap_core *core, const char *key, const char *parent, const struct snap_labels *labels,
	      struct snap_mounts *ret_mounts, struct snap_error *err)
{
	return create_snapshot(core, SNAP_KIND_VIEW, key, parent, NULL, labels, ret_mounts, err);
}

int snap_core_clone(struct snap_core *core, const char *key, const char *src, struct snap_error *err)
{
	return create_snapshot(core, SNAP_KIND_ACTIVE, key, NULL, src, NULL, NULL, err);
}

/* ---- commit -------------------------------------------------------------- */

/*
 * The new name is reserved in txn 1 by a reservation row: key = NAME, kind
 * UNKNOWN, state CREATING, parent_id = the snapshot being committed.  Like
 * every CREATING row it is invisible to stat and walk and makes prepare of
 * NAME fail with -EEXIST, so the driver's freeze can run outside any
 * transaction and txn 2 cannot find the name taken.  check tells a live
 * reservation from an abandoned one by the committer's directory lock.
 */

static int name_taken(struct snap_core *core, const char *name, bool *ret, struct snap_error *err)
{
	struct snap_row r = { 0 };
	int q = snap_row_by_key(core, name, &r, err);
	if (q == -ENOENT) {
		snap_error_clear(err);
		*ret = false;
		return 0;
	}
	if (q < 0)
		return q;
	snap_row_done(&r);
	*ret = true;
	return 0;
}

static void commit_revert(struct snap_core *core, int64_t id, int64_t reservation, const char *key)
{
	struct snap_error e = { 0 };
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	if (snap_txn_begin(core->store, &txn, &e) < 0 || snap_row_delete(core, reservation, &e) < 0 ||
	    snap_row_set_state(core, id, SNAP_ROW_READY, &e) < 0 || snap_txn_commit(&txn, &e) < 0)
		snap_core_notice(core, "warning: snapshot '%s' left marked as committing (run check --repair): %s",
				 key, e.message);
}

/* txn 2: drop the reservation and publish the committed snapshot under it,
 * with its usage (NULL: the driver is asked when someone wants it). */
static int commit_publish(struct snap_core *core, int64_t id, int64_t reservation, const char *name,
			  const struct snap_labels *labels, const struct snap_usage *usage,
			  const struct snap_pending_tree *pending, struct snap_error *err)
{
	static const char sql[] = "UPDATE snapshots SET key = ?2, kind = ?3, state = ?4, "
				  "created_ns = ?5, updated_ns = ?5, size = ?6, inodes = ?7 WHERE id = ?1";
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(core->store, &txn, err);
	if (r < 0)
		return r;
	r = snap_row_delete(core, reservation, err);
	if (r < 0)
		return r;
	{
		_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
		r = snap_store_stmt(core->store, sql, &st, err);
		if (r < 0)
			return r;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, SNAP_KIND_COMMITTED);
		sqlite3_bind_int(st, 4, SNAP_ROW_READY);
		/* containerd: a committed snapshot is created now. */
		sqlite3_bind_int64(st, 5, snap_now_ns());
		if (usage) {
			sqlite3_bind_int64(st, 6, usage->size);
			sqlite3_bind_int64(st, 7, usage->inodes);
		} else {
			sqlite3_bind_null(st, 6);
			sqlite3_bind_null(st, 7);
		}
		int rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			return snap_store_error(core->store, rc, err, "publish '%s'", name);
		if (sqlite3_changes(snap_store_db(core->store)) != 1)
			return snap_error_set(err, -ESTALE, "publish '%s': row %lld vanished", name, (long long)id);
	}
	/* containerd: commit labels replace the active's, never inherit. */
	r = snap_row_labels_store(core, id, labels, err);
	if (r < 0)
		return r;
	/* In the same transaction: the snapshot is never published without
	 * the note that its tree was not synced. */
	if (pending && (r = snap_pending_insert(core, id, pending, err)) < 0)
		return r;
	return snap_txn_commit(&txn, err);
}

/* proven: the unpacker's commit, which alone may set the reserved labels. */
static int commit_snapshot(struct snap_core *core, const char *name, const char *key,
			   const struct snap_labels *labels, bool proven, const struct snap_pending_tree *pending,
			   struct snap_error *err)
{
	int r = snap_key_validate("commit", name, err);
	if (r < 0)
		return r;
	r = snap_key_validate("commit", key, err);
	if (r < 0)
		return r;
	r = same_namespace(core, "commit", key, name, err);
	if (r < 0)
		return r;
	r = snap_labels_validate(labels, err);
	if (r >= 0 && !proven)
		r = snap_labels_refuse_reserved(labels, err);
	if (r < 0)
		return snap_error_prefix(err, "commit '%s' as '%s'", key, name);

	struct snap_row row = { 0 };
	int64_t reservation = 0;
	_cleanup_close_ int lockfd = -EBADF;
	{
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(core->store, &txn, err);
		if (r < 0)
			return snap_error_prefix(err, "commit '%s'", key);
		/* containerd checks the new name first. */
		bool taken;
		r = name_taken(core, name, &taken, err);
		if (r < 0)
			return r;
		if (taken)
			return snap_error_set(err, -EEXIST, "commit '%s': snapshot '%s' already exists", key, name);
		r = snap_row_visible(core, key, &row, err);
		if (r < 0)
			return snap_error_prefix(err, "commit");
		if (row.kind != SNAP_KIND_ACTIVE || row.state != SNAP_ROW_READY) {
			r = snap_error_set(err, -EBUSY, "commit '%s': snapshot is %s, not active%s", key,
					   row.state == SNAP_ROW_COMMITTING ? "being committed" : snap_kind_name(row.kind),
					   row.kind == SNAP_KIND_VIEW ? " (views cannot be committed)" : "");
			snap_row_done(&row);
			return r;
		}
		/* Locked under the write lock, as in create: check treats a
		 * COMMITTING row whose directory it can lock as abandoned. */
		char dname[32];
		snprintf(dname, sizeof(dname), "%lld", (long long)row.id);
		lockfd = snap_dir_trylock_at(core->snapfd, dname);
		if (lockfd < 0) {
			r = snap_error_set(err, lockfd == -EWOULDBLOCK ? -EBUSY : lockfd,
					   "commit '%s': lock %s/snapshots/%s: %s", key, core->root, dname,
					   lockfd == -EWOULDBLOCK ? "in use by another process" : strerror(-lockfd));
			snap_row_done(&row);
			return r;
		}
		r = insert_row(core, name, row.id, SNAP_KIND_UNKNOWN, NULL, &reservation, err);
		if (r >= 0)
			r = snap_row_set_state(core, row.id, SNAP_ROW_COMMITTING, err);
		if (r >= 0)
			r = snap_txn_commit(&txn, err);
		if (r < 0) {
			snap_row_done(&row);
			return snap_error_prefix(err, "commit '%s'", key);
		}
	}

	/* Outside any transaction: usage (a tree walk for some drivers), then
	 * the freeze.  Usage first: the tree no longer changes once frozen, and
	 * nothing writes to it while it is being committed.  A driver whose
	 * usage would flush the whole filesystem is asked later instead (the
	 * row's usage stays NULL; snap_usage_get asks the driver). */
	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	r = snap_row_self(core, &row, &chain, err);
	bool late_usage = core->drv->caps & SNAP_DRIVER_CAP_LATE_USAGE;
	struct snap_usage usage = { 0 };
	if (r >= 0 && !late_usage)
		r = snap_drv_usage(core->drv, core->drv_state, &chain.self, &usage, err);
	if (r >= 0)
		r = snap_drv_commit(core->drv, core->drv_state, &chain.self, err);
	if (r >= 0)
		r = commit_publish(core, row.id, reservation, name, labels, late_usage ? NULL : &usage,
				   pending, err);
	if (r < 0) {
		snap_error_prefix(err, "commit '%s'", key);
		commit_revert(core, row.id, reservation, key);
	}
	snap_dir_unlock(&lockfd);
	snap_row_done(&row);
	return r < 0 ? r : 0;
}

int snap_commit(struct snap_core *core, const char *name, const char *key, const struct snap_labels *labels,
		struct snap_error *err)
{
	return commit_snapshot(core, name, key, labels, false, NULL, err);
}

int snap_core_commit_proven(struct snap_core *core, const char *name, const char *key,
			    const struct snap_labels *labels, const struct snap_pending_tree *pending,
			    struct snap_error *err)
{
	return commit_snapshot(core, name, key, labels, true, pending, err);
}

/* ---- remove -------------------------------------------------------------- */

int snap_core_remove_dir(struct snap_core *core, uint64_t id, const char *key, int kind, struct snap_error *err)
{
	char name[32], path[PATH_MAX];
	snprintf(name, sizeof(name), "%llu", (unsigned long long)id);
	snap_core_snapshot_path(core, id, path, sizeof(path));
	struct snap_ref ref = { .id = id, .key = key ? key : name, .path = path, .kind = kind };
	struct stat st;
	if (fstatat(core->snapfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return snap_error_set(err, negative_errno(), "remove %s: %s", path, strerror(errno));
	}
	int r = snap_drv_remove(core->drv, core->drv_state, &ref, err);
	if (r < 0)
		return r;
	/* The driver usually leaves the directory empty: one rmdir, and the
	 * recursive removal only for what it left behind. */
	uint64_t t = snap_core_dir_timer_start();
	if (unlinkat(core->snapfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
		snap_core_dir_timer_stop(t);
		return 0;
	}
	r = snap_rm_rf_at(core->snapfd, name);
	snap_core_dir_timer_stop(t);
	if (r < 0)
		return snap_error_set(err, r, "remove %s: %s", path, strerror(-r));
	return 0;
}

int snap_remove(struct snap_core *core, const char *key, struct snap_error *err)
{
	int r = snap_key_validate("remove", key, err);
	if (r < 0)
		return r;
	struct snap_row row = { 0 };
	_cleanup_close_ int lockfd = -EBADF;
	{
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(core->store, &txn, err);
		if (r < 0)
			return snap_error_prefix(err, "remove '%s'", key);
		r = snap_row_visible(core, key, &row, err);
		if (r < 0)
			return snap_error_prefix(err, "remove");
		if (row.state != SNAP_ROW_READY) {
			snap_row_done(&row);
			return snap_error_set(err, -EBUSY, "remove '%s': snapshot is being committed", key);
		}
		int64_t children = 0;
		r = snap_row_children(core, row.id, &children, err);
		if (r >= 0 && children > 0)
			r = snap_error_set(err, -EBUSY, "remove '%s': snapshot has %lld child snapshot%s", key,
					   (long long)children, children == 1 ? "" : "s");
		if (r < 0) {
			snap_row_done(&row);
			return r;
		}
		char name[32];
		snprintf(name, sizeof(name), "%lld", (long long)row.id);
		lockfd = snap_dir_trylock_at(core->snapfd, name);
		if (lockfd == -EWOULDBLOCK) {
			snap_row_done(&row);
			return snap_error_set(err, -EBUSY, "remove '%s': snapshot in use by another process", key);
		}
		r = snap_row_delete(core, row.id, err);
		if (r >= 0)
			r = snap_txn_commit(&txn, err);
		if (r < 0) {
			snap_row_done(&row);
			return snap_error_prefix(err, "remove '%s'", key);
		}
	}
	/* The row is gone: from here on the directory is an orphan that
	 * cleanup would also remove, so a failure is reported, not returned. */
	struct snap_error e = { 0 };
	if (snap_core_remove_dir(core, (uint64_t)row.id, key, row.kind, &e) < 0)
		snap_core_notice(core, "warning: snapshot '%s' removed, its directory is left for gc: %s", key,
				 e.message);
	snap_dir_unlock(&lockfd);
	snap_row_done(&row);
	return 0;
}

/* ---- update / labels ----------------------------------------------------- */

static int touch_updated(struct snap_core *core, int64_t id, struct snap_error *err)
{
	static const char sql[] = "UPDATE snapshots SET updated_ns = ?2 WHERE id = ?1";
	return snap_row_exec(core, sql, id, snap_now_ns(), err);
}

/* The one way a snapshot's labels change after creation (update, label):
 * in one transaction, load the visible row's labels, let `edit` change
 * them, store them and touch the row's update time.  `what` names the
 * operation in errors. */
typedef int (*labels_edit_fn)(struct snap_labels *cur, const void *ctx, const char *key, struct snap_error *err);

static int labels_rewrite(struct snap_core *core, const char *what, const char *key, labels_edit_fn edit,
			  const void *ctx, struct snap_error *err)
{
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(core->store, &txn, err);
	if (r < 0)
		return snap_error_prefix(err, "%s '%s'", what, key);
	struct snap_row row = { 0 };
	r = snap_row_visible(core, key, &row, err);
	if (r < 0)
		return snap_error_prefix(err, "%s", what);
	int64_t id = row.id;
	snap_row_done(&row);

	_cleanup_(snap_labels_done) struct snap_labels cur = { 0 };
	r = snap_row_labels_load(core, id, &cur, err);
	if (r >= 0)
		r = edit(&cur, ctx, key, err);
	if (r >= 0)
		r = snap_row_labels_store(core, id, &cur, err);
	if (r >= 0)
		r = touch_updated(core, id, err);
	if (r >= 0)
		r = snap_txn_commit(&txn, err);
	if (r < 0)
		return snap_error_prefix(err, "%s '%s'", what, key);
	return 0;
}

struct update_ctx {
	const struct snap_labels *labels;
	const char *const *paths;
	size_t n_paths;
};

/* containerd's field paths: "labels" replaces them all (but the
 * unpacker's proof), "labels.K" sets or removes K. */
static int update_edit(struct snap_labels *cur, const void *ctx_, const char *key, struct snap_error *err)
{
	const struct update_ctx *ctx = ctx_;
	for (size_t i = 0; i < ctx->n_paths || (ctx->n_paths == 0 && i == 0); i++) {
		const char *p = ctx->n_paths ? ctx->paths[i] : "labels";
		int r = 0;
		if (p && strncmp(p, "labels.", 7) == 0 && p[7]) {
			r = snap_labels_set(cur, p + 7, snap_labels_get(ctx->labels, p + 7));
		} else if (p && strcmp(p, "labels") == 0) {
			for (size_t j = cur->n; r >= 0 && j-- > 0;)
				if (!snap_label_reserved(cur->v[j].key))
					r = snap_labels_set(cur, cur->v[j].key, NULL);
			for (size_t j = 0; r >= 0 && j < ctx->labels->n; j++)
				r = snap_labels_set(cur, ctx->labels->v[j].key, ctx->labels->v[j].value);
		} else {
			return snap_error_set(err, -EINVAL, "cannot update field '%s'", p ? p : "(null)");
		}
		if (r < 0)
			return snap_error_set(err, r, "out of memory");
	}
	return 0;
}

int snap_update(struct snap_core *core, const char *key, const struct snap_labels *labels,
		const char *const *paths, size_t n_paths, struct snap_info *ret, struct snap_error *err)
{
	int r = snap_key_validate("update", key, err);
	if (r < 0)
		return r;
	r = snap_labels_validate(labels, err);
	if (r >= 0)
		r = snap_labels_refuse_reserved(labels, err);
	for (size_t i = 0; r >= 0 && i < n_paths; i++)
		if (paths[i] && strncmp(paths[i], "labels.", 7) == 0 && snap_label_reserved(paths[i] + 7))
			r = snap_error_set(err, -EINVAL, "label '%s' is reserved to snapctl's unpacker",
					   paths[i] + 7);
	if (r < 0)
		return snap_error_prefix(err, "update '%s'", key);
	static const struct snap_labels empty = { 0 };
	const struct update_ctx ctx = { .labels = labels ? labels : &empty, .paths = paths, .n_paths = n_paths };
	r = labels_rewrite(core, "update", key, update_edit, &ctx, err);
	if (r < 0)
		return r;
	if (ret)
		return snap_stat(core, key, ret, err);
	return 0;
}

/* "K=" removes K, as in `ctr snapshots label`. */
static int label_edit(struct snap_labels *cur, const void *ctx, const char *key, struct snap_error *err)
{
	const struct snap_labels *edits = ctx;
	for (size_t i = 0; edits && i < edits->n; i++) {
		const char *v = edits->v[i].value;
		int r = snap_labels_set(cur, edits->v[i].key, v && *v ? v : NULL);
		if (r < 0)
			return snap_error_set(err, r, "out of memory");
	}
	return 0;
}

int snap_label_edit(struct snap_core *core, const char *key, const struct snap_labels *edits,
		    struct snap_error *err)
{
	int r = snap_key_validate("label", key, err);
	if (r < 0)
		return r;
	r = snap_labels_validate(edits, err);
	if (r >= 0)
		r = snap_labels_refuse_reserved(edits, err);
	if (r < 0)
		return snap_error_prefix(err, "label '%s'", key);
	return labels_rewrite(core, "label", key, label_edit, edits, err);
}

/* ---- mounts / usage / tree ----------------------------------------------- */

/* Row and chain of an active snapshot or view (containerd: mounts of a
 * committed snapshot is FailedPrecondition). */
static int active_chain(struct snap_core *core, const char *what, const char *key,
			struct snap_chain_owned *ret, struct snap_error *err)
{
	int r = snap_key_validate(what, key, err);
	if (r < 0)
		return r;
	struct snap_row row = { 0 };
	r = snap_row_visible(core, key, &row, err);
	if (r < 0)
		return snap_error_prefix(err, "%s", what);
	if (row.kind == SNAP_KIND_COMMITTED) {
		snap_row_done(&row);
		return snap_error_set(err, -EBUSY, "%s '%s': snapshot is committed, not active or view", what, key);
	}
	r = snap_row_chain(core, &row, ret, err);
	snap_row_done(&row);
	if (r < 0)
		return snap_error_prefix(err, "%s '%s'", what, key);
	return 0;
}

int snap_mounts_get(struct snap_core *core, const char *key, struct snap_mounts *ret, struct snap_error *err)
{
	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	int r = active_chain(core, "mounts", key, &chain, err);
	if (r < 0)
		return r;
	struct snap_chain parents = snap_chain_view(&chain);
	r = snap_drv_mounts(core->drv, core->drv_state, &chain.self, &parents, ret, err);
	if (r < 0)
		return snap_error_prefix(err, "mounts '%s'", key);
	return 0;
}

int snap_usage_get(struct snap_core *core, const char *key, struct snap_usage *ret, struct snap_error *err)
{
	int r = snap_key_validate("usage", key, err);
	if (r < 0)
		return r;
	struct snap_row row = { 0 };
	r = snap_row_visible(core, key, &row, err);
	if (r < 0)
		return snap_error_prefix(err, "usage");
	if (row.kind == SNAP_KIND_COMMITTED && row.has_usage) {
		*ret = (struct snap_usage){ .size = row.size, .inodes = row.inodes };
		snap_row_done(&row);
		return 0;
	}
	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	r = snap_row_self(core, &row, &chain, err);
	snap_row_done(&row);
	if (r < 0)
		return snap_error_prefix(err, "usage '%s'", key);
	r = snap_drv_usage(core->drv, core->drv_state, &chain.self, ret, err);
	if (r < 0)
		return snap_error_prefix(err, "usage '%s'", key);
	return 0;
}

int snap_core_open_tree(struct snap_core *core, const char *key, int *ret_dirfd, struct snap_error *err)
{
	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	int r = active_chain(core, "open tree", key, &chain, err);
	if (r < 0)
		return r;
	r = snap_drv_open_tree(core->drv, core->drv_state, &chain.self, ret_dirfd, err);
	if (r < 0)
		return snap_error_prefix(err, "open tree of '%s'", key);
	return 0;
}

int snap_core_open_tree_id(struct snap_core *core, uint64_t id, const char *key, int kind, int *ret_dirfd,
			   struct snap_error *err)
{
	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	struct snap_row self = { .id = (int64_t)id, .key = (char *)key, .kind = kind };
	int r = snap_row_self(core, &self, &chain, err);
	if (r >= 0)
		r = snap_drv_open_tree_repair(core->drv, core->drv_state, &chain.self, ret_dirfd, err);
	if (r < 0)
		return snap_error_prefix(err, "open tree of '%s'", key);
	return 0;
}

int snap_mount_at(struct snap_core *core, const char *key, const char *target, unsigned flags,
		  struct snap_error *err)
{
	if (!target || !*target)
		return snap_error_set(err, -EINVAL, "mount '%s': no target", key ? key : "");
	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	int r = active_chain(core, "mount", key, &chain, err);
	if (r < 0)
		return r;
	struct snap_chain parents = snap_chain_view(&chain);
	if (chain.self.kind == SNAP_KIND_VIEW)
		flags |= SNAP_MOUNT_RDONLY;
	if (snap_drv_has(core->drv, SNAP_DRV_MOUNT)) {
		r = snap_drv_mount(core->drv, core->drv_state, &chain.self, &parents, target, flags, err);
		if (r != -EOPNOTSUPP) {
			if (r < 0)
				return snap_error_prefix(err, "mount '%s' on %s", key, target);
			return 0;
		}
		snap_error_clear(err);
	}
	_cleanup_(snap_mounts_done) struct snap_mounts m = { 0 };
	r = snap_drv_mounts(core->drv, core->drv_state, &chain.self, &parents, &m, err);
	if (r < 0)
		return snap_error_prefix(err, "mount '%s'", key);
	r = snap_mount_list(&m, target, flags, err);
	if (r < 0)
		return snap_error_prefix(err, "mount '%s'", key);
	return 0;
}

/* ---- walk ---------------------------------------------------------------- */

int snap_walk(struct snap_core *core, const char *const *filters, size_t n_filters, snap_walk_fn cb,
	      void *userdata, struct snap_error *err)
{
	if (!cb)
		return snap_error_set(err, -EINVAL, "walk snapshots: no callback");
	_cleanup_(snap_filter_freep) struct snap_filter *f = NULL;
	int r = snap_filter_parse(filters, n_filters, &f, err);
	if (r < 0)
		return r;
	static const char scoped[] = "SELECT " SNAP_ROW_COLUMNS " FROM snapshots s "
				     "LEFT JOIN snapshots p ON p.id = s.parent_id "
				     "WHERE s.namespace = ?2 AND s.state != ?1 ORDER BY s.key";
	/* Namespaces from keys: every snapshot whose key names its namespace
	 * (containerd's "NS/ID/KEY"), never the CLI's. */
	static const char any[] = "SELECT " SNAP_ROW_COLUMNS " FROM snapshots s "
				  "LEFT JOIN snapshots p ON p.id = s.parent_id "
				  "WHERE s.namespace != '' AND s.state != ?1 "
				  "AND substr(s.key, 1, length(s.namespace) + 1) = s.namespace || '/' "
				  "ORDER BY s.key";
	/* Collect first, call back after: the callback may itself change
	 * the store, which must not happen under an open read statement. */
	struct snap_info *infos = NULL;
	size_t n = 0;
	{
		_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
		r = snap_store_stmt(core->store, core->ns_from_key ? any : scoped, &st, err);
		if (r < 0)
			return r;
		sqlite3_bind_int(st, 1, SNAP_ROW_CREATING);
		if (!core->ns_from_key)
			sqlite3_bind_text(st, 2, core->ns, -1, SQLITE_STATIC);
		int rc;
		while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct snap_row row = { 0 };
			r = snap_row_read(st, &row);
			if (r < 0) {
				r = snap_error_set(err, r, "walk snapshots: out of memory");
				break;
			}
			struct snap_info info = { 0 };
			r = snap_row_info(core, &row, &info, err);
			snap_row_done(&row);
			if (r < 0)
				break;
			if (!snap_filter_match(f, &info)) {
				snap_info_done(&info);
				continue;
			}
			struct snap_info *ni = realloc(infos, (n + 1) * sizeof(*ni));
			if (!ni) {
				snap_info_done(&info);
				r = snap_error_set(err, -ENOMEM, "walk snapshots: out of memory");
				break;
			}
			infos = ni;
			infos[n++] = info;
		}
		if (r >= 0 && rc != SQLITE_DONE)
			r = snap_store_error(core->store, rc, err, "walk snapshots");
	}
	for (size_t i = 0; r >= 0 && i < n; i++) {
		int q = cb(&infos[i], userdata);
		if (q < 0) {
			if (err && err->code == 0)
				snap_error_set(err, q, "walk snapshots: %s", strerror(-q));
			r = q;
		} else if (q > 0) {
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		snap_info_done(&infos[i]);
	free(infos);
	return r < 0 ? r : 0;
}

