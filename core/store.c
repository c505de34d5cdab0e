/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"
#include "store-vfs.h"
#include "store-write-lock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Schema migrations, in order.  Migration N (1-based) brings user_version
 * from N-1 to N; each runs in its own BEGIN IMMEDIATE transaction together
 * with the user_version bump, so a crash leaves the schema at N-1 or N.
 * Append new migrations at the end; never edit a landed one.
 */
static const char *const migrations[] = {
	/* 1: snapshots (containerd's metastore) */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT"
	");"
	/* AUTOINCREMENT: an id is never reused, so a directory left behind
	 * by a crash can never be mistaken for a newer snapshot's. */
	"CREATE TABLE snapshots ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  key TEXT UNIQUE NOT NULL,"
	"  parent_id INTEGER REFERENCES snapshots(id),"
	"  kind INTEGER NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  created_ns INTEGER NOT NULL,"
	"  updated_ns INTEGER NOT NULL,"
	"  size INTEGER,"
	"  inodes INTEGER"
	");"
	"CREATE INDEX snapshots_parent ON snapshots(parent_id);"
	"CREATE TABLE snapshot_labels ("
	"  snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (snapshot_id, key)"
	") WITHOUT ROWID;",
	/* 2: containers (core/container-store.c).  No foreign key on the
	 * snapshot: the row is written before the snapshot is prepared and
	 * removed after it is, so each can exist alone for a moment. */
	"CREATE TABLE containers ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT UNIQUE NOT NULL,"
	"  image TEXT NOT NULL,"
	"  image_id TEXT NOT NULL,"
	"  snapshot TEXT NOT NULL,"
	"  command TEXT NOT NULL,"
	"  created_ns INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  pid INTEGER NOT NULL DEFAULT 0,"
	"  pid_start INTEGER NOT NULL DEFAULT 0,"
	"  exit_code INTEGER NOT NULL DEFAULT -1,"
	"  finished_ns INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE INDEX containers_image ON containers(image_id);",
	/* 3: images and the content store (core/image/image-db.c).  An image is
	 * its config digest; blobs are referenced by rows of image_blobs
	 * (a blob without references is garbage), layers by chain ID. */
	"CREATE TABLE blobs ("
	"  digest TEXT PRIMARY KEY,"
	"  size INTEGER NOT NULL,"
	"  added_ns INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE images ("
	"  id TEXT PRIMARY KEY,"
	"  manifest_digest TEXT NOT NULL,"
	"  manifest_media_type TEXT NOT NULL,"
	"  top_chain_id TEXT NOT NULL,"
	"  n_layers INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  created_ns INTEGER NOT NULL,"
	"  added_ns INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX images_top ON images(top_chain_id);"
	"CREATE TABLE image_tags ("
	"  name TEXT PRIMARY KEY,"
	"  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  added_ns INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX image_tags_image ON image_tags(image_id);"
	"CREATE TABLE image_blobs ("
	"  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  digest TEXT NOT NULL REFERENCES blobs(digest),"
	"  PRIMARY KEY (image_id, digest)"
	") WITHOUT ROWID;"
	"CREATE INDEX image_blobs_digest ON image_blobs(digest);"
	"CREATE TABLE image_layers ("
	"  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  chain_id TEXT NOT NULL,"
	"  diff_id TEXT NOT NULL,"
	"  blob_digest TEXT NOT NULL,"
	"  diff_size INTEGER NOT NULL,"
	"  PRIMARY KEY (image_id, idx)"
	") WITHOUT ROWID;"
	"CREATE INDEX image_layers_chain ON image_layers(chain_id);",
	/* 4: snapshots scoped by containerd namespace (the gRPC service's
	 * containerd-namespace header; '' is the CLI's own).  A key is unique
	 * per namespace, so the table is rebuilt without UNIQUE(key).  The
	 * rebuild keeps every id and the AUTOINCREMENT high-water mark (an id
	 * is never reused), and the foreign keys are checked at commit. */
	"PRAGMA defer_foreign_keys = ON;"
	"CREATE TABLE snapshots_v4 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  namespace TEXT NOT NULL DEFAULT '',"
	"  key TEXT NOT NULL,"
	"  parent_id INTEGER REFERENCES snapshots_v4(id),"
	"  kind INTEGER NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  created_ns INTEGER NOT NULL,"
	"  updated_ns INTEGER NOT NULL,"
	"  size INTEGER,"
	"  inodes INTEGER,"
	"  UNIQUE (namespace, key)"
	");"
	"INSERT INTO snapshots_v4(id, key, parent_id, kind, state, created_ns, updated_ns, size, inodes)"
	"  SELECT id, key, parent_id, kind, state, created_ns, updated_ns, size, inodes"
	"  FROM snapshots ORDER BY id;"
	"CREATE TABLE snapshot_labels_v4 ("
	"  snapshot_id INTEGER NOT NULL REFERENCES snapshots_v4(id) ON DELETE CASCADE,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (snapshot_id, key)"
	") WITHOUT ROWID;"
	"INSERT INTO snapshot_labels_v4 SELECT snapshot_id, key, value FROM snapshot_labels;"
	"DELETE FROM sqlite_sequence WHERE name = 'snapshots_v4';"
	"INSERT INTO sqlite_sequence(name, seq) SELECT 'snapshots_v4', seq FROM sqlite_sequence"
	"  WHERE name = 'snapshots';"
	"DROP TABLE snapshot_labels;"
	"DROP TABLE snapshots;"
	"ALTER TABLE snapshots_v4 RENAME TO snapshots;"
	"ALTER TABLE snapshot_labels_v4 RENAME TO snapshot_labels;"
	"CREATE INDEX snapshots_parent ON snapshots(parent_id);",
	/* 5: a container's run configuration (Env, Entrypoint, Cmd,
	 * WorkingDir, User as JSON), which `commit` writes into the new image
	 * as docker commit does; '{}' for containers of older versions. */
	"ALTER TABLE containers ADD COLUMN config TEXT NOT NULL DEFAULT '{}';",
	/* 6: when the driver had finished building the snapshot (struct
	 * snap_ref's prepared_ns: the differ reads the content of a file
	 * written after it).  created_ns cannot serve: it is taken before the
	 * driver copies the parent (vfs) and a commit resets it.  0 for the
	 * snapshots of older versions: unknown, every file may be read. */
	"ALTER TABLE snapshots ADD COLUMN prepared_ns INTEGER NOT NULL DEFAULT 0;",
	/* 7: layer trees unpacked from a durable blob but not synced
	 * (--sync=blob, core/pending-trees.c): the boot they were written
	 * in, and the blob and diff ID to check and rebuild them from after
	 * a reboot.  The row goes with its snapshot. */
	"CREATE TABLE pending_trees ("
	"  snapshot_id INTEGER PRIMARY KEY REFERENCES snapshots(id) ON DELETE CASCADE,"
	"  boot_id TEXT NOT NULL,"
	"  blob_digest TEXT NOT NULL,"
	"  diff_id TEXT NOT NULL,"
	"  created_ns INTEGER NOT NULL"
	");",
};

