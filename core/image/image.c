/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving, listing, history and removal of images. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "image/image-internal.h"

void snap_image_done(struct snap_image *img)
{
	free(img->name);
	snap_image_config_done(&img->config);
	*img = (struct snap_image){0};
}

static int read_config(struct snap_core *core, const char *id, json_t **ret, struct snap_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = snap_content_read(core, id, IMG_DOC_MAX, 0, &buf, &len, err);
	if (r < 0)
		return snap_error_prefix(err, "config of image %s", id);
	char what[128];
	snprintf(what, sizeof(what), "config of image %s", id);
	return oci_json_load(buf, len, what, ret, err);
}

int snap_image_resolve(struct snap_core *core, const char *ref, struct snap_image *ret,
		       struct snap_error *err)
{
	struct snap_image img = {0};
	int r = img_db_resolve(core, ref, img.id, &img.name, err);
	if (r < 0)
		return r;
	r = img_db_get(core, img.id, img.manifest_digest, img.top_chain_id, &img.n_layers, &img.size,
		       &img.created_ns, err);
	_cleanup_(json_decrefp) json_t *config = NULL;
	if (r == 0)
		r = read_config(core, img.id, &config, err);
	if (r == 0)
		r = oci_config_runtime(config, &img.config, err);
	if (r < 0) {
		snap_image_done(&img);
		return r;
	}
	*ret = img;
	return 0;
}

void snap_image_list_done(struct snap_image_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	*l = (struct snap_image_list){0};
}

int snap_image_list(struct snap_core *core, struct snap_image_list *ret, struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core),
			       "SELECT t.name, i.id, i.n_layers, i.size, i.created_ns FROM images i"
			       " LEFT JOIN image_tags t ON t.image_id = i.id"
			       " ORDER BY i.created_ns DESC, i.added_ns DESC, t.name",
			       &st, err);
	if (r < 0)
		return r;
	struct snap_image_list l = {0};
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct snap_image_entry *nv = realloc(l.v, (l.n + 1) * sizeof(*nv));
		if (!nv) {
			snap_image_list_done(&l);
			return snap_error_set(err, -ENOMEM, "list images: out of memory");
		}
		l.v = nv;
		struct snap_image_entry *e = &l.v[l.n++];
		*e = (struct snap_image_entry){0};
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (name && !(e->name = strdup(name))) {
			snap_image_list_done(&l);
			return snap_error_set(err, -ENOMEM, "list images: out of memory");
		}
		snprintf(e->id, sizeof(e->id), "%s", (const char *)sqlite3_column_text(st, 1));
		e->n_layers = (size_t)sqlite3_column_int64(st, 2);
		e->size = (uint64_t)sqlite3_column_int64(st, 3);
		e->created_ns = sqlite3_column_int64(st, 4);
	}
	if (rc != SQLITE_DONE) {
		snap_image_list_done(&l);
		return snap_store_error(snap_core_store(core), rc, err, "list images");
	}
	*ret = l;
	return 0;
}

void snap_history_done(struct snap_history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].created_by);
		free(h->v[i].author);
		free(h->v[i].comment);
		free(h->v[i].layer_chain_id);
		free(h->v[i].image_id);
	}
	free(h->v);
	*h = (struct snap_history){0};
}

static char *dup_json_string(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? strdup(s) : strdup("");
}

/* An image whose top layer is chain_id and which has n_layers layers. */
static int image_with_top(struct snap_core *core, const char *chain_id, size_t n_layers,
			  char id[SNAP_DIGEST_MAX])
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	if (snap_store_prepare(snap_core_store(core),
			   "SELECT id FROM images WHERE top_chain_id = ? AND n_layers = ?"
			   " ORDER BY added_ns LIMIT 1",
			   &st, NULL) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, chain_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)n_layers);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -ENOENT;
	snprintf(id, SNAP_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
	return 0;
}

