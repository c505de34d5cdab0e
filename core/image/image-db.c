/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image rows in the metadata database (tables images, image_tags,
 * image_blobs, image_layers and blobs; see the migration in store.c).
 * Transactions are short: blobs are published and layers unpacked before
 * the rows that reference them are written in one store transaction.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "image/image-internal.h"

/* Run one statement with text/int64 bindings given as a format: 't' text,
 * 'i' int64. */
static int exec_bound(struct snap_core *core, const char *sql, const char *fmt, const void *const *args,
		      struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core), sql, &st, err);
	if (r < 0)
		return r;
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 't')
			sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, i + 1, *(const int64_t *)args[i]);
	}
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(snap_core_store(core), rc, err, "write image rows");
	return 0;
}

/* 1 when the image's rows exist, 0 when not, -errno. */
int img_db_exists(struct snap_core *core, const char *id, struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core), "SELECT 1 FROM images WHERE id = ?", &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return snap_store_error(snap_core_store(core), rc, err, "look up image %s", id);
	return rc == SQLITE_ROW;
}

static int insert_rows(struct snap_core *core, const struct img_record *rec, const char *tag,
		       struct snap_error *err)
{
	int64_t now = (int64_t)snap_now_ns();
	int r = img_db_exists(core, rec->id, err);
	if (r < 0)
		return r;
	if (r == 0) {
		int64_t n = (int64_t)rec->n_layers, size = 0;
		for (size_t i = 0; i < rec->n_layers; i++)
			size += (int64_t)rec->layers[i].diff_size;
		const char *top = rec->n_layers ? rec->layers[rec->n_layers - 1].chain_id : "";
		r = exec_bound(core,
			       "INSERT INTO images (id, manifest_digest, manifest_media_type, top_chain_id,"
			       " n_layers, size, created_ns, added_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			       "ttttiiii",
			       (const void *[]){rec->id, rec->manifest_digest, rec->manifest_media_type,
						top, &n, &size, &rec->created_ns, &now},
			       err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < rec->n_blobs; i++) {
			int64_t bsize = (int64_t)rec->blobs[i].size;
			r = exec_bound(core,
				       "INSERT OR IGNORE INTO blobs (digest, size, added_ns) VALUES (?, ?, ?)",
				       "tii", (const void *[]){rec->blobs[i].digest, &bsize, &now}, err);
			if (r == 0)
				r = exec_bound(core,
					       "INSERT OR IGNORE INTO image_blobs (image_id, digest) VALUES (?, ?)",
					       "tt", (const void *[]){rec->id, rec->blobs[i].digest}, err);
			if (r < 0)
				return r;
		}
		for (size_t i = 0; i < rec->n_layers; i++) {
			int64_t idx = (int64_t)i, dsize = (int64_t)rec->layers[i].diff_size;
			r = exec_bound(core,
				       "INSERT INTO image_layers (image_id, idx, chain_id, diff_id, blob_digest,"
				       " diff_size) VALUES (?, ?, ?, ?, ?, ?)",
				       "tittti",
				       (const void *[]){rec->id, &idx, rec->layers[i].chain_id,
							rec->layers[i].diff_id, rec->layers[i].blob_digest,
							&dsize},
				       err);
			if (r < 0)
				return r;
		}
	}
	if (tag) {
		r = exec_bound(core,
			       "INSERT OR REPLACE INTO image_tags (name, image_id, added_ns) VALUES (?, ?, ?)",
			       "tti", (const void *[]){tag, rec->id, &now}, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int img_db_insert(struct snap_core *core, const struct img_record *rec, const char *tag,
		  struct snap_error *err)
{
	/* The last transaction of import and commit: durable when it
	 * returns (docs/core.md, "What is durable when"). */
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	struct snap_store *s = snap_core_store(core);
	int r = snap_core_no_sync(core) ? snap_txn_begin(s, &txn, err) : snap_txn_begin_durable(s, &txn, err);
	if (r < 0)
		return r;
	r = insert_rows(core, rec, tag, err);
	if (r < 0)
		return snap_error_prefix(err, "record image %s", rec->id);
	return snap_txn_commit(&txn, err);
}

static bool is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

int img_db_resolve(struct snap_core *core, const char *ref, char id[SNAP_DIGEST_MAX], char **ret_name,
		   struct snap_error *err)
{
	if (!ref || !*ref)
		return snap_error_set(err, -EINVAL, "no image given");
	int r;
	/* A name first, as docker does: "abc" may be a tag as well as an ID
	 * prefix.  Then the name as given (":latest" added): how roots made
	 * before names were normalised (image-ref.c) recorded it. */
	_cleanup_free_ char *name = NULL, *legacy = NULL;
	if (snap_image_ref_normalize(ref, &name, NULL) < 0)
		name = NULL;
	const char *colon = strrchr(ref, ':');
	if (colon && !strchr(colon, '/') ? asprintf(&legacy, "%s", ref) < 0
					  : asprintf(&legacy, "%s:latest", ref) < 0)
		return snap_error_set(err, -ENOMEM, "look up image %s: out of memory", ref);
	for (int i = 0; i < 2; i++) {
		char **try = i == 0 ? &name : &legacy;
		if (!*try || (i == 1 && name && strcmp(name, legacy) == 0))
			continue;
		_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
		r = snap_store_prepare(snap_core_store(core), "SELECT image_id FROM image_tags WHERE name = ?", &st, err);
		if (r < 0)
			return r;
		sqlite3_bind_text(st, 1, *try, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			snprintf(id, SNAP_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
			if (ret_name)
				*ret_name = TAKE_PTR(*try);
			return 0;
		}
		if (rc != SQLITE_DONE)
			return snap_store_error(snap_core_store(core), rc, err, "look up image");
	}
	const char *hex = strncmp(ref, SNAP_SHA256_PREFIX, strlen(SNAP_SHA256_PREFIX)) == 0
				  ? ref + strlen(SNAP_SHA256_PREFIX)
				  : ref;
	if (is_hex(hex) && strlen(hex) <= 64) {
		_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
		r = snap_store_prepare(snap_core_store(core), "SELECT id FROM images WHERE substr(id, 8, ?) = ? LIMIT 2", &st, err);
		if (r < 0)
			return r;
		sqlite3_bind_int(st, 1, (int)strlen(hex));
		sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			char found[SNAP_DIGEST_MAX];
			snprintf(found, sizeof(found), "%s", (const char *)sqlite3_column_text(st, 0));
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				return snap_error_set(err, -EINVAL, "image ID prefix '%s' is ambiguous", ref);
			memcpy(id, found, SNAP_DIGEST_MAX);
			if (ret_name)
				*ret_name = NULL;
			return 0;
		}
		if (rc != SQLITE_DONE)
			return snap_store_error(snap_core_store(core), rc, err, "look up image");
	}
	return snap_error_set(err, -ENOENT, "no such image: %s", ref);
}

int img_db_get(struct snap_core *core, const char *id, char manifest_digest[SNAP_DIGEST_MAX],
	       char top_chain[SNAP_DIGEST_MAX], size_t *n_layers, uint64_t *size, int64_t *created_ns,
	       struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core),
			       "SELECT manifest_digest, top_chain_id, n_layers, size, created_ns"
			       " FROM images WHERE id = ?",
			       &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return snap_error_set(err, -ENOENT, "no such image: %s", id);
	if (rc != SQLITE_ROW)
		return snap_store_error(snap_core_store(core), rc, err, "look up image");
	if (manifest_digest)
		snprintf(manifest_digest, SNAP_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
	if (top_chain)
		snprintf(top_chain, SNAP_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(st, 1));
	if (n_layers)
		*n_layers = (size_t)sqlite3_column_int64(st, 2);
	if (size)
		*size = (uint64_t)sqlite3_column_int64(st, 3);
	if (created_ns)
		*created_ns = sqlite3_column_int64(st, 4);
	return 0;
}

int img_db_layers(struct snap_core *core, const char *id, struct img_layer **ret, size_t *ret_n,
		  struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core),
			       "SELECT chain_id, diff_id, blob_digest, diff_size FROM image_layers"
			       " WHERE image_id = ? ORDER BY idx",
			       &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	_cleanup_free_ struct img_layer *v = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct img_layer *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			return snap_error_set(err, -ENOMEM, "image layers: out of memory");
		v = nv;
		snprintf(v[n].chain_id, SNAP_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(v[n].diff_id, SNAP_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(v[n].blob_digest, SNAP_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(st, 2));
		v[n].diff_size = (uint64_t)sqlite3_column_int64(st, 3);
		n++;
	}
	if (rc != SQLITE_DONE)
		return snap_store_error(snap_core_store(core), rc, err, "read image layers");
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int img_db_tags(struct snap_core *core, const char *id, char ***ret, size_t *ret_n,
		struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core), "SELECT name FROM image_tags WHERE image_id = ? ORDER BY name", &st,
			       err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	char **v = calloc(1, sizeof(char *));
	size_t n = 0;
	int rc = SQLITE_DONE;
	while (v && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char **nv = realloc(v, (n + 2) * sizeof(char *));
		if (!nv)
			break;
		v = nv;
		v[n] = strdup((const char *)sqlite3_column_text(st, 0));
		v[++n] = NULL;
		if (!v[n - 1])
			break;
	}
	if (!v || rc != SQLITE_DONE) {
		for (size_t i = 0; v && i < n; i++)
			free(v[i]);
		free(v);
		if (!v || rc == SQLITE_ROW)
			return snap_error_set(err, -ENOMEM, "image tags: out of memory");
		return snap_store_error(snap_core_store(core), rc, err, "read image tags");
	}
	*ret = v;
	if (ret_n)
		*ret_n = n;
	return 0;
}

static int count_query(struct snap_core *core, const char *sql, const char *arg, struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core), sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return snap_store_error(snap_core_store(core), rc, err, "query image references");
}

int img_db_chain_referenced(struct snap_core *core, const char *chain_id, struct snap_error *err)
{
	return count_query(core, "SELECT 1 FROM image_layers WHERE chain_id = ? LIMIT 1", chain_id, err);
}

int img_db_blob_referenced(struct snap_core *core, const char *digest, struct snap_error *err)
{
	return count_query(core, "SELECT 1 FROM image_blobs WHERE digest = ? LIMIT 1", digest, err);
}