struct stmt_cache_entry {
	const char *sql;
	sqlite3_stmt *stmt;
};

struct snap_store {
	sqlite3 *db;
	char *path;
	bool in_txn;
	bool durable; /* this transaction commits with synchronous=FULL */
	bool readonly; /* SNAP_STORE_QUERY_ONLY */
	/* Shared by this process's writers of the database; held from
	 * BEGIN to COMMIT or ROLLBACK when wlock_held. */
	struct snap_write_lock *wlock;
	bool wlock_held;
	bool checkpoint_due; /* the -wal passed WAL_AUTOCHECKPOINT_PAGES */
	struct stmt_cache_entry *cache;
	size_t n_cache;
};

int snap_store_schema_version(void)
{
	return (int)ELEMENTSOF(migrations);
}

int snap_store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

int snap_store_error(struct snap_store *s, int rc, struct snap_error *err, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* sqlite3_errmsg describes the most recent failing call on the handle;
	 * sqlite3_errstr(rc) is the fallback when the handle is unusable. */
	const char *why = s && s->db && sqlite3_errcode(s->db) == rc ? sqlite3_errmsg(s->db)
								       : sqlite3_errstr(rc);
	int code = snap_store_errno(rc);
	return snap_error_set(err, code ? code : -EIO, "%s: %s", what, why);
}

