/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl import: OCI image layouts (directory or tar) and docker-save
 * archives.  Order of work, so that a failure leaves the store as it was:
 * read and validate every document (index, manifest, config) first; then
 * publish the blobs; then unpack the layers into snapshots keyed by chain
 * ID; then record the image in one transaction.  On any failure the new
 * snapshots and the new blobs are removed again.
 */
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "image/image-source.h"

struct import_job {
	struct snap_core *core;
	struct img_source *src;
	const struct snap_import_opts *opts;
	char *default_name; /* from annotations / RepoTags */
	char *manifest_buf;
	size_t manifest_len;
	char manifest_digest[SNAP_DIGEST_MAX];
	char *config_buf;
	size_t config_len;
	struct oci_manifest m;
	struct oci_config c;
	/* docker-save: the layer files, published while the manifest is made */
	const char **docker_layers;
	size_t n_docker_layers;
};

static void import_job_done(struct import_job *j)
{
	free(j->default_name);
	free(j->manifest_buf);
	free(j->config_buf);
	oci_manifest_done(&j->m);
	oci_config_done(&j->c);
	free(j->docker_layers);
}

/* A default NAME:TAG from an index entry's annotations. */
static char *name_from_annotations(json_t *annotations, const char *path)
{
	const char *full = json_string_value(json_object_get(annotations, ANNOT_CONTAINERD_NAME));
	const char *ref = json_string_value(json_object_get(annotations, ANNOT_REF_NAME));
	char *out = NULL;
	if (full && snap_image_ref_normalize(full, &out, NULL) == 0)
		return out;
	if (!ref || !*ref)
		return NULL;
	if (strchr(ref, ':') || strchr(ref, '/')) {
		if (snap_image_ref_normalize(ref, &out, NULL) == 0)
			return out;
		return NULL;
	}
	/* A bare tag (what skopeo and umoci write for oci:PATH:TAG): name the
	 * image after the layout, as `oci:PATH:TAG` reads. */
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *base = basename(copy);
	size_t n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".tar") == 0)
		base[n - 4] = '\0';
	for (char *p = base; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	_cleanup_free_ char *joined = NULL;
	if (asprintf(&joined, "%s:%s", base, ref) < 0)
		return NULL;
	if (snap_image_ref_normalize(joined, &out, NULL) == 0)
		return out;
	return NULL;
}

static void describe_platform(json_t *p, char *buf, size_t len)
{
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));
	snprintf(buf, len, "%s/%s", os ? os : "?", arch ? arch : "?");
}

/* Pick the manifest for linux/<host arch> from an index (recursing once
 * into nested indexes).  ret gets the descriptor; *ret_annotations the
 * annotations of the entry in the top index. */
static int pick_manifest(struct import_job *j, json_t *index, const char *what, int depth,
			 struct oci_desc *ret, json_t **ret_holder, json_t **ret_annotations,
			 struct snap_error *err)
{
	json_t *manifests = json_object_get(index, "manifests");
	if (!json_is_array(manifests))
		return snap_error_set(err, -EINVAL, "%s: no manifests array", what);
	if (json_array_size(manifests) == 0)
		return snap_error_set(err, -EINVAL, "%s: the index lists no manifests", what);
	char seen[512] = "";
	const char *unsupported = NULL;
	size_t i;
	json_t *entry;
	json_array_foreach(manifests, i, entry) {
		struct oci_desc d;
		char ewhat[300];
		snprintf(ewhat, sizeof(ewhat), "%s: manifests[%zu]", what, i);
		int r = oci_desc_parse(entry, ewhat, &d, err);
		if (r < 0)
			return r;
		json_t *platform = json_object_get(entry, "platform");
		bool is_index = oci_index_media_type(d.media_type);
		if (!is_index && !oci_manifest_media_type(d.media_type)) {
			unsupported = d.media_type;
			continue;
		}
		if (!oci_platform_matches(platform)) {
			char p[64];
			describe_platform(platform, p, sizeof(p));
			if (!strstr(seen, p) && strlen(seen) + strlen(p) + 3 < sizeof(seen)) {
				if (*seen)
					strcat(seen, ", ");
				strcat(seen, p);
			}
			continue;
		}
		/* With --name NAME:TAG and several images in one layout, take the
		 * one tagged TAG. */
		const char *refname = json_string_value(json_object_get(json_object_get(entry, "annotations"),
									ANNOT_REF_NAME));
		if (depth == 0 && j->opts && j->opts->name && refname) {
			const char *tag = strrchr(j->opts->name, ':');
			bool more = false;
			for (size_t k = i + 1; k < json_array_size(manifests); k++)
				more |= json_object_get(json_array_get(manifests, k), "annotations") != NULL;
			if (more && tag && strcmp(tag + 1, refname) != 0 && strcmp(j->opts->name, refname) != 0)
				continue;
		}
		if (ret_annotations && depth == 0)
			*ret_annotations = json_object_get(entry, "annotations");
		if (!is_index) {
			*ret = d;
			*ret_holder = json_incref(index);
			return 0;
		}
		if (depth >= 2)
			return snap_error_set(err, -EINVAL, "%s: indexes nested too deep", what);
		_cleanup_free_ char *buf = NULL;
		size_t len;
		r = img_source_read_blob(j->src, &d, &buf, &len, err);
		if (r < 0)
			return r;
		_cleanup_(json_decrefp) json_t *sub = NULL;
		char swhat[300];
		snprintf(swhat, sizeof(swhat), "%s: index %s", img_source_path(j->src), d.digest);
		r = oci_json_load(buf, len, swhat, &sub, err);
		if (r < 0)
			return r;
		return pick_manifest(j, sub, swhat, depth + 1, ret, ret_holder, NULL, err);
	}
	if (*seen)
		return snap_error_set(err, -EINVAL, "%s: no manifest for linux/%s (the index has %s)", what,
				      oci_host_arch(), seen);
	if (unsupported)
		return snap_error_set(err, -EINVAL, "%s: no usable manifest (unsupported media type '%s')", what,
				      unsupported);
	return snap_error_set(err, -EINVAL, "%s: no manifest matches the requested name", what);
}

