/* SPDX-License-Identifier: Apache-2.0 */
/*
 * New images made here rather than imported: a one-layer image from a root
 * filesystem (import-rootfs) and a container's changes on top of its image
 * (commit).  Both end in img_create(): config and manifest into the
 * content store, then the rows.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "image/image-internal.h"

static const char *oci_layer_type(const char *mt)
{
	/* One manifest, one family of media types: docker's are renamed. */
	if (strcmp(mt, MT_DOCKER_LAYER_GZIP) == 0)
		return MT_OCI_LAYER_GZIP;
	if (strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar") == 0)
		return MT_OCI_LAYER;
	return mt;
}

int img_create(struct snap_core *core, json_t *config, const struct img_layer *layers,
	       const char *const *layer_media_types, const uint64_t *blob_sizes, size_t n,
	       const char *tag, char ret_id[SNAP_DIGEST_MAX], struct snap_error *err)
{
	_cleanup_free_ char *cbuf = json_dumps(config, JSON_COMPACT);
	if (!cbuf)
		return snap_error_set(err, -ENOMEM, "new image: out of memory");
	char config_digest[SNAP_DIGEST_MAX], manifest_digest[SNAP_DIGEST_MAX];
	int r = snap_content_put(core, cbuf, strlen(cbuf), NULL, config_digest, NULL, err);
	if (r < 0)
		return r;
	_cleanup_(json_decrefp) json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2,
						      "mediaType", MT_OCI_MANIFEST, "config", "mediaType",
						      MT_OCI_CONFIG, "digest", config_digest, "size",
						      (json_int_t)strlen(cbuf), "layers");
	if (!m)
		return snap_error_set(err, -ENOMEM, "new image: out of memory");
	_cleanup_free_ struct img_blob *blobs = calloc(n + 2, sizeof(*blobs));
	if (!blobs)
		return snap_error_set(err, -ENOMEM, "new image: out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", oci_layer_type(layer_media_types[i]),
				      "digest", layers[i].blob_digest, "size", (json_int_t)blob_sizes[i]);
		if (!d || json_array_append_new(json_object_get(m, "layers"), d) < 0)
			return snap_error_set(err, -ENOMEM, "new image: out of memory");
		snprintf(blobs[i + 2].digest, SNAP_DIGEST_MAX, "%s", layers[i].blob_digest);
		blobs[i + 2].size = blob_sizes[i];
	}
	_cleanup_free_ char *mbuf = json_dumps(m, JSON_COMPACT);
	if (!mbuf)
		return snap_error_set(err, -ENOMEM, "new image: out of memory");
	r = snap_content_put(core, mbuf, strlen(mbuf), NULL, manifest_digest, NULL, err);
	if (r < 0)
		return r;
	snprintf(blobs[0].digest, SNAP_DIGEST_MAX, "%s", manifest_digest);
	blobs[0].size = strlen(mbuf);
	snprintf(blobs[1].digest, SNAP_DIGEST_MAX, "%s", config_digest);
	blobs[1].size = strlen(cbuf);

	struct img_record rec = {
		.manifest_media_type = MT_OCI_MANIFEST,
		.layers = (struct img_layer *)layers,
		.n_layers = n,
		.blobs = blobs,
		.n_blobs = n + 2,
	};
	const char *created = json_string_value(json_object_get(config, "created"));
	if (created)
		oci_parse_time(created, &rec.created_ns);
	snprintf(rec.id, sizeof(rec.id), "%s", config_digest);
	snprintf(rec.manifest_digest, sizeof(rec.manifest_digest), "%s", manifest_digest);
	r = img_db_insert(core, &rec, tag, err);
	if (r < 0)
		return r;
	snprintf(ret_id, SNAP_DIGEST_MAX, "%s", config_digest);
	return 0;
}

/* ---- commit ----------------------------------------------------------- */

