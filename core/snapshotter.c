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
 *     -EBUSY), usage is computed outside; txn 2 re-checks the name, asks the
 *     driver to freeze (an O(1) step by contract) and renames the row.
 *   remove: one txn deletes the row (refused while children exist), then
 *     the driver removes the directory; a crash in between leaves an orphan
 *     directory, which cleanup removes.
 */
#include "core.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core-internal.h"
#include "driver-call.h"
#include "filter.h"
#include "fs-util.h"
#include "macro.h"
#include "mount.h"
#include "plugin-api/loader.h"
#include "store.h"

/* A staging directory this core made, and the lock that marks it alive. */
struct staging {
	int fd;
	char *path;
};

struct snap_core {
	char *root;
	int rootfd;
	int snapfd;
	int tmpfd;
	struct snap_store *store;
	struct snap_loader *loader;
	const struct snap_driver *drv;
	void *drv_state;
	void (*notice)(void *ctx, const char *message);
	void *notice_ctx;
	struct staging *staging;
	size_t n_staging;
};

int64_t snap_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- accessors ----------------------------------------------------------- */

const char *snap_core_root(const struct snap_core *core)
{
	return core->root;
}

const char *snap_core_driver_name(const struct snap_core *core)
{
	return core->drv->name;
}

struct sqlite3 *snap_core_db(struct snap_core *core)
{
	return snap_store_db(core->store);
}

struct snap_loader *snap_core_loader(struct snap_core *core)
{
	return core->loader;
}

int snap_core_rootfd(const struct snap_core *core)
{
	return core->rootfd;
}

const struct snap_driver *snap_core_driver(struct snap_core *core)
{
	return core->drv;
}

void *snap_core_driver_state(struct snap_core *core)
{
	return core->drv_state;
}

struct snap_store *snap_core_store(struct snap_core *core)
{
	return core->store;
}

int snap_core_snapshots_fd(const struct snap_core *core)
{
	return core->snapfd;
}

int snap_core_tmp_fd(const struct snap_core *core)
{
	return core->tmpfd;
}

