/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check / cleanup / gc.
 *
 * Deciding that something is garbage races with live operations in other
 * processes; the rules that make it safe:
 *   - snapshot and staging directories are made and flock()ed by their
 *     creator while it holds the metadata write lock (snapshotter.c), and
 *     stay locked while the creator works on them;
 *   - this file decides "orphan" or "stale" only while holding the metadata
 *     write lock and the directory's flock, and re-reads the rows under both;
 *   - the filesystem work (driver remove, rm -rf) happens after the
 *     transaction, still holding the flock.
 */
#include "check.h"
#include "container-store.h"
#include "image/image.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core-internal.h"
#include "pending-trees.h"
#include "util/digest.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "layer/layer-internal.h"
#include "snapshot/mount-lib.h"
#include "snapshot/snapshot-rows.h"
#include "snapshot/temp-keys.h"
#include "store.h"

const char *snap_check_kind_name(int kind)
{
	switch (kind) {
	case SNAP_CHECK_ORPHAN_DIR:
		return "orphan-dir";
	case SNAP_CHECK_MISSING_DIR:
		return "missing-dir";
	case SNAP_CHECK_STALE_CREATING:
		return "stale-creating";
	case SNAP_CHECK_STALE_COMMITTING:
		return "stale-committing";
	case SNAP_CHECK_STAGING_LEFTOVER:
		return "staging-leftover";
	case SNAP_CHECK_STALE_MOUNT:
		return "stale-mount";
	case SNAP_CHECK_UNKNOWN_ENTRY:
		return "unknown-entry";
	case SNAP_CHECK_STALE_RESERVATION:
		return "stale-reservation";
	case SNAP_CHECK_METADATA:
		return "metadata";
	case SNAP_CHECK_INTERRUPTED_APPLY:
		return "interrupted-apply";
	case SNAP_CHECK_UNPROVEN_LAYER:
		return "unproven-layer";
	case SNAP_CHECK_STALE_TEMP:
		return "stale-temp-snapshot";
	case SNAP_CHECK_PENDING_TREE:
		return "pending-tree";
	default:
		return "unknown";
	}
}

struct checker {
	struct snap_core *core;
	bool repair;
	snap_check_fn cb;
	void *userdata;
	int unrepaired;
	struct snap_gc_stats *stats;
	uint64_t *journaled; /* snapshots with an apply journal (reported by it) */
	size_t n_journaled;
};

static void report(struct checker *c, int kind, const char *object, const char *message, bool repairable,
		   bool repaired, const char *repair_error)
{
	struct snap_check_item item = {
		.kind = kind,
		.object = object,
		.message = message,
		.repairable = repairable,
		.repaired = repaired,
		.repair_error = repair_error,
	};
	if (!repaired)
		c->unrepaired++;
	if (c->cb)
		c->cb(&item, c->userdata);
}