static int parse_argv_form(const char *arg, json_t **ret)
{
	while (isspace((unsigned char)*arg))
		arg++;
	if (*arg == '[') {
		json_t *a = json_loads(arg, 0, NULL);
		if (!json_is_array(a)) {
			json_decref(a);
			return -EINVAL;
		}
		for (size_t i = 0; i < json_array_size(a); i++) {
			if (!json_is_string(json_array_get(a, i))) {
				json_decref(a);
				return -EINVAL;
			}
		}
		*ret = a;
		return 0;
	}
	/* Shell form, as in a Dockerfile. */
	*ret = json_pack("[s, s, s]", "/bin/sh", "-c", arg);
	return *ret ? 0 : -ENOMEM;
}

static int apply_change(json_t *cc, const char *change, struct snap_error *err)
{
	const char *sp = change;
	while (*sp && !isspace((unsigned char)*sp))
		sp++;
	size_t klen = (size_t)(sp - change);
	const char *arg = sp;
	while (isspace((unsigned char)*arg))
		arg++;
	char kw[16] = "";
	if (klen == 0 || klen >= sizeof(kw))
		return snap_error_set(err, -EINVAL, "invalid change '%s'", change);
	for (size_t i = 0; i < klen; i++)
		kw[i] = (char)toupper((unsigned char)change[i]);
	if (!*arg)
		return snap_error_set(err, -EINVAL, "change '%s': missing argument", change);

	if (strcmp(kw, "CMD") == 0 || strcmp(kw, "ENTRYPOINT") == 0) {
		json_t *v;
		if (parse_argv_form(arg, &v) < 0)
			return snap_error_set(err, -EINVAL, "change '%s': not a JSON array of strings", change);
		json_object_set_new(cc, strcmp(kw, "CMD") == 0 ? "Cmd" : "Entrypoint", v);
		return 0;
	}
	if (strcmp(kw, "ENV") == 0 || strcmp(kw, "LABEL") == 0) {
		const char *eq = strchr(arg, '=');
		const char *sp2 = arg + strcspn(arg, " \t");
		_cleanup_free_ char *key = NULL, *val = NULL;
		if (eq && eq < sp2) {
			key = strndup(arg, (size_t)(eq - arg));
			val = strdup(eq + 1);
		} else if (*sp2) {
			key = strndup(arg, (size_t)(sp2 - arg));
			const char *v = sp2;
			while (isspace((unsigned char)*v))
				v++;
			val = strdup(v);
		} else {
			return snap_error_set(err, -EINVAL, "change '%s': expected KEY=VALUE", change);
		}
		if (!key || !val)
			return snap_error_set(err, -ENOMEM, "change: out of memory");
		/* Dockerfile values may be quoted. */
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			memmove(val, val + 1, vl - 2);
			val[vl - 2] = '\0';
		}
		if (strcmp(kw, "LABEL") == 0) {
			json_t *labels = json_object_get(cc, "Labels");
			if (!json_is_object(labels)) {
				labels = json_object();
				json_object_set_new(cc, "Labels", labels);
			}
			json_object_set_new(labels, key, json_string(val));
			return 0;
		}
		json_t *env = json_object_get(cc, "Env");
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(cc, "Env", env);
		}
		_cleanup_free_ char *kv = NULL;
		if (asprintf(&kv, "%s=%s", key, val) < 0)
			return snap_error_set(err, -ENOMEM, "change: out of memory");
		size_t i, kl = strlen(key);
		json_t *e;
		json_array_foreach(env, i, e) {
			const char *s = json_string_value(e);
			if (s && strncmp(s, key, kl) == 0 && s[kl] == '=') {
				json_array_set_new(env, i, json_string(kv));
				return 0;
			}
		}
		json_array_append_new(env, json_string(kv));
		return 0;
	}
	if (strcmp(kw, "WORKDIR") == 0) {
		json_object_set_new(cc, "WorkingDir", json_string(arg));
		return 0;
	}
	if (strcmp(kw, "USER") == 0) {
		json_object_set_new(cc, "User", json_string(arg));
		return 0;
	}
	if (strcmp(kw, "STOPSIGNAL") == 0) {
		json_object_set_new(cc, "StopSignal", json_string(arg));
		return 0;
	}
	if (strcmp(kw, "EXPOSE") == 0 || strcmp(kw, "VOLUME") == 0) {
		const char *field = strcmp(kw, "EXPOSE") == 0 ? "ExposedPorts" : "Volumes";
		json_t *o = json_object_get(cc, field);
		if (!json_is_object(o)) {
			o = json_object();
			json_object_set_new(cc, field, o);
		}
		char key[256];
		if (strcmp(kw, "EXPOSE") == 0 && !strchr(arg, '/'))
			snprintf(key, sizeof(key), "%s/tcp", arg);
		else
			snprintf(key, sizeof(key), "%s", arg);
		json_object_set_new(o, key, json_object());
		return 0;
	}
	return snap_error_set(err, -EINVAL, "change '%s': unsupported instruction %s", change, kw);
}