int snap_image_history(struct snap_core *core, const char *ref, struct snap_history *ret,
		       struct snap_error *err)
{
	struct snap_history h = {0};
	int r = img_db_resolve(core, ref, h.id, NULL, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct img_layer *layers = NULL;
	size_t n_layers = 0;
	r = img_db_layers(core, h.id, &layers, &n_layers, err);
	if (r < 0)
		return r;
	_cleanup_(json_decrefp) json_t *config = NULL;
	r = read_config(core, h.id, &config, err);
	if (r < 0)
		return r;
	json_t *hist = json_object_get(config, "history");
	size_t n_hist = json_is_array(hist) ? json_array_size(hist) : 0, n_empty = 0;
	for (size_t i = 0; i < n_hist; i++)
		n_empty += json_is_true(json_object_get(json_array_get(hist, i), "empty_layer"));
	/* Some tools write less history than layers (or none): the layers
	 * left over get a line each, with what is known (their size). */
	size_t n = n_hist, n_synth = 0;
	if (n_hist - n_empty < n_layers)
		n_synth = n_layers - (n_hist - n_empty);
	n += n_synth;
	h.v = calloc(n ? n : 1, sizeof(*h.v));
	if (!h.v)
		return snap_error_set(err, -ENOMEM, "history: out of memory");
	size_t layer = 0;
	for (size_t i = 0; i < n; i++) {
		struct snap_history_entry *e = &h.v[h.n++];
		bool synth = i >= n_hist;
		json_t *o = synth ? NULL : json_array_get(hist, i);
		e->created_by = dup_json_string(o, "created_by");
		e->author = dup_json_string(o, "author");
		e->comment = dup_json_string(o, "comment");
		const char *created = json_string_value(json_object_get(o, "created"));
		if (created && oci_parse_time(created, &e->created_ns) < 0)
			e->created_ns = 0;
		if (synth)
			e->created_ns = 0;
		e->empty_layer = json_is_true(json_object_get(o, "empty_layer"));
		if (!e->created_by || !e->author || !e->comment) {
			snap_history_done(&h);
			return snap_error_set(err, -ENOMEM, "history: out of memory");
		}
		if (!e->empty_layer && layer < n_layers) {
			e->size = layers[layer].diff_size;
			e->layer_chain_id = strdup(layers[layer].chain_id);
			layer++;
			/* The image this line built, if it is still here (a base
			 * image under a committed one). */
			char id[SNAP_DIGEST_MAX];
			if (layer < n_layers && image_with_top(core, layers[layer - 1].chain_id, layer, id) == 0)
				e->image_id = strdup(id);
		}
	}
	*ret = h;
	return 0;
}

struct user_find {
	char *who;
	size_t len;
	bool found;
};

static int find_user_cb(const struct snap_info *info, void *userdata)
{
	struct user_find *f = userdata;
	if (info->kind == SNAP_KIND_COMMITTED && snap_labels_get(&info->labels, LABEL_LAYER))
		return 0;
	snprintf(f->who, f->len, "snapshot %s", info->key);
	f->found = true;
	return 1;
}

/* Is the image in use by a container?  The runtime's containers table when
 * there is one; and in any case an active snapshot or view on its top
 * layer that is not one of the image store's own layers. */
static int container_uses(struct snap_core *core, const char *id, const char *top,
			  char *who, size_t who_len, struct snap_error *err)
{
	struct snap_store *store = snap_core_store(core);
	const char *col = NULL;
	{
		_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
		int r = snap_store_prepare(store, "SELECT name FROM pragma_table_info('containers')", &st, err);
		if (r < 0)
			return r;
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *c = (const char *)sqlite3_column_text(st, 0);
			if (c && strcmp(c, "image_id") == 0)
				col = "image_id";
			else if (c && strcmp(c, "image") == 0 && !col)
				col = "image";
		}
		if (rc != SQLITE_DONE)
			return snap_store_error(store, rc, err, "read the containers table's columns");
	}
	if (col) {
		char sql[160];
		snprintf(sql, sizeof(sql), "SELECT name FROM containers WHERE %s = ?1 LIMIT 1", col);
		_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
		int r = snap_store_prepare(store, sql, &st, err);
		if (r < 0)
			return r;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const char *c = (const char *)sqlite3_column_text(st, 0);
			snprintf(who, who_len, "container %s", c ? c : "?");
			return 1;
		}
		if (rc != SQLITE_DONE)
			return snap_store_error(store, rc, err, "look up the containers of image %s", id);
	}
	if (!*top)
		return 0;
	char filter[SNAP_DIGEST_MAX + 16];
	snprintf(filter, sizeof(filter), "parent==%s", top);
	const char *filters[] = {filter};
	struct user_find f = {who, who_len, false};
	int r = snap_walk(core, filters, 1, find_user_cb, &f, err);
	if (r < 0)
		return r;
	return f.found;
}

static int exec_id(struct snap_core *core, const char *sql, const char *arg, struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core), sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(snap_core_store(core), rc, err, "remove image rows");
	return 0;
}