sqlite3 *snap_store_db(struct snap_store *s)
{
	return s->db;
}

const char *snap_store_path(const struct snap_store *s)
{
	return s->path;
}

bool snap_store_in_txn(const struct snap_store *s)
{
	return s->in_txn;
}

int snap_store_exec(struct snap_store *s, const char *sql, struct snap_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return snap_store_error(s, rc, err, "metadata %s", s->path);
	return 0;
}

int snap_store_stmt(struct snap_store *s, const char *sql, sqlite3_stmt **ret, struct snap_error *err)
{
	for (size_t i = 0; i < s->n_cache; i++) {
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			*ret = s->cache[i].stmt;
			return 0;
		}
	}
	struct stmt_cache_entry *n = realloc(s->cache, (s->n_cache + 1) * sizeof(*n));
	if (!n)
		return snap_error_set(err, -ENOMEM, "metadata %s: out of memory", s->path);
	s->cache = n;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return snap_store_error(s, rc, err, "metadata %s: prepare \"%.60s\"", s->path, sql);
	s->cache[s->n_cache].sql = sql;
	s->cache[s->n_cache].stmt = st;
	s->n_cache++;
	*ret = st;
	return 0;
}

int snap_store_prepare(struct snap_store *s, const char *sql, sqlite3_stmt **ret, struct snap_error *err)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, ret, NULL);
	if (rc != SQLITE_OK)
		return snap_store_error(s, rc, err, "metadata %s: prepare \"%.60s\"", s->path, sql);
	return 0;
}

/* Back to synchronous=NORMAL after a durable transaction.  Failing to
 * would only make later commits slower, never less safe. */
static void durable_end(struct snap_store *s)
{
	if (!s->durable)
		return;
	sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	s->durable = false;
}

/*
 * When to checkpoint.  Connections never checkpoint on close (most CLI
 * commands are a process of their own: a checkpoint at every exit cost
 * three fdatasync, of the -wal, of ROOT and of the database, even after a
 * read).  Writers checkpoint when the -wal passes this many pages instead.
 * The number is small because every process that is the only one on the
 * root rebuilds the wal-index from the -wal at its first read (one pread
 * per page); a snapshot operation writes about ten pages.
 */
#define WAL_AUTOCHECKPOINT_PAGES 128

/* sqlite's automatic checkpoint would run inside COMMIT, with this
 * process's write lock still held: its two fdatasync would stall every
 * other writer of the process.  The hook only notes that one is due; the
 * commit runs it once the lock is released (a passive checkpoint runs
 * beside the next writer). */
static int wal_hook(void *userdata, sqlite3 *db, const char *name, int pages)
{
	struct snap_store *s = userdata;
	if (pages >= WAL_AUTOCHECKPOINT_PAGES)
		s->checkpoint_due = true;
	return SQLITE_OK;
}

static void write_lock_release(struct snap_store *s)
{
	if (!s->wlock_held)
		return;
	snap_write_lock_release(s->wlock);
	s->wlock_held = false;
}