static bool parse_id(const char *name, uint64_t *ret)
{
	if (!*name || *name == '0')
		return false;
	uint64_t v = 0;
	for (const char *p = name; *p; p++) {
		if (!isdigit((unsigned char)*p) || v > UINT64_MAX / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*ret = v;
	return true;
}

/* Row state of `id`: 1 and *state/kind/key filled when present, 0 absent. */
static int row_of_id(struct snap_core *core, uint64_t id, int *ret_state, int *ret_kind, char **ret_key,
		     int64_t *ret_children, struct snap_error *err)
{
	static const char sql[] = "SELECT state, kind, key, "
				  "(SELECT count(*) FROM snapshots c WHERE c.parent_id = s.id) "
				  "FROM snapshots s WHERE id = ?1";
	struct snap_store *store = snap_core_store(core);
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(store, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return snap_store_error(store, rc, err, "read snapshot %llu", (unsigned long long)id);
	if (ret_state)
		*ret_state = sqlite3_column_int(st, 0);
	if (ret_kind)
		*ret_kind = sqlite3_column_int(st, 1);
	if (ret_key) {
		const char *k = (const char *)sqlite3_column_text(st, 2);
		*ret_key = strdup(k ? k : "");
		if (!*ret_key)
			return snap_error_set(err, -ENOMEM, "check: out of memory");
	}
	if (ret_children)
		*ret_children = sqlite3_column_int64(st, 3);
	return 1;
}

static int exec_id(struct snap_core *core, const char *sql, uint64_t id, struct snap_error *err)
{
	struct snap_store *store = snap_core_store(core);
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(store, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(store, rc, err, "update snapshot %llu", (unsigned long long)id);
	return 0;
}

/* ---- the database itself ------------------------------------------------- */

/* sqlite's own checks: page-level integrity, and rows whose foreign key
 * points nowhere (foreign keys are enforced, so only corruption or an older
 * tool writing with them off leaves those).  Not repairable here. */
static int check_metadata(struct checker *c, struct snap_error *err)
{
	static const struct {
		const char *sql;
		const char *what;
	} checks[] = {
		{ "PRAGMA quick_check", "integrity" },
		{ "PRAGMA foreign_key_check", "foreign keys" },
	};
	sqlite3 *db = snap_core_db(c->core);
	const char *path = snap_store_path(snap_core_store(c->core));
	for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(db, checks[i].sql, -1, &st, NULL);
		if (rc != SQLITE_OK)
			return snap_store_error(snap_core_store(c->core), rc, err, "check metadata %s", path);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			char msg[512];
			if (i == 0) {
				const char *t = (const char *)sqlite3_column_text(st, 0);
				if (t && strcmp(t, "ok") == 0)
					continue;
				snprintf(msg, sizeof(msg), "%s: %s", checks[i].what, t ? t : "?");
			} else {
				snprintf(msg, sizeof(msg), "%s: row %lld of table %s refers to a missing row of %s",
					 checks[i].what, (long long)sqlite3_column_int64(st, 1),
					 (const char *)sqlite3_column_text(st, 0),
					 (const char *)sqlite3_column_text(st, 2));
			}
			report(c, SNAP_CHECK_METADATA, path, msg, false, false, NULL);
		}
		int frc = sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return snap_store_error(snap_core_store(c->core), frc, err, "check metadata %s", path);
	}
	return 0;
}

/* ---- stale mounts -------------------------------------------------------- */

/* Through the loaded library: these run only on what it made. */
static void tablep_unref(struct libmnt_table **tb)
{
	if (*tb)
		snap_libmount(NULL)->unref_table(*tb);
}

static void iterp_free(struct libmnt_iter **it)
{
	if (*it)
		snap_libmount(NULL)->free_iter(*it);
}

/* Is `path` inside ROOT/snapshots/<id> (returns 1, id set), inside
 * ROOT/tmp/<name> (returns 2, name copied), or neither (0)? */
static int classify_path(const char *root, const char *path, uint64_t *ret_id, char *name, size_t name_size)
{
	size_t rl = strlen(root);
	if (strncmp(path, root, rl) != 0 || path[rl] != '/')
		return 0;
	const char *rest = path + rl + 1;
	int kind;
	if (strncmp(rest, "snapshots/", 10) == 0) {
		kind = 1;
		rest += 10;
	} else if (strncmp(rest, "tmp/", 4) == 0) {
		kind = 2;
		rest += 4;
	} else {
		return 0;
	}
	size_t n = strcspn(rest, "/");
	if (n == 0 || n >= name_size)
		return 0;
	memcpy(name, rest, n);
	name[n] = '\0';
	if (kind == 1 && !parse_id(name, ret_id))
		return 0;
	return kind;
}

/* A mount is stale when its target or one of its overlay directories lies in
 * a snapshot directory that has no row, or in a staging directory that no
 * live process holds. */
static int mount_is_stale(struct checker *c, const char *path, char *why, size_t why_size)
{
	struct snap_core *core = c->core;
	uint64_t id = 0;
	char name[NAME_MAX + 1];
	int k = classify_path(snap_core_root(core), path, &id, name, sizeof(name));
	if (k == 1) {
		struct snap_error e = { 0 };
		int r = row_of_id(core, id, NULL, NULL, NULL, NULL, &e);
		if (r == 0) {
			snprintf(why, why_size, "uses snapshot directory %llu, which has no snapshot",
				 (unsigned long long)id);
			return 1;
		}
		return 0;
	}
	if (k == 2) {
		int fd = snap_dir_trylock_at(snap_core_tmp_fd(core), name);
		if (fd == -EWOULDBLOCK)
			return 0;
		if (fd >= 0)
			close(fd);
		snprintf(why, why_size, "uses staging directory tmp/%s, which no process holds", name);
		return 1;
	}
	return 0;
}

static int check_mounts(struct checker *c, struct snap_error *err)
{
	const struct snap_libmount *mnt = snap_libmount(err);
	if (!mnt)
		return snap_error_prefix(err, "check mounts");
	_cleanup_(tablep_unref) struct libmnt_table *tb = mnt->new_table_from_file("/proc/self/mountinfo");
	if (!tb)
		return 0; /* no /proc: nothing we can say about mounts */
	_cleanup_(iterp_free) struct libmnt_iter *it = mnt->new_iter(MNT_ITER_BACKWARD);
	if (!it)
		return snap_error_set(err, -ENOMEM, "check mounts: out of memory");
	/* Backward: children before their parents, so that unmounting in
	 * this order never trips over a mount stacked on top. */
	struct libmnt_fs *fs;
	while (mnt->table_next_fs(tb, it, &fs) == 0) {
		const char *target = mnt->fs_get_target(fs);
		if (!target)
			continue;
		char why[PATH_MAX + 128];
		int stale = mount_is_stale(c, target, why, sizeof(why));
		/* An overlay mounted elsewhere (a container's rootfs) whose
		 * upper or lower dirs are gone is stale too. */
		const char *opts = mnt->fs_get_fs_options(fs);
		if (!stale && opts && strstr(opts, snap_core_root(c->core))) {
			_cleanup_free_ char *copy = strdup(opts);
			char *save = NULL;
			for (char *o = copy ? strtok_r(copy, ",", &save) : NULL; o && !stale;
			     o = strtok_r(NULL, ",", &save)) {
				char *eq = strchr(o, '=');
				if (!eq)
					continue;
				for (char *d = eq + 1, *e; d && !stale; d = e) {
					e = strchr(d, ':');
					if (e)
						*e++ = '\0';
					stale = mount_is_stale(c, d, why, sizeof(why));
				}
			}
		}
		if (!stale)
			continue;
		bool repaired = false;
		struct snap_error e = { 0 };
		if (c->repair)
			repaired = snap_unmount_at(target, &e) == 0;
		report(c, SNAP_CHECK_STALE_MOUNT, target, why, true, repaired,
		       c->repair && !repaired ? e.message : NULL);
	}
	return 0;
}

/* ---- rows ---------------------------------------------------------------- */

struct row_brief {
	uint64_t id;
	char *key;
	int state;
	int kind;
	uint64_t parent_id;
	bool default_ns; /* in the CLI's namespace '', where images keep their layers */
};

static void rows_free(struct row_brief *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

static int load_rows(struct snap_core *core, struct row_brief **ret, size_t *ret_n, struct snap_error *err)
{
	static const char sql[] = "SELECT id, key, state, kind, parent_id, namespace = '' FROM snapshots ORDER BY id";
	struct snap_store *store = snap_core_store(core);
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(store, sql, &st, err);
	if (r < 0)
		return r;
	struct row_brief *v = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 1);
		struct row_brief *nv = realloc(v, (n + 1) * sizeof(*nv));
		char *key = strdup(k ? k : "");
		if (nv)
			v = nv;
		if (!nv || !key) {
			free(key);
			rows_free(v, n);
			return snap_error_set(err, -ENOMEM, "check: out of memory");
		}
		v[n++] = (struct row_brief){ .id = (uint64_t)sqlite3_column_int64(st, 0), .key = key,
					     .state = sqlite3_column_int(st, 2), .kind = sqlite3_column_int(st, 3),
					     .parent_id = (uint64_t)sqlite3_column_int64(st, 4),
					     .default_ns = sqlite3_column_int(st, 5) != 0 };
	}
	if (rc != SQLITE_DONE) {
		rows_free(v, n);
		return snap_store_error(store, rc, err, "check: read snapshots");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* A commit's name reservation (snapshotter.c): stale when its committer is
 * no longer COMMITTING or no live process holds the committer's directory. */
static int check_reservation(struct checker *c, const struct row_brief *row, struct snap_error *err)
{
	struct snap_core *core = c->core;
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(snap_core_store(core), &txn, err);
	if (r < 0)
		return r;
	int state = 0, cstate = 0;
	r = row_of_id(core, row->id, &state, NULL, NULL, NULL, err);
	if (r <= 0 || state != SNAP_ROW_CREATING)
		return r < 0 ? r : 0; /* gone or published meanwhile */
	r = row_of_id(core, row->parent_id, &cstate, NULL, NULL, NULL, err);
	if (r < 0)
		return r;
	if (r > 0 && cstate == SNAP_ROW_COMMITTING) {
		char name[32];
		snprintf(name, sizeof(name), "%llu", (unsigned long long)row->parent_id);
		_cleanup_close_ int lockfd = snap_dir_trylock_at(snap_core_snapshots_fd(core), name);
		if (lockfd == -EWOULDBLOCK)
			return 0; /* the commit is alive */
	}
	bool repaired = false;
	struct snap_error e = { 0 };
	if (c->repair) {
		static const char del[] = "DELETE FROM snapshots WHERE id = ?1";
		repaired = exec_id(core, del, row->id, &e) == 0 && snap_txn_commit(&txn, &e) == 0;
	}
	report(c, SNAP_CHECK_STALE_RESERVATION, row->key,
	       "name reserved by a commit that did not finish; repair frees the name", true, repaired,
	       c->repair && !repaired ? e.message : NULL);
	return 0;
}

/* A snapshot a process made for its own work (an unpack's staging
 * snapshot, a diff's view: core/snapshot/temp-keys.h) left by a process
 * that was killed; gc removes it too.  1 when row is one (reported), else 0. */
static int check_stale_temp(struct checker *c, const struct row_brief *row)
{
	if (!row->default_ns || row->kind == SNAP_KIND_COMMITTED || !snap_temp_key_stale(row->key))
		return 0;
	bool repaired = false;
	struct snap_error e = { 0 };
	if (c->repair)
		repaired = snap_remove(c->core, row->key, &e) == 0;
	report(c, SNAP_CHECK_STALE_TEMP, row->key,
	       "a snapshot made for its own work by a process that was killed; repair removes it", true,
	       repaired, c->repair && !repaired ? e.message : NULL);
	return 1;
}

/* A row left CREATING or COMMITTING: stale when no live process holds its
 * directory.  Decided under the write lock. */
static int check_stale_row(struct checker *c, const struct row_brief *row, struct snap_error *err)
{
	struct snap_core *core = c->core;
	char name[32], path[PATH_MAX];
	snprintf(name, sizeof(name), "%llu", (unsigned long long)row->id);
	snap_core_snapshot_path(core, row->id, path, sizeof(path));

	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(snap_core_store(core), &txn, err);
	if (r < 0)
		return r;
	_cleanup_close_ int lockfd = snap_dir_trylock_at(snap_core_snapshots_fd(core), name);
	if (lockfd == -EWOULDBLOCK)
		return 0; /* alive */
	int state = 0, kind = 0;
	int64_t children = 0;
	r = row_of_id(core, row->id, &state, &kind, NULL, &children, err);
	if (r <= 0)
		return r; /* gone meanwhile */
	if (state == SNAP_ROW_READY)
		return 0; /* finished meanwhile */

	char msg[PATH_MAX + 128];
	if (state == SNAP_ROW_COMMITTING) {
		snprintf(msg, sizeof(msg), "left mid-commit by a process that is gone; repair makes it active again");
		bool repaired = false;
		struct snap_error e = { 0 };
		if (c->repair) {
			static const char sql[] = "UPDATE snapshots SET state = 0 WHERE id = ?1";
			repaired = exec_id(core, sql, row->id, &e) == 0 && snap_txn_commit(&txn, &e) == 0;
		}
		report(c, SNAP_CHECK_STALE_COMMITTING, row->key, msg, true, repaired,
		       c->repair && !repaired ? e.message : NULL);
		return 0;
	}

	snprintf(msg, sizeof(msg), "left half-created (%s) by a process that is gone", path);
	if (!c->repair || children > 0) {
		report(c, SNAP_CHECK_STALE_CREATING, row->key, msg, children == 0, false,
		       c->repair ? "it has children" : NULL);
		return 0;
	}
	/* Row first, then the directory (which, if we crash now, is an
	 * orphan the next check removes). */
	struct snap_error e = { 0 };
	static const char del[] = "DELETE FROM snapshots WHERE id = ?1";
	bool repaired = exec_id(core, del, row->id, &e) == 0 && snap_txn_commit(&txn, &e) == 0;
	if (repaired) {
		repaired = snap_core_remove_dir(core, row->id, row->key, kind, &e) == 0;
		if (repaired && c->stats)
			c->stats->snapshots_removed++;
	}
	report(c, SNAP_CHECK_STALE_CREATING, row->key, msg, true, repaired, repaired ? NULL : e.message);
	return 0;
}

static int check_missing_dir(struct checker *c, const struct row_brief *row, struct snap_error *err)
{
	struct snap_core *core = c->core;
	char name[32], path[PATH_MAX];
	snprintf(name, sizeof(name), "%llu", (unsigned long long)row->id);
	struct stat st;
	if (fstatat(snap_core_snapshots_fd(core), name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return snap_error_set(err, negative_errno(), "check %s/snapshots/%s: %s", snap_core_root(core),
				      name, strerror(errno));
	snap_core_snapshot_path(core, row->id, path, sizeof(path));

	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(snap_core_store(core), &txn, err);
	if (r < 0)
		return r;
	int state = 0;
	int64_t children = 0;
	r = row_of_id(core, row->id, &state, NULL, NULL, &children, err);
	if (r <= 0 || state != SNAP_ROW_READY)
		return r < 0 ? r : 0;
	char msg[PATH_MAX + 64];
	snprintf(msg, sizeof(msg), "directory %s is missing", path);
	bool repaired = false;
	struct snap_error e = { 0 };
	if (c->repair && children == 0) {
		static const char del[] = "DELETE FROM snapshots WHERE id = ?1";
		repaired = exec_id(core, del, row->id, &e) == 0 && snap_txn_commit(&txn, &e) == 0;
		if (repaired && c->stats)
			c->stats->snapshots_removed++;
	}
	report(c, SNAP_CHECK_MISSING_DIR, row->key, msg, children == 0, repaired,
	       c->repair && !repaired ? (children ? "it has children" : e.message) : NULL);
	return 0;
}

/* ---- directories --------------------------------------------------------- */

static int check_snapshot_dir(struct checker *c, const char *name, struct snap_error *err)
{
	struct snap_core *core = c->core;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/snapshots/%s", snap_core_root(core), name);
	uint64_t id;
	if (!parse_id(name, &id)) {
		report(c, SNAP_CHECK_UNKNOWN_ENTRY, path, "not a snapshot directory; left alone", false, false, NULL);
		return 0;
	}
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(snap_core_store(core), &txn, err);
	if (r < 0)
		return r;
	r = row_of_id(core, id, NULL, NULL, NULL, NULL, err);
	if (r != 0)
		return r < 0 ? r : 0; /* has a row: checked with the rows */
	_cleanup_close_ int lockfd = snap_dir_trylock_at(snap_core_snapshots_fd(core), name);
	if (lockfd == -EWOULDBLOCK)
		return 0; /* a live remove is working on it */
	if (lockfd == -ENOENT)
		return 0;
	snap_txn_done(&txn);
	bool repaired = false;
	struct snap_error e = { 0 };
	if (c->repair) {
		repaired = snap_core_remove_dir(core, id, NULL, SNAP_KIND_UNKNOWN, &e) == 0;
		if (repaired && c->stats)
			c->stats->snapshots_removed++;
	}
	report(c, SNAP_CHECK_ORPHAN_DIR, path, "directory without a snapshot (left by a crash or a failed remove)",
	       true, repaired, c->repair && !repaired ? e.message : NULL);
	return 0;
}

static bool has_journal(const struct checker *c, uint64_t id)
{
	for (size_t i = 0; i < c->n_journaled; i++)
		if (c->journaled[i] == id)
			return true;
	return false;
}

static int check_staging(struct checker *c, const char *name, struct snap_error *err)
{
	struct snap_core *core = c->core;
	if (!c->repair && strncmp(name, SNAP_APPLY_JOURNAL_STAGING "-", strlen(SNAP_APPLY_JOURNAL_STAGING) + 1) == 0) {
		/* Reported as an interrupted apply when it names one. */
		_cleanup_close_ int dfd = openat(snap_core_tmp_fd(core), name,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		uint64_t id;
		struct snap_error e = { 0 };
		if (dfd >= 0 && snap_layer_journal_snapshot(dfd, &id, &e) == 0 && has_journal(c, id))
			return 0;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/tmp/%s", snap_core_root(core), name);
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(snap_core_store(core), &txn, err);
	if (r < 0)
		return r;
	int tmpfd = snap_core_tmp_fd(core);
	_cleanup_close_ int lockfd = snap_dir_trylock_at(tmpfd, name);
	if (lockfd == -EWOULDBLOCK || lockfd == -ENOENT)
		return 0;
	snap_txn_done(&txn);
	bool repaired = false;
	struct snap_error e = { 0 };
	if (c->repair) {
		r = snap_rm_rf_at(tmpfd, name);
		repaired = r == 0;
		if (!repaired)
			snap_error_set(&e, r, "remove %s: %s", path, strerror(-r));
		else if (c->stats)
			c->stats->staging_removed++;
	}
	report(c, SNAP_CHECK_STAGING_LEFTOVER, path, "staging leftover no process holds", true, repaired,
	       c->repair && !repaired ? e.message : NULL);
	return 0;
}

/*
 * The undo journal of an apply whose process died (tmp/apply-XXXXXX, see
 * layer-internal.h): repair plays it back on the snapshot's tree, which is
 * then exactly as before the apply (or, past its COMMIT record, as after
 * it), and removes it.  Decided under the staging directory's lock, which
 * the applier holds while it lives; a journal of a snapshot that is gone
 * or not active is an ordinary staging leftover.
 */
static int check_apply_journal(struct checker *c, const char *name, struct snap_error *err)
{
	struct snap_core *core = c->core;
	int tmpfd = snap_core_tmp_fd(core);
	_cleanup_close_ int lockfd = snap_dir_trylock_at(tmpfd, name);
	if (lockfd == -EWOULDBLOCK || lockfd == -ENOENT)
		return 0; /* a live apply, or gone meanwhile */
	if (lockfd < 0)
		return 0;
	_cleanup_close_ int dfd = openat(tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	uint64_t id = 0;
	struct snap_error e = { 0 };
	if (dfd < 0 || snap_layer_journal_snapshot(dfd, &id, &e) < 0)
		return 0; /* no journal yet: a staging leftover */
	int state = 0, kind = 0;
	_cleanup_free_ char *key = NULL;
	int r = row_of_id(core, id, &state, &kind, &key, NULL, err);
	if (r <= 0 || state != SNAP_ROW_READY || kind != SNAP_KIND_ACTIVE)
		return r < 0 ? r : 0;
	uint64_t *nv = realloc(c->journaled, (c->n_journaled + 1) * sizeof(*nv));
	if (!nv)
		return snap_error_set(err, -ENOMEM, "check: out of memory");
	c->journaled = nv;
	c->journaled[c->n_journaled++] = id;

	char msg[512];
	snprintf(msg, sizeof(msg),
		 "a layer apply died half-way; repair plays its undo journal (%s/tmp/%s) back", snap_core_root(core),
		 name);
	bool repaired = false;
	if (c->repair) {
		_cleanup_close_ int tree = -EBADF;
		r = snap_core_open_tree_id(core, id, key, kind, &tree, &e);
		if (r >= 0)
			r = snap_layer_journal_replay(dfd, tree, &e);
		if (r >= 0) {
			snprintf(msg, sizeof(msg), "a layer apply died half-way; its undo journal was played %s",
				 r > 0 ? "forward (the apply had finished)" : "back (the snapshot is as before)");
			r = snap_rm_rf_at(tmpfd, name);
			if (r < 0)
				snap_error_set(&e, r, "remove %s/tmp/%s: %s", snap_core_root(core), name, strerror(-r));
		}
		repaired = r >= 0;
		if (repaired && c->stats)
			c->stats->staging_removed++;
	}
	report(c, SNAP_CHECK_INTERRUPTED_APPLY, key, msg, true, repaired, c->repair && !repaired ? e.message : NULL);
	return 0;
}

/*
 * An apply (layer-apply.c) moves what it replaces into
 * SNAP_APPLY_BACKUP_PREFIX<pid> at the top of the tree and removes it when it
 * finishes or rolls back.  One whose process is gone means the apply died
 * half-way.  Its on-disk journal (above) is what repair plays back; an undo
 * directory without one (an apply by a tool without the core, or a
 * journal removed by hand) cannot be rolled back here.  Report it; the
 * snapshot should be removed and prepared again (an import's staging
 * snapshot is collected by gc anyway).
 */
static int check_interrupted_apply(struct checker *c, const struct row_brief *row, struct snap_error *err)
{
	if (row->kind != SNAP_KIND_ACTIVE || has_journal(c, row->id))
		return 0;
	_cleanup_close_ int tree = -EBADF;
	struct snap_error e = { 0 };
	if (snap_core_open_tree_id(c->core, row->id, row->key, row->kind, &tree, &e) < 0)
		return 0; /* a missing tree is reported as missing-dir */
	_cleanup_close_ int fd = openat(tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d)
		return 0;
	TAKE_FD(fd);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, SNAP_APPLY_BACKUP_PREFIX, strlen(SNAP_APPLY_BACKUP_PREFIX)) != 0)
			continue;
		char *end;
		long pid = strtol(de->d_name + strlen(SNAP_APPLY_BACKUP_PREFIX), &end, 10);
		if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* a live apply, or not ours */
		char msg[512];
		snprintf(msg, sizeof(msg),
			 "a layer apply by process %ld died half-way (its undo data is %s in the tree); "
			 "remove the snapshot and apply again", pid, de->d_name);
		report(c, SNAP_CHECK_INTERRUPTED_APPLY, row->key, msg, false, false, NULL);
	}
	(void)err;
	return 0;
}

/*
 * A committed snapshot named like a layer's chain ID ("sha256:<hex>") that
 * the unpacker did not make: no proof label (snapctl.unpack.diff-id), or a
 * proof from which its parent and diff ID do not give its name.  Import
 * never reuses it (image-unpack.c); it is someone's own snapshot, so check
 * reports it and leaves the decision to remove it to the user.
 */
static int check_unproven_layer(struct checker *c, const struct row_brief *row, struct snap_error *err)
{
	if (row->kind != SNAP_KIND_COMMITTED || !row->default_ns || !snap_digest_valid(row->key))
		return 0;
	_cleanup_(snap_labels_done) struct snap_labels labels = { 0 };
	int r = snap_row_labels_load(c->core, (int64_t)row->id, &labels, err);
	if (r < 0)
		return r;
	const char *proof = snap_labels_get(&labels, SNAP_LABEL_UNPACK_DIFF_ID);
	const char *why = "it has no " SNAP_LABEL_UNPACK_DIFF_ID " label";
	if (proof) {
		_cleanup_free_ char *parent = NULL;
		if (row->parent_id && (r = row_of_id(c->core, row->parent_id, NULL, NULL, &parent, NULL, err)) < 0)
			return r;
		char chain[SNAP_DIGEST_MAX];
		if (snap_chain_id(parent, proof, chain) == 0 && strcmp(chain, row->key) == 0)
			return 0;
		why = "its " SNAP_LABEL_UNPACK_DIFF_ID " label and parent do not give its name";
	}
	char msg[512];
	snprintf(msg, sizeof(msg),
		 "named like a layer's chain ID but not made by snapctl's unpacker (%s): import never "
		 "reuses it; remove it (snapctl snapshot rm %s) unless it is yours", why, row->key);
	report(c, SNAP_CHECK_UNPROVEN_LAYER, row->key, msg, false, false, NULL);
	return 0;
}

/* Layer trees unpacked unsynced before the last reboot are checked and
 * made whole by the open of every writer that has the layer engine, this
 * one's too (core/pending-trees.c): a row still here is a tree that could
 * not be (its blob gone, or the blob itself damaged). */
static int check_pending_trees(struct checker *c, struct snap_error *err)
{
	_cleanup_(snap_pending_list_done) struct snap_pending_list l = { 0 };
	int r = snap_pending_other_boot(c->core, &l, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l.n; i++) {
		char msg[512];
		snprintf(msg, sizeof(msg),
			 "unpacked unsynced before the last reboot and not found whole (the warning above says "
			 "why): remove the images that use it and import them again");
		report(c, SNAP_CHECK_PENDING_TREE, l.v[i].key, msg, false, false, NULL);
	}
	return 0;
}

/* full: also the database checks and mounts (check); cleanup skips both. */
static int run_check(struct checker *c, bool full, struct snap_error *err)
{
	struct snap_core *core = c->core;
	int r;
	if (full) {
		r = check_metadata(c, err);
		if (r < 0)
			return r;
		r = check_mounts(c, err);
		if (r < 0)
			return r;
		r = check_pending_trees(c, err);
		if (r < 0)
			return r;
	}

	/* Interrupted applies first: their snapshots are then whole again
	 * for the row checks. */
	{
		_cleanup_(snap_names_done) struct snap_names tmp = { 0 };
		r = snap_dir_list_sorted(snap_core_tmp_fd(core), NULL, &tmp);
		if (r < 0)
			return snap_error_set(err, r, "list %s/tmp: %s", snap_core_root(core), strerror(-r));
		for (size_t i = 0; r >= 0 && i < tmp.n; i++)
			if (strncmp(tmp.v[i], SNAP_APPLY_JOURNAL_STAGING "-", strlen(SNAP_APPLY_JOURNAL_STAGING) + 1) == 0)
				r = check_apply_journal(c, tmp.v[i], err);
		if (r < 0)
			return r;
	}

	struct row_brief *rows = NULL;
	size_t n_rows = 0;
	r = load_rows(core, &rows, &n_rows, err);
	if (r < 0)
		return r;
	for (size_t i = 0; r >= 0 && i < n_rows; i++) {
		if (rows[i].state == SNAP_ROW_CREATING && rows[i].kind == SNAP_KIND_UNKNOWN)
			r = check_reservation(c, &rows[i], err);
		else if (rows[i].state != SNAP_ROW_READY)
			r = check_stale_row(c, &rows[i], err);
		else if (check_stale_temp(c, &rows[i]))
			r = 0;
		else if ((r = check_missing_dir(c, &rows[i], err)) >= 0 && full &&
			 (r = check_interrupted_apply(c, &rows[i], err)) >= 0)
			r = check_unproven_layer(c, &rows[i], err);
	}
	rows_free(rows, n_rows);
	if (r < 0)
		return r;

	_cleanup_(snap_names_done) struct snap_names snaps = { 0 };
	r = snap_dir_list_sorted(snap_core_snapshots_fd(core), NULL, &snaps);
	if (r < 0)
		return snap_error_set(err, r, "list %s/snapshots: %s", snap_core_root(core), strerror(-r));
	for (size_t i = 0; r >= 0 && i < snaps.n; i++)
		r = check_snapshot_dir(c, snaps.v[i], err);
	if (r < 0)
		return r;

	_cleanup_(snap_names_done) struct snap_names staging = { 0 };
	r = snap_dir_list_sorted(snap_core_tmp_fd(core), NULL, &staging);
	if (r < 0)
		return snap_error_set(err, r, "list %s/tmp: %s", snap_core_root(core), strerror(-r));
	for (size_t i = 0; r >= 0 && i < staging.n; i++)
		r = check_staging(c, staging.v[i], err);
	return r;
}

int snap_check(struct snap_core *core, bool repair, snap_check_fn cb, void *userdata, struct snap_error *err)
{
	struct checker c = { .core = core, .repair = repair, .cb = cb, .userdata = userdata };
	int r = run_check(&c, true, err);
	free(c.journaled);
	if (r < 0)
		return r;
	return c.unrepaired;
}

/* containerd's Cleanup: remove what crashes left behind.  Mounts are not
 * touched: a mount is the user's, and only `check --repair` undoes it. */
static int gc_leftovers(struct snap_core *core, struct snap_gc_stats *stats, struct snap_error *err)
{
	struct checker c = { .core = core, .repair = true, .stats = stats };
	int r = run_check(&c, false, err);
	free(c.journaled);
	return r;
}

int snap_cleanup(struct snap_core *core, struct snap_error *err)
{
	struct snap_gc_stats stats = { 0 };
	int r = gc_leftovers(core, &stats, err);
	return r < 0 ? r : 0;
}

/* Append phases here (images, containers, content blobs), in the order
 * documented in check.h. */
static int gc_images(struct snap_core *core, struct snap_gc_stats *stats, struct snap_error *err)
{
	uint64_t blobs = 0, snaps = 0;
	int r = snap_image_gc(core, &blobs, &snaps, err);
	stats->blobs_removed += blobs;
	stats->snapshots_removed += snaps;
	return r;
}

/* Before images: an orphan init layer holds the image's top layer. */
static int gc_containers(struct snap_core *core, struct snap_gc_stats *stats, struct snap_error *err)
{
	uint64_t n = 0;
	int r = snap_container_store_gc(core, &n, err);
	stats->snapshots_removed += n;
	return r;
}

static const struct snap_gc_phase gc_phases[] = {
	{ "containers", gc_containers },
	{ "images", gc_images },
	{ "leftovers", gc_leftovers },
};

const struct snap_gc_phase *snap_gc_phases(size_t *ret_n)
{
	*ret_n = ELEMENTSOF(gc_phases);
	return gc_phases;
}

int snap_gc(struct snap_core *core, struct snap_gc_stats *ret, struct snap_error *err)
{
	struct snap_gc_stats stats = { 0 };
	for (size_t i = 0; i < ELEMENTSOF(gc_phases); i++) {
		int r = gc_phases[i].run(core, &stats, err);
		if (r < 0)
			return snap_error_prefix(err, "gc phase '%s'", gc_phases[i].name);
	}
	if (ret)
		*ret = stats;
	return 0;
}