static int load_oci(struct import_job *j, struct snap_error *err)
{
	const char *path = img_source_path(j->src);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = img_source_read(j->src, "oci-layout", &buf, &len, err);
	if (r < 0)
		return r;
	_cleanup_(json_decrefp) json_t *layout = NULL;
	char what[512];
	snprintf(what, sizeof(what), "%s: oci-layout", path);
	r = oci_json_load(buf, len, what, &layout, err);
	if (r < 0)
		return r;
	const char *version = json_string_value(json_object_get(layout, "imageLayoutVersion"));
	if (!version || strncmp(version, "1.", 2) != 0)
		return snap_error_set(err, -EINVAL, "%s: unsupported imageLayoutVersion", what);
	free(TAKE_PTR(buf));
	r = img_source_read(j->src, "index.json", &buf, &len, err);
	if (r < 0)
		return r;
	snprintf(what, sizeof(what), "%s: index.json", path);
	_cleanup_(json_decrefp) json_t *index = NULL;
	r = oci_json_load(buf, len, what, &index, err);
	if (r < 0)
		return r;
	json_t *sv = json_object_get(index, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return snap_error_set(err, -EINVAL, "%s: unsupported schemaVersion (2 expected)", what);
	const char *mt = json_string_value(json_object_get(index, "mediaType"));
	if (mt && !oci_index_media_type(mt))
		return snap_error_set(err, -EINVAL, "%s: unsupported index media type '%s'", what, mt);

	struct oci_desc md;
	_cleanup_(json_decrefp) json_t *holder = NULL;
	json_t *annotations = NULL;
	r = pick_manifest(j, index, what, 0, &md, &holder, &annotations, err);
	if (r < 0)
		return r;
	j->default_name = name_from_annotations(annotations, path);
	r = img_source_read_blob(j->src, &md, &j->manifest_buf, &j->manifest_len, err);
	if (r < 0)
		return r;
	snprintf(j->manifest_digest, sizeof(j->manifest_digest), "%s", md.digest);
	snprintf(what, sizeof(what), "%s: manifest %s", path, md.digest);
	r = oci_manifest_parse(j->manifest_buf, j->manifest_len, what, &j->m, err);
	if (r < 0)
		return r;
	return img_source_read_blob(j->src, &j->m.config, &j->config_buf, &j->config_len, err);
}

/* docker save: manifest.json lists config and layer files; make the OCI
 * manifest for them (layers are published here, their digests are only
 * known once hashed). */
static int load_docker(struct import_job *j, struct snap_error *err)
{
	const char *path = img_source_path(j->src);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = img_source_read(j->src, "manifest.json", &buf, &len, err);
	if (r < 0)
		return r;
	char what[512];
	snprintf(what, sizeof(what), "%s: manifest.json", path);
	json_error_t jerr;
	_cleanup_(json_decrefp) json_t *list = json_loadb(buf, len, 0, &jerr);
	if (!list)
		return snap_error_set(err, -EINVAL, "%s: not valid JSON (line %d: %s)", what, jerr.line, jerr.text);
	if (!json_is_array(list) || json_array_size(list) == 0)
		return snap_error_set(err, -EINVAL, "%s: not a list of images", what);
	json_t *entry = json_array_get(list, 0);
	if (j->opts && j->opts->name) {
		size_t i, k;
		json_t *e, *tag;
		json_array_foreach(list, i, e) {
			json_array_foreach(json_object_get(e, "RepoTags"), k, tag) {
				const char *t = json_string_value(tag);
				if (t && strcmp(t, j->opts->name) == 0)
					entry = e;
			}
		}
	}
	const char *config = json_string_value(json_object_get(entry, "Config"));
	json_t *layers = json_object_get(entry, "Layers");
	if (!config || !json_is_array(layers))
		return snap_error_set(err, -EINVAL, "%s: entry without Config or Layers", what);
	const char *tag0 = json_string_value(json_array_get(json_object_get(entry, "RepoTags"), 0));
	if (tag0 && snap_image_ref_normalize(tag0, &j->default_name, NULL) < 0)
		j->default_name = NULL;

	r = img_source_read(j->src, config, &j->config_buf, &j->config_len, err);
	if (r < 0)
		return r;
	char config_digest[SNAP_DIGEST_MAX];
	r = snap_sha256_buf(j->config_buf, j->config_len, config_digest);
	if (r < 0)
		return snap_error_set(err, r, "hash %s: %s", config, strerror(-r));

	_cleanup_(json_decrefp) json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2,
						      "mediaType", MT_OCI_MANIFEST, "config", "mediaType",
						      MT_OCI_CONFIG, "digest", config_digest, "size",
						      (json_int_t)j->config_len, "layers");
	if (!m)
		return snap_error_set(err, -ENOMEM, "%s: out of memory", what);
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) {
		const char *name = json_string_value(l);
		if (!name)
			return snap_error_set(err, -EINVAL, "%s: Layers[%zu] is not a file name", what, i);
		char digest[SNAP_DIGEST_MAX];
		uint64_t size;
		r = img_source_publish(j->src, name, NULL, -1, digest, &size, err);
		if (r < 0)
			return r;
		_cleanup_close_ int fd = snap_content_open(j->core, digest, NULL, err);
		if (fd < 0)
			return fd;
		const char *mt = oci_layer_media_type_sniff(fd);
		if (json_array_append_new(json_object_get(m, "layers"),
					  json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", digest,
						    "size", (json_int_t)size)) < 0)
			return snap_error_set(err, -ENOMEM, "%s: out of memory", what);
	}
	j->manifest_buf = json_dumps(m, JSON_COMPACT);
	if (!j->manifest_buf)
		return snap_error_set(err, -ENOMEM, "%s: out of memory", what);
	j->manifest_len = strlen(j->manifest_buf);
	r = snap_sha256_buf(j->manifest_buf, j->manifest_len, j->manifest_digest);
	if (r < 0)
		return snap_error_set(err, r, "hash manifest: %s", strerror(-r));
	snprintf(what, sizeof(what), "%s: manifest", path);
	return oci_manifest_parse(j->manifest_buf, j->manifest_len, what, &j->m, err);
}