static void checkpoint_if_due(struct snap_store *s)
{
	if (!s->checkpoint_due)
		return;
	s->checkpoint_due = false;
	/* A failed or partial checkpoint is retried after a later commit. */
	sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

int snap_store_begin(struct snap_store *s, struct snap_error *err)
{
	if (s->in_txn)
		return snap_error_set(err, -EINVAL, "metadata %s: transaction already open", s->path);
	if (s->readonly)
		return snap_error_set(err, -EROFS, "metadata %s: opened for reading only", s->path);
	sqlite3_stmt *st = NULL; /* set when snap_store_stmt succeeds; GCC -O2 cannot tell */
	static const char sql[] = "BEGIN IMMEDIATE";
	int r = snap_store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	/* This process's other writers queue here (store-write-lock.h says
	 * why), other processes' in sqlite's busy handler. */
	if (s->wlock) {
		r = snap_write_lock_acquire(s->wlock, SNAP_STORE_BUSY_TIMEOUT_MS, &s->wlock_held);
		if (r < 0)
			return snap_error_set(err, r, "metadata %s: begin transaction: %s", s->path,
					      r == -EBUSY ? "database is locked" : strerror(-r));
	}
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		write_lock_release(s);
		return snap_store_error(s, rc, err, "metadata %s: begin transaction", s->path);
	}
	s->in_txn = true;
	return 0;
}

int snap_store_commit(struct snap_store *s, struct snap_error *err)
{
	if (!s->in_txn)
		return snap_error_set(err, -EINVAL, "metadata %s: no transaction to commit", s->path);
	sqlite3_stmt *st = NULL;
	static const char sql[] = "COMMIT";
	int r = snap_store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		/* COMMIT can fail with SQLITE_BUSY while a reader holds a
		 * lock it must wait out; the busy handler already waited, so
		 * give up and roll back. */
		r = snap_store_error(s, rc, err, "metadata %s: commit", s->path);
		snap_store_rollback(s);
		return r;
	}
	s->in_txn = false;
	write_lock_release(s);
	durable_end(s);
	checkpoint_if_due(s);
	return 0;
}

void snap_store_rollback(struct snap_store *s)
{
	if (!s || !s->in_txn)
		return;
	/* ROLLBACK fails only when there is no transaction (sqlite rolled
	 * back by itself after an I/O error), which is what we want anyway. */
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_txn = false;
	write_lock_release(s);
	durable_end(s);
}

int snap_store_begin_durable(struct snap_store *s, struct snap_error *err)
{
	if (s->in_txn)
		return snap_error_set(err, -EINVAL, "metadata %s: transaction already open", s->path);
	/* sqlite refuses to change the safety level inside a transaction:
	 * it is set before BEGIN and put back after COMMIT or ROLLBACK. */
	if (!s->readonly) {
		int r = snap_store_exec(s, "PRAGMA synchronous = FULL", err);
		if (r < 0)
			return r;
		s->durable = true;
	}
	int r = snap_store_begin(s, err);
	if (r < 0)
		durable_end(s);
	return r;
}

int snap_txn_begin(struct snap_store *s, struct snap_store **guard, struct snap_error *err)
{
	int r = snap_store_begin(s, err);
	if (r < 0)
		return r;
	*guard = s;
	return 0;
}

int snap_txn_begin_durable(struct snap_store *s, struct snap_store **guard, struct snap_error *err)
{
	int r = snap_store_begin_durable(s, err);
	if (r < 0)
		return r;
	*guard = s;
	return 0;
}

int snap_txn_commit(struct snap_store **guard, struct snap_error *err)
{
	struct snap_store *s = TAKE_PTR(*guard);
	return snap_store_commit(s, err);
}

void snap_txn_done(struct snap_store **guard)
{
	if (*guard)
		snap_store_rollback(*guard);
	*guard = NULL;
}

static int pragma_int(struct snap_store *s, const char *sql, int *ret, struct snap_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret = sqlite3_column_int(st, 0);
			rc = SQLITE_OK;
		}
	}
	int r = 0;
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		r = snap_store_error(s, rc, err, "open metadata %s", s->path);
	sqlite3_finalize(st);
	return r;
}