static int image_blobs(struct snap_core *core, const char *id, struct img_blob **ret, size_t *ret_n,
		       struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core), "SELECT digest FROM image_blobs WHERE image_id = ?", &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	_cleanup_free_ struct img_blob *v = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct img_blob *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			return snap_error_set(err, -ENOMEM, "rmi: out of memory");
		v = nv;
		snprintf(v[n++].digest, SNAP_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	if (rc != SQLITE_DONE)
		return snap_store_error(snap_core_store(core), rc, err, "read image blobs");
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

/* 1 when the image still has a tag, 0 when not, -errno. */
static int has_tags(struct snap_core *core, const char *id, struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core), "SELECT 1 FROM image_tags WHERE image_id = ?", &st,
				   err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	/* Only SQLITE_DONE means "no tag left": a busy or failing read must
	 * never delete the image's rows. */
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return snap_store_error(snap_core_store(core), rc, err, "read image tags");
	return rc == SQLITE_ROW;
}

static int remove_rows(struct snap_core *core, const char *id, const char *name, bool *ret_gone,
		       struct snap_error *err)
{
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(snap_core_store(core), &txn, err);
	if (r < 0)
		return r;
	if (name)
		r = exec_id(core, "DELETE FROM image_tags WHERE name = ?", name, err);
	else
		r = exec_id(core, "DELETE FROM image_tags WHERE image_id = ?", id, err);
	if (r < 0 || (r = has_tags(core, id, err)) < 0)
		return r;
	bool gone = r == 0;
	if (gone) {
		r = exec_id(core, "DELETE FROM image_layers WHERE image_id = ?", id, err);
		if (r == 0)
			r = exec_id(core, "DELETE FROM image_blobs WHERE image_id = ?", id, err);
		if (r == 0)
			r = exec_id(core, "DELETE FROM images WHERE id = ?", id, err);
		if (r < 0)
			return r;
	}
	r = snap_txn_commit(&txn, err);
	if (r == 0)
		*ret_gone = gone;
	return r;
}

int snap_image_remove(struct snap_core *core, const char *ref, unsigned flags,
		      char ret_removed_id[SNAP_DIGEST_MAX], struct snap_error *err)
{
	_cleanup_close_ int lock = snap_content_lock(core, true, err);
	if (lock < 0)
		return lock;
	char id[SNAP_DIGEST_MAX], top[SNAP_DIGEST_MAX];
	_cleanup_free_ char *name = NULL;
	int r = img_db_resolve(core, ref, id, &name, err);
	if (r < 0)
		return r;
	r = img_db_get(core, id, NULL, top, NULL, NULL, NULL, err);
	if (r < 0)
		return r;
	_cleanup_(snap_strv_freep) char **tags = NULL;
	size_t n_tags = 0;
	r = img_db_tags(core, id, &tags, &n_tags, err);
	if (r < 0)
		return r;
	bool force = flags & SNAP_RMI_FORCE;
	if (!name && n_tags > 1 && !force && !(flags & SNAP_RMI_ALL_TAGS))
		return snap_error_set(err, -EBUSY,
				      "image %.19s is referenced by %zu tags (%s, ...): remove them by name, or force",
				      id + 7, n_tags, tags[0]);
	/* Untagging one of several names never affects a container. */
	bool last = !name || n_tags <= 1;
	if (last && !force) {
		char who[256] = "";
		r = container_uses(core, id, top, who, sizeof(who), err);
		if (r < 0)
			return r;
		if (r > 0)
			return snap_error_set(err, -EBUSY, "image %s is in use by %s: remove it first, or force",
					      name ? name : ref, who);
	}
	_cleanup_free_ struct img_layer *layers = NULL;
	size_t n_layers = 0;
	_cleanup_free_ struct img_blob *blobs = NULL;
	size_t n_blobs = 0;
	r = img_db_layers(core, id, &layers, &n_layers, err);
	if (r == 0)
		r = image_blobs(core, id, &blobs, &n_blobs, err);
	if (r < 0)
		return r;
	bool gone = false;
	r = remove_rows(core, id, name, &gone, err);
	if (r < 0)
		return snap_error_prefix(err, "remove image %s", ref);
	if (ret_removed_id)
		snprintf(ret_removed_id, SNAP_DIGEST_MAX, "%s", gone ? id : "");
	if (!gone)
		return 0;
	r = img_collect(core, blobs, n_blobs, layers, n_layers, NULL, NULL, err);
	if (r < 0)
		return snap_error_prefix(err, "image %s removed; cleaning up its content (run gc)", id);
	return 0;
}
