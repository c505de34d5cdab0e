/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One write transaction at a time per database within this process, queued
 * on a mutex instead of in sqlite's busy handler.
 *
 * sqlite lets one connection write at a time; a BEGIN IMMEDIATE that finds
 * the lock taken calls the busy handler, which for sqlite3_busy_timeout
 * sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between retries,
 * whenever the lock was released meanwhile.  Between processes that is all
 * there is (and rare: one CLI command against another); between the writer
 * threads of one process (`serve`) it turned every wait into milliseconds
 * of sleep: 64 clients' Prepare and Commit took 40 ms at the median.  Here
 * the connections of one process to one database (same device and inode)
 * share a mutex taken before BEGIN and released after COMMIT or ROLLBACK,
 * so a waiting thread runs the moment the holder is done.  sqlite's lock
 * still guards against other processes.
 */
#ifndef SNAP_STORE_WRITE_LOCK_H
#define SNAP_STORE_WRITE_LOCK_H

#include <stdbool.h>
#include <snapctl/driver.h>

struct snap_write_lock;

/* The lock of the database at path (held by every connection of this
 * process that opens it), created at its first use.  0 or -errno. */
int snap_write_lock_get(const char *path, struct snap_write_lock **ret, struct snap_error *err);
/* Drop this connection's reference; NULL is a no-op. */
void snap_write_lock_put(struct snap_write_lock *l);

/* Wait up to timeout_ms for the lock.  A thread that holds it already (two
 * connections to one database in one thread: only sqlite can tell it
 * that the write lock is taken, with SQLITE_BUSY after its own timeout) is
 * not made to wait for itself: *ret_taken is false then and nothing is to
 * be released.  0, or -EBUSY after timeout_ms. */
int snap_write_lock_acquire(struct snap_write_lock *l, unsigned timeout_ms, bool *ret_taken);
void snap_write_lock_release(struct snap_write_lock *l);

#endif
