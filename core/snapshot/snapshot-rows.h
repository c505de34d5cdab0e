/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rows of the `snapshots` table and what is built from them (snap_info, the
 * parent chain handed to drivers).  Internal to the core: snapshotter.c and
 * check.c use it; nothing here starts a transaction (callers do).
 */
#ifndef SNAP_SNAPSHOT_ROWS_H
#define SNAP_SNAPSHOT_ROWS_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "core.h"

/* One row, as read. */
struct snap_row {
	int64_t id;
	char *key;
	int64_t parent_id; /* 0: none */
	char *parent_key;
	int kind;
	int state;
	int64_t created_ns, updated_ns;
	int64_t prepared_ns; /* struct snap_ref's; 0: unknown */
	int64_t size, inodes;
	bool has_usage;
};

/* The columns snap_row_read expects, for "SELECT " SNAP_ROW_COLUMNS " FROM
 * snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id ...". */
#define SNAP_ROW_COLUMNS                                                                    \
	"s.id, s.key, s.parent_id, p.key, s.kind, s.state, s.created_ns, s.updated_ns, " \
	"s.size, s.inodes, s.prepared_ns"

void snap_row_done(struct snap_row *r);
int snap_row_read(sqlite3_stmt *st, struct snap_row *ret);
/* Row of `key` in any state; -ENOENT ("snapshot 'k' does not exist"). */
int snap_row_by_key(struct snap_core *core, const char *key, struct snap_row *ret, struct snap_error *err);
/* Published row of `key`: rows still being created are invisible (-ENOENT). */
int snap_row_visible(struct snap_core *core, const char *key, struct snap_row *ret, struct snap_error *err);
int snap_row_labels_load(struct snap_core *core, int64_t id, struct snap_labels *ret, struct snap_error *err);
/* Replace all labels of row `id` (NULL: remove them all). */
int snap_row_labels_store(struct snap_core *core, int64_t id, const struct snap_labels *labels,
			  struct snap_error *err);
/* Run `sql` with ?1 = id and ?2 = a. */
int snap_row_exec(struct snap_core *core, const char *sql, int64_t id, int64_t a, struct snap_error *err);
int snap_row_set_state(struct snap_core *core, int64_t id, int state, struct snap_error *err);
/* Publish a created snapshot: state READY, prepared_ns recorded. */
int snap_row_publish(struct snap_core *core, int64_t id, int64_t prepared_ns, struct snap_error *err);
int snap_row_delete(struct snap_core *core, int64_t id, struct snap_error *err);
int snap_row_children(struct snap_core *core, int64_t id, int64_t *ret, struct snap_error *err);
/* snap_info from a row; takes the row's key and parent strings. */
int snap_row_info(struct snap_core *core, struct snap_row *row, struct snap_info *ret, struct snap_error *err);
/* The chain of `self`, nearest parent first, as drivers see it. */
int snap_row_chain(struct snap_core *core, const struct snap_row *self, struct snap_chain_owned *ret,
		   struct snap_error *err);
/* Only the ref of `self` (ret->n == 0): for driver methods that take no
 * chain (commit, usage, remove, open_tree). */
int snap_row_self(struct snap_core *core, const struct snap_row *self, struct snap_chain_owned *ret,
		  struct snap_error *err);

static inline struct snap_chain snap_chain_view(const struct snap_chain_owned *c)
{
	return (struct snap_chain){ .refs = c->parents, .n = c->n };
}

/* containerd's rules: labels with a key, key+value at most 4096 bytes;
 * keys non-empty and at most 4096 bytes.  -EINVAL with the reason. */
int snap_labels_validate(const struct snap_labels *labels, struct snap_error *err);
/* -EINVAL naming the first label under SNAP_LABEL_RESERVED_PREFIX (the
 * unpacker's proof), which no client may set, change or remove. */
int snap_labels_refuse_reserved(const struct snap_labels *labels, struct snap_error *err);
int snap_key_validate(const char *what, const char *key, struct snap_error *err);

#endif