static int migrate(struct snap_store *s, struct snap_error *err)
{
	int version = 0;
	int r = pragma_int(s, "PRAGMA user_version", &version, err);
	if (r < 0)
		return r;
	int known = snap_store_schema_version();
	if (version > known)
		return snap_error_set(err, -EPROTO,
				      "open metadata %s: schema version %d is newer than this snapctl knows (%d)",
				      s->path, version, known);
	while (version < known) {
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(s, &txn, err);
		if (r < 0)
			return snap_error_prefix(err, "migrate metadata %s", s->path);
		/* Re-read under the write lock: another process may have
		 * migrated while we waited for it. */
		r = pragma_int(s, "PRAGMA user_version", &version, err);
		if (r < 0)
			return r;
		if (version >= known)
			break;
		r = snap_store_exec(s, migrations[version], err);
		if (r < 0)
			return snap_error_prefix(err, "migrate metadata to schema version %d", version + 1);
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", version + 1);
		r = snap_store_exec(s, bump, err);
		if (r < 0)
			return r;
		r = snap_txn_commit(&txn, err);
		if (r < 0)
			return snap_error_prefix(err, "migrate metadata to schema version %d", version + 1);
		version++;
	}
	return 0;
}

/* WAL is recorded in the database file, so only the first open of a new
 * database switches to it.  The switch needs the file to itself and sqlite
 * answers SQLITE_BUSY without calling the busy handler when another
 * process is doing the same (two first opens of one root), so wait here,
 * up to the busy timeout. */
static int set_wal(struct snap_store *s, struct snap_error *err)
{
	for (int waited_ms = 0;; waited_ms += 5) {
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW) {
				const char *mode = (const char *)sqlite3_column_text(st, 0);
				rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_OK : SQLITE_CANTOPEN;
			}
		}
		int r = 0;
		if (rc == SQLITE_CANTOPEN)
			r = snap_error_set(err, -EINVAL, "open metadata %s: cannot use WAL journal mode here",
					   s->path);
		else if (rc != SQLITE_OK && ((rc & 0xff) != SQLITE_BUSY || waited_ms >= SNAP_STORE_BUSY_TIMEOUT_MS))
			r = snap_store_error(s, rc, err, "open metadata %s", s->path);
		sqlite3_finalize(st);
		if (rc == SQLITE_OK || r < 0)
			return r;
		usleep(5000);
	}
}

void snap_store_close(struct snap_store *s)
{
	if (!s)
		return;
	snap_store_rollback(s);
	for (size_t i = 0; i < s->n_cache; i++)
		sqlite3_finalize(s->cache[i].stmt);
	free(s->cache);
	sqlite3_close_v2(s->db);
	snap_write_lock_put(s->wlock);
	free(s->path);
	free(s);
}

/* "file:PATH?readonly_shm=1" with the URI's reserved characters escaped. */
static char *readonly_uri(const char *path)
{
	size_t n = strlen(path);
	char *uri = malloc(3 * n + sizeof("file:?readonly_shm=1"));
	if (!uri)
		return NULL;
	char *o = stpcpy(uri, "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			o += sprintf(o, "%%%02X", (unsigned char)*p);
		else
			*o++ = *p;
	}
	strcpy(o, "?readonly_shm=1");
	return uri;
}

/*
 * A reader's connection writes nothing: not the database, not the -wal,
 * not the -shm.  Opened read-only, with readonly_shm the -shm is mapped
 * read-only; when no other process has it open (the common case for a CLI
 * command: the last one closed it), sqlite cannot rebuild the shared
 * wal-index there and builds a private one in the heap from the -wal
 * instead (SQLITE_READONLY_CANTINIT, handled inside sqlite).  The -wal and
 * -shm must exist (a writer made them: PERSIST_WAL keeps them) and the
 * schema must be current; otherwise the caller opens read-write.
 */
