/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl verify: is what is on disk still the image?
 *
 * Blobs are hashed whole and compared with their names.  Layers are
 * checked by snap_layer_verify: the snapshot's changes against its parent,
 * written in canonical form and hashed, must give the config's diff ID;
 * when they do not, the layer blob tells drift from a layer that was never
 * canonical and names the paths.  Blobs and layers shared by several images
 * are checked once (results are kept by digest and chain ID).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image-internal.h"
#include "util/strset.h"

struct result {
	bool ok;
	char *message;
	struct snap_layer_verify layer;
};

struct verify_run {
	struct snap_core *core;
	snap_verify_fn cb;
	void *userdata;
	size_t failed;
	struct snap_strmap results; /* digest or chain ID -> struct result */
};

static void run_done(struct verify_run *v)
{
	for (size_t k = 0; k < v->results.cap; k++) {
		struct result *res = v->results.slots[k].value;
		if (!v->results.slots[k].key || !res)
			continue;
		free(res->message);
		snap_layer_verify_done(&res->layer);
		free(res);
	}
	snap_strmap_done(&v->results);
}

static struct result *result_new(struct verify_run *v, const char *key, bool ok, const char *fmt, ...)
	_printf_(4, 5);
static struct result *result_new(struct verify_run *v, const char *key, bool ok, const char *fmt, ...)
{
	struct result *res = calloc(1, sizeof(*res));
	if (!res)
		return NULL;
	res->ok = ok;
	va_list ap;
	va_start(ap, fmt);
	int q = vasprintf(&res->message, fmt, ap);
	va_end(ap);
	if (q < 0 || snap_strmap_set(&v->results, key, res) < 0) {
		if (q >= 0)
			free(res->message);
		free(res);
		return NULL;
	}
	return res;
}

static void report(struct verify_run *v, struct snap_verify_item *it, const struct result *res)
{
	it->ok = res->ok;
	it->message = res->message;
	if (it->kind == SNAP_VERIFY_LAYER)
		it->layer = &res->layer;
	if (!res->ok)
		v->failed++;
	if (v->cb)
		v->cb(it, v->userdata);
}

/* Hash a blob whole; a cached result when it was checked before. */
static struct result *check_blob(struct verify_run *v, const char *digest)
{
	void *cached;
	if (snap_strmap_get(&v->results, digest, &cached))
		return cached;
	struct snap_error e = { 0 };
	_cleanup_close_ int fd = snap_content_open(v->core, digest, NULL, &e);
	if (fd < 0)
		return result_new(v, digest, false, "%s", e.message);
	char actual[SNAP_DIGEST_MAX];
	uint64_t size;
	int r = snap_sha256_fd(fd, actual, &size);
	if (r < 0)
		return result_new(v, digest, false, "read blob: %s", strerror(-r));
	if (strcmp(actual, digest) != 0)
		return result_new(v, digest, false, "corrupt: its %" PRIu64 " bytes hash to %s", size,
				  actual);
	return result_new(v, digest, true, "digest matches (%" PRIu64 " bytes%s)", size,
			  snap_content_verity_on(fd) ? ", fs-verity sealed" : "");
}

