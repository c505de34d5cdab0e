/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/snapshot-rows.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core-internal.h"
#include "util/macro.h"
#include "store.h"

/* ---- rows ---------------------------------------------------------------- */

void snap_row_done(struct snap_row *r)
{
	free(r->key);
	free(r->parent_key);
	*r = (struct snap_row){ 0 };
}

int snap_row_read(sqlite3_stmt *st, struct snap_row *ret)
{
	struct snap_row r = { 0 };
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
	r.prepared_ns = sqlite3_column_int64(st, 10);
	if (!r.key || (pk && !r.parent_key)) {
		snap_row_done(&r);
		return -ENOMEM;
	}
	*ret = r;
	return 0;
}

/* Row of `key` in any state, in its namespace (snap_core_key_namespace);
 * -ENOENT (message "snapshot 'k' does not exist") when absent. */
int snap_row_by_key(struct snap_core *core, const char *key, struct snap_row *ret, struct snap_error *err)
{
	static const char sql[] = "SELECT " SNAP_ROW_COLUMNS " FROM snapshots s "
				  "LEFT JOIN snapshots p ON p.id = s.parent_id "
				  "WHERE s.namespace = ?2 AND s.key = ?1";
	char ns[SNAP_NAMESPACE_MAX + 1];
	int r = snap_core_key_namespace(core, key, ns, err);
	if (r < 0)
		return r;
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	r = snap_store_stmt(core->store, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return snap_error_set(err, -ENOENT, "snapshot '%s' does not exist", key);
	if (rc != SQLITE_ROW)
		return snap_store_error(core->store, rc, err, "read snapshot '%s'", key);
	r = snap_row_read(st, ret);
	if (r < 0)
		return snap_error_set(err, r, "read snapshot '%s': out of memory", key);
	return 0;
}

/* Published row of `key`: rows still being created are invisible. */
int snap_row_visible(struct snap_core *core, const char *key, struct snap_row *ret, struct snap_error *err)
{
	struct snap_row r = { 0 };
	int q = snap_row_by_key(core, key, &r, err);
	if (q < 0)
		return q;
	if (r.state == SNAP_ROW_CREATING) {
		snap_row_done(&r);
		return snap_error_set(err, -ENOENT, "snapshot '%s' does not exist (being created)", key);
	}
	*ret = r;
	return 0;
}

int snap_row_labels_load(struct snap_core *core, int64_t id, struct snap_labels *ret, struct snap_error *err)
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

int snap_row_labels_store(struct snap_core *core, int64_t id, const struct snap_labels *labels,
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

int snap_labels_validate(const struct snap_labels *labels, struct snap_error *err)
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

int snap_labels_refuse_reserved(const struct snap_labels *labels, struct snap_error *err)
{
	for (size_t i = 0; labels && i < labels->n; i++)
		if (snap_label_reserved(labels->v[i].key))
			return snap_error_set(err, -EINVAL,
					      "label '%s' is reserved: labels under '%s' are set only by "
					      "snapctl's unpacker, as proof that it made a layer snapshot",
					      labels->v[i].key, SNAP_LABEL_RESERVED_PREFIX);
	return 0;
}

int snap_key_validate(const char *what, const char *key, struct snap_error *err)
{
	if (!key || !*key)
		return snap_error_set(err, -EINVAL, "%s: empty snapshot key", what);
	if (strlen(key) > 4096)
		return snap_error_set(err, -EINVAL, "%s: snapshot key longer than 4096 bytes", what);
	return 0;
}

int snap_row_exec(struct snap_core *core, const char *sql, int64_t id, int64_t a, struct snap_error *err)
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

int snap_row_set_state(struct snap_core *core, int64_t id, int state, struct snap_error *err)
{
	static const char sql[] = "UPDATE snapshots SET state = ?2 WHERE id = ?1";
	return snap_row_exec(core, sql, id, state, err);
}

int snap_row_publish(struct snap_core *core, int64_t id, int64_t prepared_ns, struct snap_error *err)
{
	static const char sql[] = "UPDATE snapshots SET state = 0, prepared_ns = ?2 WHERE id = ?1";
	_Static_assert(SNAP_ROW_READY == 0, "the statement publishes with state 0");
	return snap_row_exec(core, sql, id, prepared_ns, err);
}

int snap_row_delete(struct snap_core *core, int64_t id, struct snap_error *err)
{
	static const char sql[] = "DELETE FROM snapshots WHERE id = ?1";
	return snap_row_exec(core, sql, id, 0, err);
}

int snap_row_children(struct snap_core *core, int64_t id, int64_t *ret, struct snap_error *err)
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

int snap_row_info(struct snap_core *core, struct snap_row *row, struct snap_info *ret, struct snap_error *err)
{
	struct snap_info info = {
		.id = (uint64_t)row->id,
		.key = TAKE_PTR(row->key),
		.parent = TAKE_PTR(row->parent_key),
		.kind = row->kind,
		.created_ns = row->created_ns,
		.updated_ns = row->updated_ns,
	};
	int r = snap_row_labels_load(core, row->id, &info.labels, err);
	if (r < 0) {
		snap_info_done(&info);
		return r;
	}
	*ret = info;
	return 0;
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
		    int kind, int64_t prepared_ns, struct snap_ref *ref, struct snap_error *err)
{
	char path[PATH_MAX];
	snap_core_snapshot_path(core, (uint64_t)id, path, sizeof(path));
	*ref = (struct snap_ref){ .id = (uint64_t)id, .kind = kind, .prepared_ns = prepared_ns };
	ref->key = chain_strdup(cs, key);
	ref->path = chain_strdup(cs, path);
	if (!ref->key || !ref->path)
		return snap_error_set(err, -ENOMEM, "snapshot chain: out of memory");
	int r = snap_row_labels_load(core, id, &cs->labels[slot], err);
	if (r < 0)
		return r;
	ref->labels = cs->labels[slot].v;
	ref->n_labels = cs->labels[slot].n;
	return 0;
}

/* The chain of the snapshot with row `self`, nearest parent first. */
static int chain_build(struct snap_core *core, const struct snap_row *self, bool parents,
		       struct snap_chain_owned *ret, struct snap_error *err);

int snap_row_chain(struct snap_core *core, const struct snap_row *self, struct snap_chain_owned *ret,
		   struct snap_error *err)
{
	return chain_build(core, self, true, ret, err);
}

int snap_row_self(struct snap_core *core, const struct snap_row *self, struct snap_chain_owned *ret,
		  struct snap_error *err)
{
	return chain_build(core, self, false, ret, err);
}

static int chain_build(struct snap_core *core, const struct snap_row *self, bool parents,
		       struct snap_chain_owned *ret, struct snap_error *err)
{
	static const char sql[] =
		"WITH RECURSIVE chain(id, depth) AS ("
		"  SELECT parent_id, 1 FROM snapshots WHERE id = ?1 AND parent_id IS NOT NULL"
		"  UNION ALL"
		"  SELECT s.parent_id, c.depth + 1 FROM snapshots s JOIN chain c ON s.id = c.id"
		"  WHERE s.parent_id IS NOT NULL"
		") SELECT s.id, s.key, s.kind, s.prepared_ns FROM chain c JOIN snapshots s ON s.id = c.id ORDER BY c.depth";
	_cleanup_(snap_chain_done) struct snap_chain_owned c = { 0 };
	struct chain_storage *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return snap_error_set(err, -ENOMEM, "snapshot chain: out of memory");
	c.storage = cs;

	struct {
		int64_t id;
		char *key;
		int kind;
		int64_t prepared_ns;
	} *links = NULL;
	size_t n = 0;
	if (parents) {
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
			links[n].prepared_ns = sqlite3_column_int64(st, 3);
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
	int r = ref_fill(core, cs, 0, self->id, self->key, self->kind, self->prepared_ns, &c.self, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (!links[i].key)
			r = snap_error_set(err, -ENOMEM, "snapshot chain: out of memory");
		else
			r = ref_fill(core, cs, i + 1, links[i].id, links[i].key, links[i].kind, links[i].prepared_ns,
				     &c.parents[i], err);
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
	struct snap_row row = { 0 };
	int r = snap_row_visible(core, key, &row, err);
	if (r < 0)
		return r;
	r = snap_row_chain(core, &row, ret, err);
	snap_row_done(&row);
	return r;
}