static int import_run(struct import_job *j, struct snap_import_result *ret, struct img_created *created,
		      struct snap_error *err)
{
	const char *path = img_source_path(j->src);
	int r;
	if (img_source_has(j->src, "index.json") && img_source_has(j->src, "oci-layout"))
		r = load_oci(j, err);
	else if (img_source_has(j->src, "manifest.json"))
		r = load_docker(j, err);
	else
		return snap_error_set(err, -EINVAL,
				      "%s: not an image (no oci-layout + index.json, no docker manifest.json)",
				      path);
	if (r < 0)
		return r;

	char what[512];
	snprintf(what, sizeof(what), "%s: config %s", path, j->m.config.digest);
	r = oci_config_parse(j->config_buf, j->config_len, what, &j->c, err);
	if (r < 0)
		return r;
	r = oci_config_check_platform(&j->c, what, err);
	if (r < 0)
		return r;
	if (j->c.n_diff_ids != j->m.n_layers)
		return snap_error_set(err, -EINVAL, "%s: %zu diff_ids for %zu layers in the manifest", what,
				      j->c.n_diff_ids, j->m.n_layers);

	_cleanup_free_ char *name = NULL;
	if (j->opts && j->opts->name) {
		r = snap_image_ref_normalize(j->opts->name, &name, err);
		if (r < 0)
			return r;
	} else if (j->default_name) {
		name = strdup(j->default_name);
		if (!name)
			return snap_error_set(err, -ENOMEM, "import: out of memory");
	}

	size_t n = j->m.n_layers;
	_cleanup_free_ struct img_layer *layers = calloc(n ? n : 1, sizeof(*layers));
	_cleanup_free_ struct img_blob *blobs = calloc(n + 2, sizeof(*blobs));
	if (!layers || !blobs)
		return snap_error_set(err, -ENOMEM, "import: out of memory");