static struct result *check_layer(struct verify_run *v, const struct img_layer *l, bool blob_ok)
{
	/* Keyed apart from blobs: a first plain layer's chain ID is its
	 * diff ID, which is also its blob's digest. */
	char key[SNAP_DIGEST_MAX + 8];
	snprintf(key, sizeof(key), "layer:%s", l->chain_id);
	void *cached;
	if (snap_strmap_get(&v->results, key, &cached))
		return cached;
	struct snap_error e = { 0 };
	_cleanup_close_ int blobfd = blob_ok ? snap_content_open(v->core, l->blob_digest, NULL, &e) : -EBADF;
	struct snap_layer_verify lv;
	int r = snap_layer_verify(v->core, l->chain_id, l->diff_id, blobfd >= 0 ? blobfd : -1, &lv, &e);
	if (r < 0)
		return result_new(v, key, false, "%s", e.message);
	struct result *res;
	if (lv.diff_id_match)
		res = result_new(v, key, true, "diff ID re-derived from disk matches");
	else if (lv.blob_compared && lv.n_drift_total == 0)
		res = result_new(v, key, true,
				 "matches its layer blob entry by entry (the layer is not in canonical "
				 "form: disk diff ID %s)", lv.disk_diff_id);
	else if (lv.blob_compared)
		res = result_new(v, key, false, "drift: %zu path%s differ%s from the layer",
				 lv.n_drift_total, lv.n_drift_total == 1 ? "" : "s",
				 lv.n_drift_total == 1 ? "s" : "");
	else
		res = result_new(v, key, false,
				 "disk diff ID %s differs, and without a sound layer blob the paths "
				 "that changed cannot be named", lv.disk_diff_id);
	if (!res) {
		snap_layer_verify_done(&lv);
		return NULL;
	}
	res->layer = lv;
	return res;
}

/* The config's diff IDs, checked against the database's layer rows. */
static int config_diff_ids(struct verify_run *v, const char *id, struct img_layer *layers, size_t n,
			   struct result **ret_res)
{
	struct snap_error e = { 0 };
	_cleanup_free_ char *buf = NULL;
	size_t len;
	*ret_res = NULL;
	int r = snap_content_read(v->core, id, IMG_DOC_MAX, SNAP_CONTENT_VERIFY, &buf, &len, &e);
	struct oci_config c = { 0 };
	if (r == 0)
		r = oci_config_parse(buf, len, "config", &c, &e);
	if (r < 0) {
		*ret_res = result_new(v, id, false, "%s", e.message);
		return *ret_res ? 0 : -ENOMEM;
	}
	if (c.n_diff_ids != n) {
		*ret_res = result_new(v, id, false, "lists %zu diff IDs, the image store %zu layers",
				      c.n_diff_ids, n);
	} else {
		char chain[SNAP_DIGEST_MAX] = "";
		for (size_t i = 0; i < n && !*ret_res; i++) {
			char next[SNAP_DIGEST_MAX];
			if (snap_chain_id(chain, c.diff_ids[i], next) < 0 ||
			    strcmp(next, layers[i].chain_id) != 0 || strcmp(c.diff_ids[i], layers[i].diff_id) != 0)
				*ret_res = result_new(v, id, false,
						      "rootfs.diff_ids[%zu] %s does not match the image store's "
						      "layer %s", i, c.diff_ids[i], layers[i].chain_id);
			memcpy(chain, next, sizeof(chain));
		}
	}
	oci_config_done(&c);
	if (!*ret_res)
		*ret_res = result_new(v, id, true, "digest matches, rootfs.diff_ids agree with the layers");
	return *ret_res ? 0 : -ENOMEM;
}