static int open_readonly(struct snap_store *s, struct snap_error *err)
{
	_cleanup_free_ char *uri = readonly_uri(s->path);
	if (!uri)
		return snap_error_set(err, -ENOMEM, "open metadata %s: out of memory", s->path);
	int rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (!s->db)
			return snap_error_set(err, -ENOMEM, "open metadata %s: out of memory", s->path);
		return snap_store_error(s, rc, err, "open metadata %s", s->path);
	}
	sqlite3_extended_result_codes(s->db, 0);
	sqlite3_busy_timeout(s->db, SNAP_STORE_BUSY_TIMEOUT_MS);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	int version = 0;
	int r = pragma_int(s, "PRAGMA user_version", &version, err);
	if (r < 0)
		return r;
	if (version != snap_store_schema_version())
		return snap_error_set(err, -EPROTO, "open metadata %s: schema version %d, not %d", s->path,
				      version, snap_store_schema_version());
	s->readonly = true;
	return 0;
}


static int open_readwrite(struct snap_store *s, unsigned flags, struct snap_error *err)
{
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (!(flags & SNAP_STORE_READONLY))
		oflags |= SQLITE_OPEN_CREATE;
	int rc = sqlite3_open_v2(s->path, &s->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		if (!s->db)
			return snap_error_set(err, -ENOMEM, "open metadata %s: out of memory", s->path);
		return snap_store_error(s, rc, err, "open metadata %s", s->path);
	}
	sqlite3_extended_result_codes(s->db, 0);
	sqlite3_busy_timeout(s->db, SNAP_STORE_BUSY_TIMEOUT_MS);

	/* Read before writing anything: a file that is not a database fails
	 * here with SQLITE_NOTADB and stays as it was (journal_mode=WAL would
	 * otherwise be the first statement to touch it). */
	int version = 0;
	int r = pragma_int(s, "PRAGMA user_version", &version, err);
	if (r < 0)
		return r;
	r = snap_write_lock_get(s->path, &s->wlock, err);
	if (r < 0)
		return r;

	/* WAL: readers never block the writer.  synchronous=NORMAL in WAL mode
	 * is still crash-safe for the process (a committed transaction survives
	 * a kill); only a power loss may drop the last transactions, which
	 * leaves orphan directories that `check` finds (docs/core.md). */
	/* Keep the -wal file when the last connection closes: every CLI
	 * command is a process of its own, and recreating the WAL costs a
	 * sync of the file and of ROOT at the command's first write (~10 ms,
	 * most of a `run --rm`).  Kept, it is only reset. */
	int persist = 1;
	sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_wal_hook(s->db, wal_hook, s);
	r = set_wal(s, err);
	if (r < 0)
		return r;
	r = snap_store_exec(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", err);
	if (r < 0)
		return r;
	return migrate(s, err);
}

int snap_store_open(const char *path, unsigned flags, struct snap_store **ret, struct snap_error *err)
{
	_cleanup_(snap_store_closep) struct snap_store *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path)))
		return snap_error_set(err, -ENOMEM, "open metadata %s: out of memory", path);

	snap_store_vfs_setup();
	int r;
	if (flags & SNAP_STORE_QUERY_ONLY) {
		r = open_readonly(s, err);
		if (r < 0)
			return r;
	} else {
		r = open_readwrite(s, flags, err);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

bool snap_store_readonly(const struct snap_store *s)
{
	return s->readonly;
}

int snap_store_meta_get(struct snap_store *s, const char *key, char **ret, struct snap_error *err)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = ?1";
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return snap_error_set(err, -ENOENT, "metadata %s: no '%s' recorded", s->path, key);
	if (rc != SQLITE_ROW)
		return snap_store_error(s, rc, err, "metadata %s: read '%s'", s->path, key);
	const char *v = (const char *)sqlite3_column_text(st, 0);
	char *copy = strdup(v ? v : "");
	if (!copy)
		return snap_error_set(err, -ENOMEM, "metadata %s: out of memory", s->path);
	*ret = copy;
	return 0;
}

int snap_store_meta_set(struct snap_store *s, const char *key, const char *value, struct snap_error *err)
{
	static const char sql[] = "INSERT INTO meta(key, value) VALUES (?1, ?2) "
				  "ON CONFLICT(key) DO UPDATE SET value = excluded.value";
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(s, rc, err, "metadata %s: write '%s'", s->path, key);
	return 0;
}