	/* Documents first (they are small), then the layers. */
	r = img_source_put(j->src, j->config_buf, j->config_len, j->m.config.digest, err);
	if (r < 0)
		return r;
	r = img_source_put(j->src, j->manifest_buf, j->manifest_len, j->manifest_digest, err);
	if (r < 0)
		return r;
	snprintf(blobs[0].digest, SNAP_DIGEST_MAX, "%s", j->manifest_digest);
	blobs[0].size = j->manifest_len;
	snprintf(blobs[1].digest, SNAP_DIGEST_MAX, "%s", j->m.config.digest);
	blobs[1].size = j->config_len;
	for (size_t i = 0; i < n; i++) {
		const struct oci_desc *d = &j->m.layers[i];
		char name_in[128];
		snprintf(name_in, sizeof(name_in), "blobs/sha256/%s", snap_digest_hex(d->digest));
		uint64_t size;
		if (img_source_has(j->src, name_in)) {
			r = img_source_publish(j->src, name_in, d->digest, d->size, blobs[i + 2].digest, &size, err);
			if (r < 0)
				return r;
		} else if (snap_content_exists(j->core, d->digest)) {
			/* docker-save layers were published while making the manifest */
			snprintf(blobs[i + 2].digest, SNAP_DIGEST_MAX, "%s", d->digest);
		} else {
			return snap_error_set(err, -ENOENT, "%s: layer blob %s is missing", path, d->digest);
		}
		blobs[i + 2].size = (uint64_t)d->size;
		snprintf(layers[i].blob_digest, SNAP_DIGEST_MAX, "%s", d->digest);
		snprintf(layers[i].diff_id, SNAP_DIGEST_MAX, "%s", j->c.diff_ids[i]);
	}

	r = img_db_exists(j->core, j->m.config.digest, err);
	if (r < 0)
		return r;
	if (r > 0) {
		/* The same image (same config, hence the same layers) is here
		 * already: only the name is new.  The layers were still checked
		 * against their descriptors above; blobs published on the way
		 * (another compression of the same layers) are not needed. */
		struct img_record rec = {0};
		snprintf(rec.id, sizeof(rec.id), "%s", j->m.config.digest);
		r = img_db_insert(j->core, &rec, name, err);
		if (r < 0)
			return r;
		img_source_unpublish(j->src);
		if (ret) {
			*ret = (struct snap_import_result){.n_layers = j->m.n_layers};
			snprintf(ret->id, sizeof(ret->id), "%s", rec.id);
			ret->name = TAKE_PTR(name);
		}
		return 0;
	}

	size_t n_new = 0;
	r = img_unpack_layers(j->core, layers, n, j->opts ? j->opts->progress : NULL,
			      j->opts ? j->opts->progress_ctx : NULL, created, &n_new, err);
	if (r < 0)
		return snap_error_prefix(err, "import %s", path);

	struct img_record rec = {
		.manifest_media_type = MT_OCI_MANIFEST,
		.created_ns = j->c.created_ns,
		.layers = layers,
		.n_layers = n,
		.blobs = blobs,
		.n_blobs = n + 2,
	};
	const char *mt = json_string_value(json_object_get(j->m.root, "mediaType"));
	if (mt)
		rec.manifest_media_type = mt;
	snprintf(rec.id, sizeof(rec.id), "%s", j->m.config.digest);
	snprintf(rec.manifest_digest, sizeof(rec.manifest_digest), "%s", j->manifest_digest);
	r = img_db_insert(j->core, &rec, name, err);
	if (r < 0)
		return r;
	if (ret) {
		*ret = (struct snap_import_result){.n_layers = n, .n_layers_new = n_new};
		snprintf(ret->id, sizeof(ret->id), "%s", rec.id);
		ret->name = TAKE_PTR(name);
	}
	return 0;
}

void snap_import_result_done(struct snap_import_result *r)
{
	free(r->name);
	r->name = NULL;
}

int snap_image_import(struct snap_core *core, const char *path, const struct snap_import_opts *opts,
		      struct snap_import_result *ret, struct snap_error *err)
{
	if (opts && opts->name) {
		_cleanup_free_ char *n = NULL;
		int r = snap_image_ref_normalize(opts->name, &n, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int lock = snap_content_lock(core, false, err);
	if (lock < 0)
		return lock;
	struct import_job j = {.core = core, .opts = opts};
	int r = img_source_open(core, path, opts ? opts->progress : NULL, opts ? opts->progress_ctx : NULL,
				&j.src, err);
	if (r < 0)
		return r;
	struct img_created created = {0};
	r = import_run(&j, ret, &created, err);
	if (r < 0) {
		img_created_rollback(core, &created);
		img_source_unpublish(j.src);
	}
	img_created_done(&created);
	img_source_free(j.src);
	import_job_done(&j);
	return r;
}