static int verify_image(struct verify_run *v, const char *id, const char *name, struct snap_error *err)
{
	char manifest[SNAP_DIGEST_MAX];
	int r = img_db_get(v->core, id, manifest, NULL, NULL, NULL, NULL, err);
	_cleanup_free_ struct img_layer *layers = NULL;
	size_t n = 0;
	if (r == 0)
		r = img_db_layers(v->core, id, &layers, &n, err);
	if (r < 0)
		return r;
	struct snap_verify_item it = { .kind = SNAP_VERIFY_BLOB, .image_id = id, .image_name = name,
				       .n_layers = n };
	struct result *res;
	if (!(res = check_blob(v, manifest)))
		return snap_error_set(err, -ENOMEM, "verify: out of memory");
	it.role = "manifest";
	it.digest = manifest;
	report(v, &it, res);

	void *cached;
	if (snap_strmap_get(&v->results, id, &cached))
		res = cached;
	else if (config_diff_ids(v, id, layers, n, &res) < 0)
		return snap_error_set(err, -ENOMEM, "verify: out of memory");
	it.role = "config";
	it.digest = id;
	report(v, &it, res);

	for (size_t i = 0; i < n; i++) {
		struct result *blob = check_blob(v, layers[i].blob_digest);
		if (!blob)
			return snap_error_set(err, -ENOMEM, "verify: out of memory");
		it = (struct snap_verify_item){ .kind = SNAP_VERIFY_BLOB, .image_id = id, .image_name = name,
						.role = "layer", .digest = layers[i].blob_digest,
						.layer_index = i + 1, .n_layers = n };
		report(v, &it, blob);
		struct result *lres = check_layer(v, &layers[i], blob->ok);
		if (!lres)
			return snap_error_set(err, -ENOMEM, "verify: out of memory");
		it.kind = SNAP_VERIFY_LAYER;
		it.role = "layer";
		it.digest = layers[i].diff_id;
		it.chain_id = layers[i].chain_id;
		report(v, &it, lres);
	}
	return 0;
}

struct blob_walk {
	struct verify_run *v;
	char **digests;
	size_t n;
};

static int collect_unchecked(const char *digest, void *userdata)
{
	struct blob_walk *w = userdata;
	if (snap_strmap_get(&w->v->results, digest, NULL))
		return 0; /* checked as a manifest, config or layer blob */
	char **nv = realloc(w->digests, (w->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	w->digests = nv;
	if (!(nv[w->n] = strdup(digest)))
		return -ENOMEM;
	w->n++;
	return 0;
}

/* Blobs no image references (left for gc): their digests too. */
static int verify_other_blobs(struct verify_run *v, struct snap_error *err)
{
	struct blob_walk w = { .v = v };
	int r = snap_content_walk(v->core, collect_unchecked, &w, err);
	if (r == -ENOMEM)
		snap_error_set(err, r, "verify: out of memory");
	for (size_t i = 0; r >= 0 && i < w.n; i++) {
		struct result *res = check_blob(v, w.digests[i]);
		if (!res) {
			r = snap_error_set(err, -ENOMEM, "verify: out of memory");
			break;
		}
		struct snap_verify_item it = { .kind = SNAP_VERIFY_BLOB, .role = "unreferenced",
					       .digest = w.digests[i] };
		report(v, &it, res);
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.digests[i]);
	free(w.digests);
	return r < 0 ? r : 0;
}

int snap_image_verify(struct snap_core *core, const char *const *refs, size_t n, snap_verify_fn cb,
		      void *userdata, size_t *ret_failed, struct snap_error *err)
{
	struct verify_run v = { .core = core, .cb = cb, .userdata = userdata };
	int r = 0;
	if (n > 0) {
		for (size_t i = 0; r == 0 && i < n; i++) {
			char id[SNAP_DIGEST_MAX];
			_cleanup_free_ char *name = NULL;
			r = img_db_resolve(core, refs[i], id, &name, err);
			if (r == 0)
				r = verify_image(&v, id, name, err);
		}
	} else {
		_cleanup_(snap_image_list_done) struct snap_image_list l = { 0 };
		r = snap_image_list(core, &l, err);
		_cleanup_(snap_strmap_done) struct snap_strmap seen = { 0 };
		for (size_t i = 0; r == 0 && i < l.n; i++) {
			int q = snap_strmap_put(&seen, l.v[i].id, NULL);
			if (q < 0)
				r = snap_error_set(err, -ENOMEM, "verify: out of memory");
			else if (q > 0)
				r = verify_image(&v, l.v[i].id, l.v[i].name, err);
		}
		if (r == 0)
			r = verify_other_blobs(&v, err);
	}
	if (r == 0 && ret_failed)
		*ret_failed = v.failed;
	run_done(&v);
	return r < 0 ? snap_error_prefix(err, "verify") : 0;
}