void snap_core_notice(struct snap_core *core, const char *fmt, ...)
{
	if (!core->notice)
		return;
	char buf[SNAP_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	core->notice(core->notice_ctx, buf);
}

void snap_core_snapshot_path(const struct snap_core *core, uint64_t id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/snapshots/%llu", core->root, (unsigned long long)id);
}

int snap_dir_trylock_at(int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

/* ---- rows ---------------------------------------------------------------- */

struct row {
	int64_t id;
	char *key;
	int64_t parent_id; /* 0: none */
	char *parent_key;
	int kind;
	int state;
	int64_t created_ns, updated_ns;
	int64_t size, inodes;
	bool has_usage;
};

static void row_done(struct row *r)
{
	free(r->key);
	free(r->parent_key);
	*r = (struct row){ 0 };
}

#define ROW_COLUMNS                                                                    \
	"s.id, s.key, s.parent_id, p.key, s.kind, s.state, s.created_ns, s.updated_ns, " \
	"s.size, s.inodes"

static int row_read(sqlite3_stmt *st, struct row *ret)
{
	struct row r = { 0 };
	r.id = sqlite3_column_int64(st, 0);
	const char *k = (const char *)sqlite3_column_text(st, 1);
	r.key = strdup(k ? k : "");
	r.parent_id = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
	const char *pk = (const char *)sqlite3_column_text(st, 3);
	r.parent_key = pk ? strdup(pk) : NULL;
	r.kind = sqlite3_column_int(st, 4);
	r.state = sqlite3_column_int(st, 5);
	r.created_ns = sqlite3_column_int64(st, 6);
	r.updated_ns = sqlite3_column_int64(st, 7);
	r.has_usage = sqlite3_column_type(st, 8) != SQLITE_NULL;
	r.size = sqlite3_column_int64(st, 8);
	r.inodes = sqlite3_column_int64(st, 9);
	if (!r.key || (pk && !r.parent_key)) {
		row_done(&r);
		return -ENOMEM;
	}
	*ret = r;
	return 0;
}

/* Row of `key` in any state; -ENOENT (message "snapshot 'k' does not exist")
 * when absent. */
static int row_by_key(struct snap_core *core, const char *key, struct row *ret, struct snap_error *err)
{
	static const char sql[] = "SELECT " ROW_COLUMNS " FROM snapshots s "
				  "LEFT JOIN snapshots p ON p.id = s.parent_id WHERE s.key = ?1";
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(core->store, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return snap_error_set(err, -ENOENT, "snapshot '%s' does not exist", key);
	if (rc != SQLITE_ROW)
		return snap_store_error(core->store, rc, err, "read snapshot '%s'", key);
	r = row_read(st, ret);
	if (r < 0)
		return snap_error_set(err, r, "read snapshot '%s': out of memory", key);
	return 0;
}

/* Published row of `key`: rows still being created are invisible. */
static int row_visible(struct snap_core *core, const char *key, struct row *ret, struct snap_error *err)
{
	struct row r = { 0 };
	int q = row_by_key(core, key, &r, err);
	if (q < 0)
		return q;
	if (r.state == SNAP_ROW_CREATING) {
		row_done(&r);
		return snap_error_set(err, -ENOENT, "snapshot '%s' does not exist (being created)", key);
	}
	*ret = r;
	return 0;
}

static int labels_load(struct snap_core *core, int64_t id, struct snap_labels *ret, struct snap_error *err)
{
	static const char sql[] = "SELECT key, value FROM snapshot_labels WHERE snapshot_id = ?1 ORDER BY key";
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(core->store, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	struct snap_labels l = { 0 };
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = snap_labels_set(&l, (const char *)sqlite3_column_text(st, 0),
				    (const char *)sqlite3_column_text(st, 1));
		if (r < 0) {
			snap_labels_done(&l);
			return snap_error_set(err, r, "read labels: out of memory");
		}
	}
	if (rc != SQLITE_DONE) {
		snap_labels_done(&l);
		return snap_store_error(core->store, rc, err, "read labels of snapshot %lld", (long long)id);
	}
	*ret = l;
	return 0;
}

static int labels_store(struct snap_core *core, int64_t id, const struct snap_labels *labels,
			struct snap_error *err)
{
	static const char del[] = "DELETE FROM snapshot_labels WHERE snapshot_id = ?1";
	static const char ins[] = "INSERT INTO snapshot_labels(snapshot_id, key, value) VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(core->store, del, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(core->store, rc, err, "write labels");
	if (!labels)
		return 0;
	r = snap_store_stmt(core->store, ins, &st, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < labels->n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, labels->v[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, labels->v[i].value, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE) {
			sqlite3_reset(st);
			return snap_store_error(core->store, rc, err, "write label '%s'", labels->v[i].key);
		}
	}
	sqlite3_reset(st);
	return 0;
}

/* containerd's labels.Validate: key and value together at most 4096 bytes. */
#define LABEL_MAX 4096

static int labels_validate(const struct snap_labels *labels, struct snap_error *err)
{
	if (!labels)
		return 0;
	for (size_t i = 0; i < labels->n; i++) {
		const char *k = labels->v[i].key, *v = labels->v[i].value;
		if (!k || !*k)
			return snap_error_set(err, -EINVAL, "label with an empty key");
		if (!v)
			return snap_error_set(err, -EINVAL, "label '%s' has no value", k);
		if (strlen(k) + strlen(v) > LABEL_MAX)
			return snap_error_set(err, -EINVAL, "label '%.64s...' is longer than %d bytes", k,
					      LABEL_MAX);
	}
	return 0;
}

static int key_validate(const char *what, const char *key, struct snap_error *err)
{
	if (!key || !*key)
		return snap_error_set(err, -EINVAL, "%s: empty snapshot key", what);
	if (strlen(key) > 4096)
		return snap_error_set(err, -EINVAL, "%s: snapshot key longer than 4096 bytes", what);
	return 0;
}

static int exec_id(struct snap_core *core, const char *sql, int64_t id, int64_t a, struct snap_error *err)
{
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(core->store, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, a);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(core->store, rc, err, "update snapshot %lld", (long long)id);
	return 0;
}

static int set_state(struct snap_core *core, int64_t id, int state, struct snap_error *err)
{
	static const char sql[] = "UPDATE snapshots SET state = ?2 WHERE id = ?1";
	return exec_id(core, sql, id, state, err);
}

static int delete_row(struct snap_core *core, int64_t id, struct snap_error *err)
{
	static const char sql[] = "DELETE FROM snapshots WHERE id = ?1";
	return exec_id(core, sql, id, 0, err);
}

static int count_children(struct snap_core *core, int64_t id, int64_t *ret, struct snap_error *err)
{
	static const char sql[] = "SELECT count(*) FROM snapshots WHERE parent_id = ?1";
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(core->store, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return snap_store_error(core->store, rc, err, "count children of snapshot %lld", (long long)id);
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

/* ---- info ---------------------------------------------------------------- */

void snap_info_done(struct snap_info *info)
{
	if (!info)
		return;
	free(info->key);
	free(info->parent);
	snap_labels_done(&info->labels);
	*info = (struct snap_info){ 0 };
}

static int info_from_row(struct snap_core *core, struct row *row, struct snap_info *ret, struct snap_error *err)
{
	struct snap_info info = {
		.id = (uint64_t)row->id,
		.key = TAKE_PTR(row->key),
		.parent = TAKE_PTR(row->parent_key),
		.kind = row->kind,
		.created_ns = row->created_ns,
		.updated_ns = row->updated_ns,
	};
	int r = labels_load(core, row->id, &info.labels, err);
	if (r < 0) {
		snap_info_done(&info);
		return r;
	}
	*ret = info;
	return 0;
}

int snap_stat(struct snap_core *core, const char *key, struct snap_info *ret, struct snap_error *err)
{
	int r = key_validate("stat", key, err);
	if (r < 0)
		return r;
	struct row row = { 0 };
	r = row_visible(core, key, &row, err);
	if (r < 0)
		return r;
	r = info_from_row(core, &row, ret, err);
	row_done(&row);
	return r;
}

/* ---- chains -------------------------------------------------------------- */

struct chain_storage {
	char **strings;
	size_t n_strings;
	struct snap_labels *labels; /* one per ref: self first, then parents */
	size_t n_labels;
};

static char *chain_strdup(struct chain_storage *cs, const char *s)
{
	char **n = realloc(cs->strings, (cs->n_strings + 1) * sizeof(*n));
	if (!n)
		return NULL;
	cs->strings = n;
	char *c = strdup(s);
	if (c)
		cs->strings[cs->n_strings++] = c;
	return c;
}

void snap_chain_done(struct snap_chain_owned *c)
{
	if (!c)
		return;
	struct chain_storage *cs = c->storage;
	if (cs) {
		for (size_t i = 0; i < cs->n_strings; i++)
			free(cs->strings[i]);
		free(cs->strings);
		for (size_t i = 0; i < cs->n_labels; i++)
			snap_labels_done(&cs->labels[i]);
		free(cs->labels);
		free(cs);
	}
	free(c->parents);
	*c = (struct snap_chain_owned){ 0 };
}

static int ref_fill(struct snap_core *core, struct chain_storage *cs, size_t slot, int64_t id, const char *key,
		    int kind, struct snap_ref *ref, struct snap_error *err)
{
	char path[PATH_MAX];
	snap_core_snapshot_path(core, (uint64_t)id, path, sizeof(path));
	*ref = (struct snap_ref){ .id = (uint64_t)id, .kind = kind };
	ref->key = chain_strdup(cs, key);
	ref->path = chain_strdup(cs, path);
	if (!ref->key || !ref->path)
		return snap_error_set(err, -ENOMEM, "snapshot chain: out of memory");
	int r = labels_load(core, id, &cs->labels[slot], err);
	if (r < 0)
		return r;
	ref->labels = cs->labels[slot].v;
	ref->n_labels = cs->labels[slot].n;
	return 0;
}

/* The chain of the snapshot with row `self`, nearest parent first. */
static int chain_build(struct snap_core *core, const struct row *self, struct snap_chain_owned *ret,
		       struct snap_error *err)
{
	static const char sql[] =
		"WITH RECURSIVE chain(id, depth) AS ("
		"  SELECT parent_id, 1 FROM snapshots WHERE id = ?1 AND parent_id IS NOT NULL"
		"  UNION ALL"
		"  SELECT s.parent_id, c.depth + 1 FROM snapshots s JOIN chain c ON s.id = c.id"
		"  WHERE s.parent_id IS NOT NULL"
		") SELECT s.id, s.key, s.kind FROM chain c JOIN snapshots s ON s.id = c.id ORDER BY c.depth";
	_cleanup_(snap_chain_done) struct snap_chain_owned c = { 0 };
	struct chain_storage *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return snap_error_set(err, -ENOMEM, "snapshot chain: out of memory");
	c.storage = cs;

	struct {
		int64_t id;
		char *key;
		int kind;
	} *links = NULL;
	size_t n = 0;
	{
		_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
		int r = snap_store_stmt(core->store, sql, &st, err);
		if (r < 0)
			return r;
		sqlite3_bind_int64(st, 1, self->id);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			void *nl = realloc(links, (n + 1) * sizeof(*links));
			if (!nl)
				break;
			links = nl;
			links[n].id = sqlite3_column_int64(st, 0);
			links[n].key = chain_strdup(cs, (const char *)sqlite3_column_text(st, 1));
			links[n].kind = sqlite3_column_int(st, 2);
			n++;
		}
		if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
			free(links);
			return snap_store_error(core->store, rc, err, "read parents of snapshot '%s'", self->key);
		}
		if (rc == SQLITE_ROW) {
			free(links);
			return snap_error_set(err, -ENOMEM, "snapshot chain: out of memory");
		}
	}
	cs->labels = calloc(n + 1, sizeof(*cs->labels));
	c.parents = calloc(n ? n : 1, sizeof(*c.parents));
	if (!cs->labels || !c.parents) {
		free(links);
		return snap_error_set(err, -ENOMEM, "snapshot chain: out of memory");
	}
	cs->n_labels = n + 1;
	int r = ref_fill(core, cs, 0, self->id, self->key, self->kind, &c.self, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (!links[i].key)
			r = snap_error_set(err, -ENOMEM, "snapshot chain: out of memory");
		else
			r = ref_fill(core, cs, i + 1, links[i].id, links[i].key, links[i].kind, &c.parents[i], err);
	}
	free(links);
	if (r < 0)
		return r;
	c.n = n;
	*ret = c;
	c = (struct snap_chain_owned){ 0 };
	return 0;
}

int snap_chain_get(struct snap_core *core, const char *key, struct snap_chain_owned *ret, struct snap_error *err)
{
	struct row row = { 0 };
	int r = row_visible(core, key, &row, err);
	if (r < 0)
		return r;
	r = chain_build(core, &row, ret, err);
	row_done(&row);
	return r;
}

static struct snap_chain chain_of(const struct snap_chain_owned *c)
{
	return (struct snap_chain){ .refs = c->parents, .n = c->n };
}

/* ---- prepare / view ------------------------------------------------------ */

static int insert_row(struct snap_core *core, const char *key, int64_t parent_id, int kind,
		      const struct snap_labels *labels, int64_t *ret_id, struct snap_error *err)
{
	static const char sql[] = "INSERT INTO snapshots(key, parent_id, kind, state, created_ns, updated_ns) "
				  "VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
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
		int rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			return snap_store_error(core->store, rc, err, "insert snapshot '%s'", key);
	}
	int64_t id = sqlite3_last_insert_rowid(snap_store_db(core->store));
	int r = labels_store(core, id, labels, err);
	if (r < 0)
		return r;
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
	if (snap_txn_begin(core->store, &txn, &e) < 0 || delete_row(core, id, &e) < 0 ||
	    snap_txn_commit(&txn, &e) < 0)
		snap_core_notice(core, "warning: snapshot '%s' left half-created (run check --repair): %s",
				 key, e.message);
}

static int create_snapshot(struct snap_core *core, int kind, const char *key, const char *parent,
			   const struct snap_labels *labels, struct snap_mounts *ret_mounts,
			   struct snap_error *err)
{
	const char *what = kind == SNAP_KIND_VIEW ? "view" : "prepare";
	int r = key_validate(what, key, err);
	if (r < 0)
		return r;
	r = labels_validate(labels, err);
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
	char name[32];
	_cleanup_close_ int lockfd = -EBADF;
	{
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(core->store, &txn, err);
		if (r < 0)
			return snap_error_prefix(err, "%s '%s'", what, key);
		struct row existing = { 0 };
		r = row_by_key(core, key, &existing, err);
		if (r == 0) {
			row_done(&existing);
			return snap_error_set(err, -EEXIST, "%s '%s': snapshot '%s' already exists", what, key, key);
		}
		if (r != -ENOENT)
			return r;
		int64_t parent_id = 0;
		if (parent) {
			struct row p = { 0 };
			r = row_by_key(core, parent, &p, err);
			if (r == -ENOENT)
				return snap_error_set(err, -ENOENT, "%s '%s': parent snapshot '%s' does not exist",
						      what, key, parent);
			if (r < 0)
				return r;
			parent_id = p.id;
			bool committed = p.kind == SNAP_KIND_COMMITTED && p.state == SNAP_ROW_READY;
			int pkind = p.kind;
			row_done(&p);
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
		if (mkdirat(core->snapfd, name, 0700) < 0)
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
	struct row self = { .id = id, .key = (char *)key, .kind = kind };
	r = chain_build(core, &self, &chain, err);
	if (r < 0) {
		snap_error_prefix(err, "%s '%s'", what, key);
		abandon_created(core, id, key, kind);
		return r;
	}
	struct snap_chain parents = chain_of(&chain);
	r = snap_drv_create(core->drv, core->drv_state, &chain.self, &parents, err);
	if (r < 0) {
		snap_error_prefix(err, "%s '%s'", what, key);
		abandon_created(core, id, key, kind);
		return r;
	}

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
			r = set_state(core, id, SNAP_ROW_READY, err);
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
	return 0;
}

int snap_prepare(struct snap_core *core, const char *key, const char *parent, const struct snap_labels *labels,
		 struct snap_mounts *ret_mounts, struct snap_error *err)
{
	return create_snapshot(core, SNAP_KIND_ACTIVE, key, parent, labels, ret_mounts, err);
}

int snap_view(struct snap_core *core, const char *key, const char *parent, const struct snap_labels *labels,
	      struct snap_mounts *ret_mounts, struct snap_error *err)
{
	return create_snapshot(core, SNAP_KIND_VIEW, key, parent, labels, ret_mounts, err);
}

/* ---- commit -------------------------------------------------------------- */

static int name_taken(struct snap_core *core, const char *name, bool *ret, struct snap_error *err)
{
	struct row r = { 0 };
	int q = row_by_key(core, name, &r, err);
	if (q == -ENOENT) {
		snap_error_clear(err);
		*ret = false;
		return 0;
	}
	if (q < 0)
		return q;
	row_done(&r);
	*ret = true;
	return 0;
}

static void commit_revert(struct snap_core *core, int64_t id, const char *key)
{
	struct snap_error e = { 0 };
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	if (snap_txn_begin(core->store, &txn, &e) < 0 || set_state(core, id, SNAP_ROW_READY, &e) < 0 ||
	    snap_txn_commit(&txn, &e) < 0)
		snap_core_notice(core, "warning: snapshot '%s' left marked as committing (run check --repair): %s",
				 key, e.message);
}

int snap_commit(struct snap_core *core, const char *name, const char *key, const struct snap_labels *labels,
		struct snap_error *err)
{
	int r = key_validate("commit", name, err);
	if (r < 0)
		return r;
	r = key_validate("commit", key, err);
	if (r < 0)
		return r;
	r = labels_validate(labels, err);
	if (r < 0)
		return snap_error_prefix(err, "commit '%s' as '%s'", key, name);

	struct row row = { 0 };
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
		r = row_visible(core, key, &row, err);
		if (r < 0)
			return snap_error_prefix(err, "commit");
		if (row.kind != SNAP_KIND_ACTIVE || row.state != SNAP_ROW_READY) {
			r = snap_error_set(err, -EBUSY, "commit '%s': snapshot is %s, not active%s", key,
					   row.state == SNAP_ROW_COMMITTING ? "being committed" : snap_kind_name(row.kind),
					   row.kind == SNAP_KIND_VIEW ? " (views cannot be committed)" : "");
			row_done(&row);
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
			row_done(&row);
			return r;
		}
		r = set_state(core, row.id, SNAP_ROW_COMMITTING, err);
		if (r >= 0)
			r = snap_txn_commit(&txn, err);
		if (r < 0) {
			row_done(&row);
			return snap_error_prefix(err, "commit '%s'", key);
		}
	}

	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	r = chain_build(core, &row, &chain, err);
	struct snap_usage usage = { 0 };
	if (r >= 0)
		r = snap_drv_usage(core->drv, core->drv_state, &chain.self, &usage, err);
	if (r < 0) {
		snap_error_prefix(err, "commit '%s'", key);
		commit_revert(core, row.id, key);
		row_done(&row);
		return r;
	}

	{
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(core->store, &txn, err);
		bool taken = false;
		if (r >= 0)
			r = name_taken(core, name, &taken, err);
		if (r >= 0 && taken)
			r = snap_error_set(err, -EEXIST, "commit '%s': snapshot '%s' already exists", key, name);
		/* The freeze runs under the write lock so that the rename
		 * cannot fail after it; drivers keep it O(1). */
		if (r >= 0)
			r = snap_drv_commit(core->drv, core->drv_state, &chain.self, err);
		if (r >= 0) {
			static const char sql[] = "UPDATE snapshots SET key = ?2, kind = ?3, state = ?4, "
						  "created_ns = ?5, updated_ns = ?5, size = ?6, inodes = ?7 "
						  "WHERE id = ?1";
			_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
			r = snap_store_stmt(core->store, sql, &st, err);
			if (r >= 0) {
				sqlite3_bind_int64(st, 1, row.id);
				sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
				sqlite3_bind_int(st, 3, SNAP_KIND_COMMITTED);
				sqlite3_bind_int(st, 4, SNAP_ROW_READY);
				sqlite3_bind_int64(st, 5, snap_now_ns());
				sqlite3_bind_int64(st, 6, usage.size);
				sqlite3_bind_int64(st, 7, usage.inodes);
				int rc = sqlite3_step(st);
				if (rc != SQLITE_DONE)
					r = snap_store_error(core->store, rc, err, "commit '%s' as '%s'", key, name);
			}
		}
		/* containerd: commit labels replace the active's, never inherit. */
		if (r >= 0)
			r = labels_store(core, row.id, labels, err);
		if (r >= 0)
			r = snap_txn_commit(&txn, err);
		if (r < 0) {
			snap_txn_done(&txn);
			if (r != -EEXIST)
				snap_error_prefix(err, "commit '%s'", key);
			commit_revert(core, row.id, key);
			row_done(&row);
			return r;
		}
	}
	row_done(&row);
	return 0;
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
	r = snap_rm_rf_at(core->snapfd, name);
	if (r < 0)
		return snap_error_set(err, r, "remove %s: %s", path, strerror(-r));
	return 0;
}

int snap_remove(struct snap_core *core, const char *key, struct snap_error *err)
{
	int r = key_validate("remove", key, err);
	if (r < 0)
		return r;
	struct row row = { 0 };
	_cleanup_close_ int lockfd = -EBADF;
	{
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(core->store, &txn, err);
		if (r < 0)
			return snap_error_prefix(err, "remove '%s'", key);
		r = row_visible(core, key, &row, err);
		if (r < 0)
			return snap_error_prefix(err, "remove");
		if (row.state != SNAP_ROW_READY) {
			row_done(&row);
			return snap_error_set(err, -EBUSY, "remove '%s': snapshot is being committed", key);
		}
		int64_t children = 0;
		r = count_children(core, row.id, &children, err);
		if (r >= 0 && children > 0)
			r = snap_error_set(err, -EBUSY, "remove '%s': snapshot has %lld child snapshot%s", key,
					   (long long)children, children == 1 ? "" : "s");
		if (r < 0) {
			row_done(&row);
			return r;
		}
		char name[32];
		snprintf(name, sizeof(name), "%lld", (long long)row.id);
		lockfd = snap_dir_trylock_at(core->snapfd, name);
		if (lockfd == -EWOULDBLOCK) {
			row_done(&row);
			return snap_error_set(err, -EBUSY, "remove '%s': snapshot in use by another process", key);
		}
		r = delete_row(core, row.id, err);
		if (r >= 0)
			r = snap_txn_commit(&txn, err);
		if (r < 0) {
			row_done(&row);
			return snap_error_prefix(err, "remove '%s'", key);
		}
	}
	/* The row is gone: from here on the directory is an orphan that
	 * cleanup would also remove, so a failure is reported, not returned. */
	struct snap_error e = { 0 };
	if (snap_core_remove_dir(core, (uint64_t)row.id, key, row.kind, &e) < 0)
		snap_core_notice(core, "warning: snapshot '%s' removed, its directory is left for gc: %s", key,
				 e.message);
	row_done(&row);
	return 0;
}

/* ---- update / labels ----------------------------------------------------- */

static int touch_updated(struct snap_core *core, int64_t id, struct snap_error *err)
{
	static const char sql[] = "UPDATE snapshots SET updated_ns = ?2 WHERE id = ?1";
	return exec_id(core, sql, id, snap_now_ns(), err);
}

int snap_update(struct snap_core *core, const char *key, const struct snap_labels *labels,
		const char *const *paths, size_t n_paths, struct snap_info *ret, struct snap_error *err)
{
	int r = key_validate("update", key, err);
	if (r < 0)
		return r;
	r = labels_validate(labels, err);
	if (r < 0)
		return snap_error_prefix(err, "update '%s'", key);
	static const struct snap_labels empty = { 0 };
	if (!labels)
		labels = &empty;

	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	r = snap_txn_begin(core->store, &txn, err);
	if (r < 0)
		return snap_error_prefix(err, "update '%s'", key);
	struct row row = { 0 };
	r = row_visible(core, key, &row, err);
	if (r < 0)
		return snap_error_prefix(err, "update");
	int64_t id = row.id;
	row_done(&row);

	_cleanup_(snap_labels_done) struct snap_labels cur = { 0 };
	if (n_paths == 0) {
		r = snap_labels_copy(&cur, labels);
		if (r < 0)
			return snap_error_set(err, r, "update '%s': out of memory", key);
	} else {
		r = labels_load(core, id, &cur, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n_paths; i++) {
			const char *p = paths[i];
			if (p && strncmp(p, "labels.", 7) == 0 && p[7]) {
				r = snap_labels_set(&cur, p + 7, snap_labels_get(labels, p + 7));
			} else if (p && strcmp(p, "labels") == 0) {
				snap_labels_done(&cur);
				r = snap_labels_copy(&cur, labels);
			} else {
				return snap_error_set(err, -EINVAL, "update '%s': cannot update field '%s'", key,
						      p ? p : "(null)");
			}
			if (r < 0)
				return snap_error_set(err, r, "update '%s': out of memory", key);
		}
	}
	r = labels_store(core, id, &cur, err);
	if (r >= 0)
		r = touch_updated(core, id, err);
	if (r >= 0)
		r = snap_txn_commit(&txn, err);
	if (r < 0)
		return snap_error_prefix(err, "update '%s'", key);
	if (ret)
		return snap_stat(core, key, ret, err);
	return 0;
}

int snap_label_edit(struct snap_core *core, const char *key, const struct snap_labels *edits,
		    struct snap_error *err)
{
	int r = key_validate("label", key, err);
	if (r < 0)
		return r;
	r = labels_validate(edits, err);
	if (r < 0)
		return snap_error_prefix(err, "label '%s'", key);
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	r = snap_txn_begin(core->store, &txn, err);
	if (r < 0)
		return snap_error_prefix(err, "label '%s'", key);
	struct row row = { 0 };
	r = row_visible(core, key, &row, err);
	if (r < 0)
		return snap_error_prefix(err, "label");
	int64_t id = row.id;
	row_done(&row);
	_cleanup_(snap_labels_done) struct snap_labels cur = { 0 };
	r = labels_load(core, id, &cur, err);
	if (r < 0)
		return r;
	for (size_t i = 0; edits && i < edits->n; i++) {
		/* "K=" removes K, as in `ctr snapshots label`. */
		const char *v = edits->v[i].value;
		r = snap_labels_set(&cur, edits->v[i].key, v && *v ? v : NULL);
		if (r < 0)
			return snap_error_set(err, r, "label '%s': out of memory", key);
	}
	r = labels_store(core, id, &cur, err);
	if (r >= 0)
		r = touch_updated(core, id, err);
	if (r >= 0)
		r = snap_txn_commit(&txn, err);
	if (r < 0)
		return snap_error_prefix(err, "label '%s'", key);
	return 0;
}

/* ---- mounts / usage / tree ----------------------------------------------- */

/* Row and chain of an active snapshot or view (containerd: mounts of a
 * committed snapshot is FailedPrecondition). */
static int active_chain(struct snap_core *core, const char *what, const char *key,
			struct snap_chain_owned *ret, struct snap_error *err)
{
	int r = key_validate(what, key, err);
	if (r < 0)
		return r;
	struct row row = { 0 };
	r = row_visible(core, key, &row, err);
	if (r < 0)
		return snap_error_prefix(err, "%s", what);
	if (row.kind == SNAP_KIND_COMMITTED) {
		row_done(&row);
		return snap_error_set(err, -EBUSY, "%s '%s': snapshot is committed, not active or view", what, key);
	}
	r = chain_build(core, &row, ret, err);
	row_done(&row);
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
	struct snap_chain parents = chain_of(&chain);
	r = snap_drv_mounts(core->drv, core->drv_state, &chain.self, &parents, ret, err);
	if (r < 0)
		return snap_error_prefix(err, "mounts '%s'", key);
	return 0;
}

int snap_usage_get(struct snap_core *core, const char *key, struct snap_usage *ret, struct snap_error *err)
{
	int r = key_validate("usage", key, err);
	if (r < 0)
		return r;
	struct row row = { 0 };
	r = row_visible(core, key, &row, err);
	if (r < 0)
		return snap_error_prefix(err, "usage");
	if (row.kind == SNAP_KIND_COMMITTED && row.has_usage) {
		*ret = (struct snap_usage){ .size = row.size, .inodes = row.inodes };
		row_done(&row);
		return 0;
	}
	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	r = chain_build(core, &row, &chain, err);
	row_done(&row);
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

int snap_mount_at(struct snap_core *core, const char *key, const char *target, unsigned flags,
		  struct snap_error *err)
{
	if (!target || !*target)
		return snap_error_set(err, -EINVAL, "mount '%s': no target", key ? key : "");
	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	int r = active_chain(core, "mount", key, &chain, err);
	if (r < 0)
		return r;
	struct snap_chain parents = chain_of(&chain);
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
	static const char sql[] = "SELECT " ROW_COLUMNS " FROM snapshots s "
				  "LEFT JOIN snapshots p ON p.id = s.parent_id "
				  "WHERE s.state != ?1 ORDER BY s.key";
	/* Collect first, call back after: the callback may itself change
	 * the store, which must not happen under an open read statement. */
	struct snap_info *infos = NULL;
	size_t n = 0;
	{
		_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
		r = snap_store_stmt(core->store, sql, &st, err);
		if (r < 0)
			return r;
		sqlite3_bind_int(st, 1, SNAP_ROW_CREATING);
		int rc;
		while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct row row = { 0 };
			r = row_read(st, &row);
			if (r < 0) {
				r = snap_error_set(err, r, "walk snapshots: out of memory");
				break;
			}
			struct snap_info info = { 0 };
			r = info_from_row(core, &row, &info, err);
			row_done(&row);
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

/* ---- staging ------------------------------------------------------------- */

int snap_core_mkstaging(struct snap_core *core, const char *what, char **ret_path, struct snap_error *err)
{
	if (!what || !*what || strchr(what, '/'))
		return snap_error_set(err, -EINVAL, "staging directory: bad name '%s'", what ? what : "");
	struct staging *n = realloc(core->staging, (core->n_staging + 1) * sizeof(*n));
	if (!n)
		return snap_error_set(err, -ENOMEM, "staging directory: out of memory");
	core->staging = n;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/tmp/%s-XXXXXX", core->root, what) < 0)
		return snap_error_set(err, -ENOMEM, "staging directory: out of memory");
	/* Made and locked under the metadata write lock, for the same reason
	 * as snapshot directories: check decides about tmp/ entries under
	 * that lock, so it never sees one that is not locked yet. */
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(core->store, &txn, err);
	if (r < 0)
		return snap_error_prefix(err, "make staging directory");
	if (!mkdtemp(path))
		return snap_error_set(err, negative_errno(), "make staging directory %s: %s", path, strerror(errno));
	int fd = snap_dir_trylock_at(core->tmpfd, strrchr(path, '/') + 1);
	if (fd < 0) {
		r = snap_error_set(err, fd, "lock staging directory %s: %s", path, strerror(-fd));
		rmdir(path);
		return r;
	}
	snap_txn_done(&txn); /* nothing written: release the lock */
	char *copy = strdup(path);
	if (!copy) {
		close(fd);
		rmdir(path);
		return snap_error_set(err, -ENOMEM, "staging directory: out of memory");
	}
	core->staging[core->n_staging++] = (struct staging){ .fd = fd, .path = copy };
	*ret_path = TAKE_PTR(path);
	return 0;
}

void snap_core_staging_done(struct snap_core *core, const char *path)
{
	for (size_t i = 0; path && i < core->n_staging; i++) {
		if (strcmp(core->staging[i].path, path) != 0)
			continue;
		close(core->staging[i].fd);
		free(core->staging[i].path);
		core->staging[i] = core->staging[--core->n_staging];
		return;
	}
}

/* ---- open / close -------------------------------------------------------- */

void snap_core_close(struct snap_core *core)
{
	if (!core)
		return;
	if (core->drv && core->drv_state)
		snap_drv_close(core->drv, core->drv_state);
	snap_store_close(core->store);
	for (size_t i = 0; i < core->n_staging; i++) {
		close(core->staging[i].fd);
		free(core->staging[i].path);
	}
	free(core->staging);
	if (core->rootfd >= 0)
		close(core->rootfd);
	if (core->snapfd >= 0)
		close(core->snapfd);
	if (core->tmpfd >= 0)
		close(core->tmpfd);
	/* The loader goes last: a plugin's code must stay mapped until its
	 * close() has run. */
	snap_loader_free(core->loader);
	free(core->root);
	free(core);
}

static int setup_loader(struct snap_core *core, const struct snap_core_opts *opts, struct snap_error *err)
{
	int r = snap_loader_new(&core->loader);
	if (r < 0)
		return snap_error_set(err, r, "driver registry: out of memory");
	if (!(opts->flags & SNAP_CORE_NO_BUILTINS)) {
		r = snap_loader_add_builtins(core->loader);
		if (r < 0)
			return snap_error_set(err, r, "register built-in drivers: %s", strerror(-r));
	}
	if (opts->plugin_dir) {
		snap_loader_load_path(core->loader, opts->plugin_dir);
	} else {
		const char *env = getenv("SNAPCTL_PLUGIN_PATH");
		if (env && *env) {
			snap_loader_load_path(core->loader, env);
		} else {
			struct snap_error e = { 0 };
			if (snap_loader_load_dir(core->loader, SNAPCTL_PLUGIN_DIR, true, &e) < 0)
				snap_loader_record_error(core->loader, e.message);
		}
	}
	for (size_t i = 0; i < snap_loader_n_errors(core->loader); i++)
		snap_core_notice(core, "warning: %s", snap_loader_error(core->loader, i));
	return 0;
}

static int unknown_driver(struct snap_core *core, const char *name, struct snap_error *err)
{
	char names[512];
	snap_loader_names(core->loader, names, sizeof(names));
	return snap_error_set(err, -EINVAL, "unknown driver '%s' (available: %s)", name, names[0] ? names : "none");
}

/* The driver for `auto` on a root without one: overlay where it can run,
 * else vfs. */
static const struct snap_driver *pick_auto(struct snap_core *core)
{
	const struct snap_driver *ovl = snap_loader_find(core->loader, "overlay");
	if (ovl) {
		struct snap_error e = { 0 };
		if (snap_drv_probe(ovl, core->root, &e) == 0)
			return ovl;
	}
	return snap_loader_find(core->loader, "vfs");
}

static int open_dirs(struct snap_core *core, bool create, struct snap_error *err)
{
	static const char *const subdirs[] = { "snapshots", "tmp", "content", "content/sha256" };
	for (size_t i = 0; create && i < ELEMENTSOF(subdirs); i++)
		if (mkdirat(core->rootfd, subdirs[i], 0700) < 0 && errno != EEXIST)
			return snap_error_set(err, negative_errno(), "create %s/%s: %s", core->root, subdirs[i],
					      strerror(errno));
	core->snapfd = openat(core->rootfd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (core->snapfd < 0)
		return snap_error_set(err, negative_errno(), "open %s/snapshots: %s", core->root, strerror(errno));
	core->tmpfd = openat(core->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (core->tmpfd < 0)
		return snap_error_set(err, negative_errno(), "open %s/tmp: %s", core->root, strerror(errno));
	return 0;
}

int snap_core_open(const struct snap_core_opts *opts, struct snap_core **ret, struct snap_error *err)
{
	if (!opts || !opts->root || !*opts->root)
		return snap_error_set(err, -EINVAL, "open root: no root directory given");
	_cleanup_(snap_core_closep) struct snap_core *core = calloc(1, sizeof(*core));
	if (!core)
		return snap_error_set(err, -ENOMEM, "open root %s: out of memory", opts->root);
	core->rootfd = core->snapfd = core->tmpfd = -EBADF;
	core->notice = opts->notice;
	core->notice_ctx = opts->notice_ctx;

	int r = setup_loader(core, opts, err);
	if (r < 0)
		return r;

	/* Refuse an unknown driver before anything is created. */
	const char *want = opts->driver && *opts->driver && strcmp(opts->driver, "auto") != 0 ? opts->driver : NULL;
	if (want && !snap_loader_find(core->loader, want))
		return unknown_driver(core, want, err);

	bool created_root = false;
	if (!(opts->flags & SNAP_CORE_READONLY)) {
		struct stat st;
		if (stat(opts->root, &st) < 0 && errno == ENOENT)
			created_root = true;
		r = snap_mkdir_p(opts->root, 0700);
		if (r < 0)
			return snap_error_set(err, r, "create root %s: %s", opts->root, strerror(-r));
	}
	core->root = realpath(opts->root, NULL);
	if (!core->root)
		return snap_error_set(err, negative_errno(), "open root %s: %s", opts->root, strerror(errno));
	core->rootfd = open(core->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (core->rootfd < 0)
		return snap_error_set(err, negative_errno(), "open root %s: %s", core->root, strerror(errno));

	char dbpath[PATH_MAX];
	snprintf(dbpath, sizeof(dbpath), "%s/metadata.db", core->root);
	r = snap_store_open(dbpath, opts->flags & SNAP_CORE_READONLY ? SNAP_STORE_READONLY : 0, &core->store, err);
	if (r < 0) {
		if (created_root)
			rmdir(core->root);
		return r;
	}

	_cleanup_free_ char *recorded = NULL;
	struct snap_error e = { 0 };
	r = snap_store_meta_get(core->store, "driver", &recorded, &e);
	if (r < 0 && r != -ENOENT)
		return snap_error_set(err, r, "open root %s: %s", core->root, e.message);
	if (recorded) {
		if (want && strcmp(want, recorded) != 0)
			return snap_error_set(err, -EINVAL,
					      "root %s was created with driver '%s', not '%s' (use --driver=%s or another --root)",
					      core->root, recorded, want, recorded);
		core->drv = snap_loader_find(core->loader, recorded);
		if (!core->drv)
			return snap_error_set(err, -ENOENT,
					      "root %s was created with driver '%s', which is not available here",
					      core->root, recorded);
	} else {
		core->drv = want ? snap_loader_find(core->loader, want) : pick_auto(core);
		if (!core->drv)
			return unknown_driver(core, "auto", err);
	}

	r = snap_drv_probe(core->drv, core->root, err);
	if (r < 0)
		return snap_error_prefix(err, "driver '%s' cannot run on %s", core->drv->name, core->root);

	r = open_dirs(core, !(opts->flags & SNAP_CORE_READONLY), err);
	if (r < 0)
		return r;

	struct snap_driver_opts dopts = {
		.root = core->root,
		.btrfs_size = opts->btrfs_size ? opts->btrfs_size : "16G",
		.flags = recorded ? 0 : SNAP_OPEN_CREATE,
		.notice = opts->notice,
		.notice_ctx = opts->notice_ctx,
	};
	r = snap_drv_open(core->drv, &dopts, &core->drv_state, err);
	if (r < 0)
		return snap_error_prefix(err, "open driver '%s' on %s", core->drv->name, core->root);
	/* The driver may have mounted its own filesystem on ROOT/snapshots
	 * (btrfs on a loopback image): the fd taken before names the covered
	 * directory, where new snapshot dirs would land out of the driver's
	 * sight.  Take it again. */
	int sfd = openat(core->rootfd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return snap_error_set(err, negative_errno(), "open %s/snapshots: %s", core->root, strerror(errno));
	close(core->snapfd);
	core->snapfd = sfd;

	if (!recorded) {
		/* Record the driver; a concurrent first open by another
		 * process may have won, and its choice stands. */
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(core->store, &txn, err);
		if (r < 0)
			return r;
		r = snap_store_meta_get(core->store, "driver", &recorded, &e);
		if (r == -ENOENT)
			r = snap_store_meta_set(core->store, "driver", core->drv->name, err);
		else if (r == 0 && strcmp(recorded, core->drv->name) != 0)
			return snap_error_set(err, -EINVAL, "root %s was just created with driver '%s', not '%s'",
					      core->root, recorded, core->drv->name);
		else if (r < 0)
			return snap_error_set(err, r, "open root %s: %s", core->root, e.message);
		if (r >= 0)
			r = snap_txn_commit(&txn, err);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(core);
	return 0;
}
