/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What no image needs any more: blobs without a reference, layer snapshots
 * that no image and no child uses, staging snapshots of unpacks whose
 * process died.  Apart from image-unpack.c (which applies layers) so that
 * the binaries that collect but never unpack (snapctl's rmi, check, gc) do
 * not link the layer engine and its libraries (runtime/cmd-helper.c).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core-internal.h"
#include "image/image-internal.h"

static int delete_blob_row(struct snap_core *core, const char *digest, struct snap_error *err)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r = snap_store_prepare(snap_core_store(core),
			       "DELETE FROM blobs WHERE digest = ?1 AND NOT EXISTS"
			       " (SELECT 1 FROM image_blobs WHERE digest = ?1)",
			       &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(snap_core_store(core), rc, err, "delete blob row");
	return sqlite3_changes(snap_core_db(core)) > 0;
}

static int collect_blob(struct snap_core *core, const char *digest, uint64_t *count,
			struct snap_error *err)
{
	int r = img_db_blob_referenced(core, digest, err);
	if (r != 0)
		return r < 0 ? r : 0;
	/* Row first: a crash between the two leaves a file without row,
	 * which gc finds; never a row without its file. */
	r = delete_blob_row(core, digest, err);
	if (r < 0)
		return r;
	bool present = snap_content_exists(core, digest);
	r = snap_content_delete(core, digest, err);
	if (r < 0)
		return r;
	if (count && present)
		(*count)++;
	return 0;
}

/* Remove layer snapshot chain_id if it is ours, no image uses it and
 * nothing builds on it: 1 removed, 0 kept, <0 error. */
static int collect_layer(struct snap_core *core, const char *chain_id, struct snap_error *err)
{
	int r = img_db_chain_referenced(core, chain_id, err);
	if (r != 0)
		return r < 0 ? r : 0;
	struct snap_info info = {0};
	r = snap_stat(core, chain_id, &info, NULL);
	if (r < 0)
		return 0;
	bool ours = info.kind == SNAP_KIND_COMMITTED && snap_labels_get(&info.labels, LABEL_LAYER);
	snap_info_done(&info);
	if (!ours)
		return 0;
	struct snap_error e = {0};
	r = snap_remove(core, chain_id, &e);
	if (r == -EBUSY || r == -ENOTEMPTY || r == -ENOENT)
		return 0; /* a container or another layer builds on it */
	if (r < 0) {
		*err = e;
		return r;
	}
	return 1;
}

int img_collect(struct snap_core *core, const struct img_blob *blobs, size_t n_blobs,
		const struct img_layer *layers, size_t n_layers, uint64_t *ret_blobs,
		uint64_t *ret_snaps, struct snap_error *err)
{
	uint64_t nb = 0, ns = 0;
	for (size_t i = 0; i < n_blobs; i++) {
		int r = collect_blob(core, blobs[i].digest, &nb, err);
		if (r < 0)
			return r;
	}
	for (size_t i = n_layers; i > 0; i--) {
		int r = collect_layer(core, layers[i - 1].chain_id, err);
		if (r < 0)
			return r;
		if (r == 0)
			break; /* its parents are still in use by it */
		ns++;
	}
	if (ret_blobs)
		*ret_blobs += nb;
	if (ret_snaps)
		*ret_snaps += ns;
	return 0;
}

struct gc_walk {
	char **keys;
	size_t n;
	char **stale; /* temporary snapshots of dead processes */
	size_t n_stale;
};

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int gc_walk_cb(const struct snap_info *info, void *userdata)
{
	struct gc_walk *g = userdata;
	/* The staging snapshot or diff view of an import, commit or diff that
	 * was killed (a live process always removes its own, also on failure). */
	if (info->kind != SNAP_KIND_COMMITTED && snap_temp_key_stale(info->key))
		return strv_push(&g->stale, &g->n_stale, info->key);
	if (info->kind != SNAP_KIND_COMMITTED || !snap_labels_get(&info->labels, LABEL_LAYER))
		return 0;
	return strv_push(&g->keys, &g->n, info->key);
}

struct gc_blobs {
	struct snap_core *core;
	uint64_t count;
	struct snap_error *err;
};

static int gc_blob_cb(const char *digest, void *userdata)
{
	struct gc_blobs *g = userdata;
	return collect_blob(g->core, digest, &g->count, g->err);
}

int snap_image_gc(struct snap_core *core, uint64_t *ret_blobs, uint64_t *ret_snapshots,
		  struct snap_error *err)
{
	_cleanup_close_ int lock = snap_content_lock(core, true, err);
	if (lock < 0)
		return lock;
	struct gc_blobs gb = {.core = core, .err = err};
	int r = snap_content_walk(core, gc_blob_cb, &gb, err);
	if (r < 0)
		return snap_error_prefix(err, "gc blobs");
	/* Rows whose file is gone (crash between unlink and row delete is
	 * impossible by ordering, but a user may have removed files). */
	r = snap_store_exec(snap_core_store(core),
			    "DELETE FROM blobs WHERE digest NOT IN (SELECT digest FROM image_blobs)", err);
	if (r < 0)
		return snap_error_prefix(err, "gc blob rows");

	struct gc_walk gw = {0};
	r = snap_walk(core, NULL, 0, gc_walk_cb, &gw, err);
	uint64_t ns = 0;
	/* Crashed unpacks first: they may be the only users of a layer. */
	for (size_t i = 0; r >= 0 && i < gw.n_stale; i++) {
		struct snap_error e = {0};
		int q = snap_remove(core, gw.stale[i], &e);
		if (q == 0)
			ns++;
		else if (q != -ENOENT)
			r = snap_error_set(err, q, "%s", e.message);
	}
	for (size_t i = 0; i < gw.n_stale; i++)
		free(gw.stale[i]);
	free(gw.stale);
	/* Leaves first: removing a layer may free its parent, so go round
	 * until a pass removes nothing. */
	for (bool progress = true; r >= 0 && progress;) {
		progress = false;
		for (size_t i = 0; r >= 0 && i < gw.n; i++) {
			if (!gw.keys[i])
				continue;
			r = collect_layer(core, gw.keys[i], err);
			if (r > 0) {
				ns++;
				progress = true;
				free(gw.keys[i]);
				gw.keys[i] = NULL;
				r = 0;
			}
		}
	}
	for (size_t i = 0; i < gw.n; i++)
		free(gw.keys[i]);
	free(gw.keys);
	if (r < 0)
		return snap_error_prefix(err, "gc layers");
	if (ret_blobs)
		*ret_blobs = gb.count;
	if (ret_snapshots)
		*ret_snapshots = ns;
	return 0;
}