static int find_image_by_top(struct snap_core *core, const char *top, char id[SNAP_DIGEST_MAX])
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	if (snap_store_prepare(snap_core_store(core), "SELECT id FROM images WHERE top_chain_id = ? ORDER BY added_ns DESC LIMIT 1",
			   &st, NULL) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, top, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -ENOENT;
	snprintf(id, SNAP_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
	return 0;
}

/* The base image's config (deep copy), layers and their media types. */
struct commit_base {
	json_t *config;
	struct img_layer *layers;
	size_t n;
	const char **mts;
	uint64_t *sizes;
	json_t *manifest;
};

static void commit_base_done(struct commit_base *b)
{
	json_decref(b->config);
	json_decref(b->manifest);
	free(b->layers);
	free(b->mts);
	free(b->sizes);
}

static int load_base(struct snap_core *core, const char *id, struct commit_base *b, struct snap_error *err)
{
	char manifest_digest[SNAP_DIGEST_MAX];
	int r = img_db_get(core, id, manifest_digest, NULL, NULL, NULL, NULL, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
	size_t mlen, clen;
	r = snap_content_read(core, manifest_digest, IMG_DOC_MAX, SNAP_CONTENT_VERIFY, &mbuf, &mlen, err);
	if (r < 0)
		return r;
	struct oci_manifest m = {0};
	r = oci_manifest_parse(mbuf, mlen, manifest_digest, &m, err);
	if (r < 0)
		return r;
	b->manifest = json_incref(m.root);
	r = snap_content_read(core, id, IMG_DOC_MAX, SNAP_CONTENT_VERIFY, &cbuf, &clen, err);
	if (r == 0)
		r = oci_json_load(cbuf, clen, id, &b->config, err);
	if (r == 0)
		r = img_db_layers(core, id, &b->layers, &b->n, err);
	if (r == 0 && b->n != m.n_layers)
		r = snap_error_set(err, -EIO, "image %s: %zu layers recorded, %zu in its manifest", id, b->n,
				   m.n_layers);
	if (r == 0) {
		b->mts = calloc(b->n + 1, sizeof(*b->mts));
		b->sizes = calloc(b->n + 1, sizeof(*b->sizes));
		if (!b->mts || !b->sizes)
			r = snap_error_set(err, -ENOMEM, "commit: out of memory");
	}
	for (size_t i = 0; r == 0 && i < b->n; i++) {
		b->mts[i] = m.layers[i].media_type; /* borrowed from b->manifest */
		b->sizes[i] = (uint64_t)m.layers[i].size;
	}
	oci_manifest_done(&m);
	return r;
}

static json_t *scratch_config(void)
{
	return json_pack("{s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture", oci_host_arch(), "os", "linux",
			 "config", "rootfs", "type", "layers", "diff_ids", "history");
}

/* The container's run configuration over the base's, as docker commit
 * merges them: each member the container has replaces the base's; null
 * (an Entrypoint cleared with --entrypoint '') removes it. */
static int merge_container_config(json_t *cc, const char *container_config, struct snap_error *err)
{
	if (!container_config || !*container_config)
		return 0;
	_cleanup_(json_decrefp) json_t *run = json_loads(container_config, 0, NULL);
	if (!json_is_object(run))
		return snap_error_set(err, -EINVAL, "commit: the container's run configuration is not a JSON object");
	const char *key;
	json_t *v;
	json_object_foreach(run, key, v) {
		int r = json_is_null(v) ? (json_object_del(cc, key), 0) : json_object_set(cc, key, v);
		if (r < 0)
			return snap_error_set(err, -ENOMEM, "commit: out of memory");
	}
	return 0;
}

static int build_config(json_t *config, const struct snap_image_commit_opts *opts, const char *diff_id,
			struct snap_error *err)
{
	char now[64];
	oci_format_time(now, sizeof(now), snap_now_ns());
	json_object_set_new(config, "created", json_string(now));
	if (opts->author && *opts->author)
		json_object_set_new(config, "author", json_string(opts->author));
	json_t *cc = json_object_get(config, "config");
	if (!json_is_object(cc)) {
		cc = json_object();
		json_object_set_new(config, "config", cc);
	}
	int r = merge_container_config(cc, opts->container_config, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < opts->n_changes; i++) {
		r = apply_change(cc, opts->changes[i], err);
		if (r < 0)
			return r;
	}
	json_t *rootfs = json_object_get(config, "rootfs");
	json_t *ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids))
		return snap_error_set(err, -EINVAL, "base config has no rootfs.diff_ids");
	json_array_append_new(ids, json_string(diff_id));
	json_t *hist = json_object_get(config, "history");
	if (!json_is_array(hist)) {
		hist = json_array();
		json_object_set_new(config, "history", hist);
	}
	json_t *h = json_pack("{s:s}", "created", now);
	if (!h)
		return snap_error_set(err, -ENOMEM, "commit: out of memory");
	if (opts->created_by && *opts->created_by)
		json_object_set_new(h, "created_by", json_string(opts->created_by));
	if (opts->author && *opts->author)
		json_object_set_new(h, "author", json_string(opts->author));
	if (opts->comment && *opts->comment)
		json_object_set_new(h, "comment", json_string(opts->comment));
	json_array_append_new(hist, h);
	return 0;
}

