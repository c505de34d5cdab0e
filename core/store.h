/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metadata store: ROOT/metadata.db (sqlite3) with its schema migrations,
 * write transactions and a cache of prepared statements.
 *
 * Concurrency model: every writer uses BEGIN IMMEDIATE (the write lock is
 * taken up front, so two writers never deadlock upgrading a read lock) and a
 * busy timeout of 10 s; the journal is WAL so readers never block writers.
 * The writers of one process queue on a mutex of their database before
 * BEGIN (store-write-lock.h), so only other processes meet sqlite's
 * sleeping busy handler.  No connection checkpoints on close; writers
 * checkpoint every few hundred KiB of WAL (store.c says why), after the
 * transaction's lock is released, readers never.
 * Long filesystem work never runs inside a transaction (see snapshotter.c).
 */
#ifndef SNAP_STORE_H
#define SNAP_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>
#include <snapctl/driver.h>

#include "util/macro.h"

struct snap_store;

#define SNAP_STORE_BUSY_TIMEOUT_MS 10000

/* Rows of `snapshots` carry a state besides their containerd kind, so that
 * filesystem work can run between two short transactions. */
enum snap_row_state {
	SNAP_ROW_READY = 0,      /* published */
	SNAP_ROW_CREATING = 1,   /* row inserted, driver create in progress */
	SNAP_ROW_COMMITTING = 2, /* active snapshot being frozen by the driver */
};

#define SNAP_STORE_READONLY 0x1u /* the database must exist; never create it */
/* Reads only: the connection writes nothing (not the database, its -wal or
 * its -shm) and never checkpoints; a write transaction fails with -EROFS.
 * Fails (-ENOENT, -EPROTO, ...) where only a writer can go on: no database
 * or -wal yet, a schema to migrate.  Callers then open read-write. */
#define SNAP_STORE_QUERY_ONLY 0x2u

/* Open (and create unless SNAP_STORE_READONLY) the database at `path`,
 * configure it and run the pending migrations.  A file that is not a
 * database gives -EINVAL "open metadata PATH: file is not a database"
 * and is left untouched.  Returns 0 or -errno. */
int snap_store_open(const char *path, unsigned flags, struct snap_store **ret, struct snap_error *err);
void snap_store_close(struct snap_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct snap_store, snap_store_close)

sqlite3 *snap_store_db(struct snap_store *s);
/* Opened with SNAP_STORE_QUERY_ONLY. */
bool snap_store_readonly(const struct snap_store *s);
const char *snap_store_path(const struct snap_store *s);

/* Number of migrations this build knows (= the newest user_version). */
int snap_store_schema_version(void);

/* Map an sqlite result code to -errno (SQLITE_BUSY -> -EBUSY, SQLITE_NOTADB
 * -> -EINVAL, SQLITE_CONSTRAINT -> -EEXIST, ...). */
int snap_store_errno(int rc);

/* Fill *err with "<what>: <sqlite message>" and return the mapped errno. */
int snap_store_error(struct snap_store *s, int rc, struct snap_error *err, const char *fmt, ...)
	SNAP_PRINTF(4, 5);

/* Write transaction: BEGIN IMMEDIATE ... COMMIT.  Nested use is an error.
 * snap_store_rollback is a no-op outside a transaction, so it can be used as
 * a cleanup on every error path. */
int snap_store_begin(struct snap_store *s, struct snap_error *err);
int snap_store_commit(struct snap_store *s, struct snap_error *err);
/* The same, committed with synchronous=FULL: when COMMIT returns, the
 * -wal is on disk, and with it every transaction committed before (the
 * -wal is appended in order; a checkpoint syncs the database before it
 * restarts the -wal).  For the last transaction of an operation that
 * promises durability on return (import, commit): the others stay
 * synchronous=NORMAL, durable at the next checkpoint or durable commit. */
int snap_store_begin_durable(struct snap_store *s, struct snap_error *err);
void snap_store_rollback(struct snap_store *s);
bool snap_store_in_txn(const struct snap_store *s);

/* A transaction guard: rolls back on scope exit unless committed.
 *   _cleanup_(snap_txn_done) struct snap_store *txn = NULL;
 *   r = snap_txn_begin(store, &txn, err);  ...  r = snap_txn_commit(&txn, err); */
int snap_txn_begin(struct snap_store *s, struct snap_store **guard, struct snap_error *err);
int snap_txn_begin_durable(struct snap_store *s, struct snap_store **guard, struct snap_error *err);
int snap_txn_commit(struct snap_store **guard, struct snap_error *err);
void snap_txn_done(struct snap_store **guard);

/* A cached prepared statement for `sql`, which must be a string with static
 * storage (the pointer is the cache key).  The statement is reset and its
 * bindings cleared; it stays owned by the store.  Use
 * _cleanup_(snap_stmt_resetp) on the returned pointer so that a statement
 * left mid-iteration does not keep a read transaction open. */
int snap_store_stmt(struct snap_store *s, const char *sql, sqlite3_stmt **ret, struct snap_error *err);
static inline void snap_stmt_resetp(sqlite3_stmt **st)
{
	if (*st)
		sqlite3_reset(*st);
}

/* A statement of its own for `sql` (not cached: for SQL built at run time
 * or run once); the caller finalizes it (_cleanup_(sqlite3_finalizep)).
 * Returns 0 or -errno with *err naming the statement. */
int snap_store_prepare(struct snap_store *s, const char *sql, sqlite3_stmt **ret, struct snap_error *err);

/* Run statements without results (no caching). */
int snap_store_exec(struct snap_store *s, const char *sql, struct snap_error *err);

/* meta(key, value).  get: -ENOENT when absent; *ret newly allocated. */
int snap_store_meta_get(struct snap_store *s, const char *key, char **ret, struct snap_error *err);
int snap_store_meta_set(struct snap_store *s, const char *key, const char *value, struct snap_error *err);

#endif