static const char *compression_media_type(int compression)
{
	switch (compression) {
	case SNAP_COMPRESS_GZIP:
		return MT_OCI_LAYER_GZIP;
	case SNAP_COMPRESS_ZSTD:
		return MT_OCI_LAYER_ZSTD;
	default:
		return MT_OCI_LAYER;
	}
}

#define CLONE_KEY_MAX 128

static int commit_run(struct snap_core *core, const struct snap_image_commit_opts *opts,
		      struct commit_base *b, struct img_created *created, char **new_blob,
		      char clone_key[static CLONE_KEY_MAX], char id[SNAP_DIGEST_MAX], struct snap_error *err)
{
	char base_id[SNAP_DIGEST_MAX] = "";
	int r;
	if (opts->base) {
		r = img_db_resolve(core, opts->base, base_id, NULL, err);
		if (r < 0)
			return r;
	} else {
		struct snap_info info = {0};
		r = snap_stat(core, opts->snapshot_key, &info, err);
		if (r < 0)
			return r;
		if (info.parent && find_image_by_top(core, info.parent, base_id) < 0) {
			r = snap_error_set(err, -ENOENT, "commit %s: no image has its parent %s as top layer",
					   opts->snapshot_key, info.parent);
		}
		snap_info_done(&info);
		if (r < 0)
			return r;
	}
	if (*base_id) {
		r = load_base(core, base_id, b, err);
		if (r < 0)
			return r;
		json_t *copy = json_deep_copy(b->config);
		json_decref(b->config);
		b->config = copy;
	} else {
		b->config = scratch_config();
	}
	if (!b->config)
		return snap_error_set(err, -ENOMEM, "commit: out of memory");

	/* Where the driver can, the container is cloned first and the layer
	 * written from the clone, which then becomes the layer's snapshot
	 * (image-commit-clone.c); clone_key stays set until it is used. */
	const char *parent_chain = b->n ? b->layers[b->n - 1].chain_id : NULL;
	r = img_clone_container(core, opts->snapshot_key, parent_chain, clone_key, CLONE_KEY_MAX, err);
	if (r < 0)
		return r;
	const char *diff_key = *clone_key ? clone_key : opts->snapshot_key;

	/* The layer blob: the container's changes as the layer engine writes
	 * them, hashed by it while writing (finish_known). */
	_cleanup_(snap_content_writer_freep) struct snap_content_writer *w = NULL;
	r = snap_content_writer_new(core, &w, err);
	if (r < 0)
		return r;
	struct snap_diff_opts dopts = {.compression = opts->compression};
	struct snap_layer_digests dg = {0};
	r = snap_layer_diff_fd(core, diff_key, snap_content_writer_fd(w), &dopts, &dg, err);
	if (r < 0)
		return snap_error_prefix(err, "commit %s", opts->snapshot_key);
	r = snap_content_writer_finish_known(w, dg.blob_digest, dg.blob_size, err);
	bool added = false;
	if (r == 0)
		r = snap_content_writer_publish(w, &added, err);
	if (r < 0)
		return r;
	if (added && !(*new_blob = strdup(dg.blob_digest)))
		return snap_error_set(err, -ENOMEM, "commit: out of memory");

	size_t n = b->n + 1;
	_cleanup_free_ struct img_layer *layers = calloc(n, sizeof(*layers));
	_cleanup_free_ const char **mts = calloc(n, sizeof(*mts));
	_cleanup_free_ uint64_t *sizes = calloc(n, sizeof(*sizes));
	if (!layers || !mts || !sizes)
		return snap_error_set(err, -ENOMEM, "commit: out of memory");
	for (size_t i = 0; i < b->n; i++) {
		layers[i] = b->layers[i];
		mts[i] = b->mts[i];
		sizes[i] = b->sizes[i];
	}
	struct img_layer *top = &layers[n - 1];
	snprintf(top->blob_digest, SNAP_DIGEST_MAX, "%s", dg.blob_digest);
	snprintf(top->diff_id, SNAP_DIGEST_MAX, "%s", dg.diff_id);
	mts[n - 1] = compression_media_type(opts->compression);
	sizes[n - 1] = dg.blob_size;
	bool kept = false;
	if (*clone_key) {
		r = img_commit_clone(core, clone_key, parent_chain, top, &dg, created, &kept, err);
		*clone_key = '\0'; /* committed or removed */
		if (r < 0)
			return snap_error_prefix(err, "commit %s", opts->snapshot_key);
	}
	if (!kept)
		r = img_unpack_one(core, parent_chain, top, created, NULL, err);
	if (r < 0)
		return snap_error_prefix(err, "commit %s", opts->snapshot_key);
	r = build_config(b->config, opts, dg.diff_id, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tag = NULL;
	if (opts->name) {
		r = snap_image_ref_normalize(opts->name, &tag, err);
		if (r < 0)
			return r;
	}
	return img_create(core, b->config, layers, mts, sizes, n, tag, id, err);
}

int snap_image_commit(struct snap_core *core, const struct snap_image_commit_opts *opts,
		      struct snap_image *ret, struct snap_error *err)
{
	if (!opts || !opts->snapshot_key)
		return snap_error_set(err, -EINVAL, "commit: no snapshot given");
	if (opts->name) {
		_cleanup_free_ char *n = NULL;
		int r = snap_image_ref_normalize(opts->name, &n, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int lock = snap_content_lock(core, false, err);
	if (lock < 0)
		return lock;
	struct commit_base b = {0};
	struct img_created created = {0};
	_cleanup_free_ char *new_blob = NULL;
	char id[SNAP_DIGEST_MAX];
	char clone_key[CLONE_KEY_MAX] = ""; /* the container's staging clone, while commit_run has it */
	int r = commit_run(core, opts, &b, &created, &new_blob, clone_key, id, err);
	if (*clone_key)
		snap_remove(core, clone_key, NULL);
	commit_base_done(&b);
	if (r < 0) {
		img_created_rollback(core, &created);
		if (new_blob && img_db_blob_referenced(core, new_blob, NULL) == 0)
			snap_content_delete(core, new_blob, NULL);
		return r;
	}
	img_created_done(&created);
	if (ret) {
		r = snap_image_resolve(core, id, ret, err);
		if (r < 0)
			return r;
		if (opts->name && !ret->name)
			snap_image_ref_normalize(opts->name, &ret->name, NULL);
	}
	return 0;
}
