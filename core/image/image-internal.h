/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the image store's files (not an API). */
#ifndef SNAP_IMAGE_INTERNAL_H
#define SNAP_IMAGE_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>

#include "snapshot/temp-keys.h"
#include "core-internal.h"
#include "image/content.h"
#include "image/image.h"
#include "store.h"
#include "util/macro.h"

/* Configs, manifests and indexes are read whole; anything larger is not
 * an image document. */
#define IMG_DOC_MAX ((size_t)8 << 20)

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define ANNOT_REF_NAME "org.opencontainers.image.ref.name"
#define ANNOT_CONTAINERD_NAME "io.containerd.image.name"

/* Labels of the committed layer snapshots the image store creates. */
#define LABEL_LAYER "snapctl.image.layer"          /* "1": collectable by gc */
/* Active staging snapshots of an unpack: "snapctl-unpack-PID-RANDOM". */
#define UNPACK_KEY_PREFIX SNAP_TEMP_UNPACK_PREFIX
#define LABEL_DIFF_ID "snapctl.image.diff-id"
#define LABEL_DIFF_SIZE "snapctl.image.diff-size"

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

static inline void snap_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, snap_strv_free)

/* ---- OCI documents (image-oci.c) ---------------------------------------- */

struct oci_desc {
	const char *media_type; /* borrowed from the JSON */
	char digest[SNAP_DIGEST_MAX];
	int64_t size;
	json_t *json; /* borrowed */
};

enum oci_layer_kind { LAYER_KIND_UNKNOWN = -1 };

/* Parse a descriptor object; `what` names it in messages. */
int oci_desc_parse(json_t *j, const char *what, struct oci_desc *ret, struct snap_error *err);
/* Is mt a layer media type we can apply? */
bool oci_layer_media_type_ok(const char *mt);
bool oci_manifest_media_type(const char *mt);
bool oci_index_media_type(const char *mt);
/* Parse JSON text; "<what>: not valid JSON (line L: ...)". */
int oci_json_load(const char *buf, size_t len, const char *what, json_t **ret, struct snap_error *err);

struct oci_manifest {
	json_t *root;
	struct oci_desc config;
	struct oci_desc *layers;
	size_t n_layers;
};
void oci_manifest_done(struct oci_manifest *m);
int oci_manifest_parse(const char *buf, size_t len, const char *what, struct oci_manifest *ret,
		       struct snap_error *err);

struct oci_config {
	json_t *root;
	const char **diff_ids; /* borrowed */
	size_t n_diff_ids;
	const char *os, *arch, *variant;
	int64_t created_ns;
};
void oci_config_done(struct oci_config *c);
int oci_config_parse(const char *buf, size_t len, const char *what, struct oci_config *ret,
		     struct snap_error *err);
/* Check os/architecture against the host: -EINVAL "image is for X, this host runs Y". */
int oci_config_check_platform(const struct oci_config *c, const char *what, struct snap_error *err);

/* "amd64", "arm64", ... (GOARCH names) for this build's host. */
const char *oci_host_arch(void);
/* Does platform JSON object p (may be NULL: matches) fit linux/host-arch? */
bool oci_platform_matches(json_t *p);
/* RFC 3339 to ns since the epoch; -EINVAL when malformed. */
int oci_parse_time(const char *s, int64_t *ret);
/* ns since the epoch to RFC 3339 UTC with nanoseconds (buf >= 40). */
void oci_format_time(char *buf, size_t len, int64_t ns);
/* Fill a runtime config from config.config. */
int oci_config_runtime(json_t *config_root, struct snap_image_config *ret, struct snap_error *err);
/* Media type of a layer blob from its first bytes (gzip / zstd / tar). */
const char *oci_layer_media_type_sniff(int fd);

/* ---- metadata (image-db.c) --------------------------------------------- */

struct img_layer {
	char diff_id[SNAP_DIGEST_MAX];
	char chain_id[SNAP_DIGEST_MAX];
	char blob_digest[SNAP_DIGEST_MAX];
	uint64_t diff_size;
};

struct img_blob {
	char digest[SNAP_DIGEST_MAX];
	uint64_t size;
};

struct img_record {
	char id[SNAP_DIGEST_MAX]; /* config digest */
	char manifest_digest[SNAP_DIGEST_MAX];
	const char *manifest_media_type;
	int64_t created_ns;
	struct img_layer *layers;
	size_t n_layers;
	struct img_blob *blobs; /* manifest, config, layer blobs */
	size_t n_blobs;
};

/* Record an image and point `tag` (may be NULL) at it, in one transaction.
 * An image already present only gets the tag. */
int img_db_insert(struct snap_core *core, const struct img_record *rec, const char *tag,
		  struct snap_error *err);
int img_db_exists(struct snap_core *core, const char *id, struct snap_error *err);
/* Resolve a user reference to an image ID; *ret_name gets the NAME:TAG
 * when resolved by name (NULL by ID). */
int img_db_resolve(struct snap_core *core, const char *ref, char id[SNAP_DIGEST_MAX], char **ret_name,
		   struct snap_error *err);
/* Image row fields. */
int img_db_get(struct snap_core *core, const char *id, char manifest_digest[SNAP_DIGEST_MAX],
	       char top_chain[SNAP_DIGEST_MAX], size_t *n_layers, uint64_t *size, int64_t *created_ns,
	       struct snap_error *err);
/* Layers of an image, bottom first. */
int img_db_layers(struct snap_core *core, const char *id, struct img_layer **ret, size_t *ret_n,
		  struct snap_error *err);
/* Tags of an image (NULL-terminated). */
int img_db_tags(struct snap_core *core, const char *id, char ***ret, size_t *ret_n,
		struct snap_error *err);
/* Is chain_id a layer of any image? */
int img_db_chain_referenced(struct snap_core *core, const char *chain_id, struct snap_error *err);
/* Is the blob referenced by any image? 1 yes, 0 no, <0 error. */
int img_db_blob_referenced(struct snap_core *core, const char *digest, struct snap_error *err);

/* Transactions, statements and the errno of an sqlite result are the
 * store's (store.h): snap_txn_begin on snap_core_store(core), ... */

/* ---- layers (image-unpack.c) ------------------------------------------- */

/* Make sure a committed snapshot exists for every layer: reuse the one of
 * the same chain ID, else apply the blob onto the previous chain.  Fills
 * chain_id and diff_size of each layer (diff_id is the expected value and
 * is checked).  Snapshots created are listed in *created (for rollback). */
struct img_created {
	char **keys;
	size_t n;
};
void img_created_rollback(struct snap_core *core, struct img_created *c);
void img_created_done(struct img_created *c);
int img_unpack_layers(struct snap_core *core, struct img_layer *layers, size_t n,
		      snap_image_progress_fn progress, void *progress_ctx, struct img_created *created,
		      size_t *ret_new, struct snap_error *err);
/* Apply one blob as the layer on top of parent_chain (may be ""), under
 * key chain_id, unless that exists.  diff_id may be "" (unknown; filled).
 * created may be NULL. */
int img_unpack_one(struct snap_core *core, const char *parent_chain, struct img_layer *layer,
		   struct img_created *created, bool *ret_new, struct snap_error *err);

/* The unpacker's staging key: "snapctl-unpack-PID-" and 128 random bits. */
int img_staging_key(char *buf, size_t size, struct snap_error *err);
/* Commit staging snapshot `key`, which holds `layer` on parent_chain (its
 * diff ID checked, diff_size set), under the layer's chain ID with the
 * unpacker's proof; pending: its tree was not synced (recorded with the
 * blob, core/pending-trees.h).  When another process committed that chain
 * meanwhile, `key` is removed and that one shared (*ret_new false).  On
 * failure `key` is removed. */
int img_commit_staged(struct snap_core *core, const char *key, const char *parent_chain,
		      const struct img_layer *layer, bool pending, struct img_created *created, bool *ret_new,
		      struct snap_error *err);
/* A layer snapshot for chain_id that the unpacker made: 1 and its diff
 * size when it exists with the proof, 0 when absent, <0 when it cannot be
 * used (-EEXIST: a snapshot of that name without the proof), with err set. */
int img_existing_layer(struct snap_core *core, const char *chain_id, const char *parent_chain,
		       const char *diff_id, uint64_t *ret_diff_size, struct snap_error *err);

/* image-commit-clone.c: a commit's layer as a clone of the container.
 * img_clone_container clones active snapshot `container` under a staging
 * key (ret_key) when the driver can and the container sits on
 * parent_chain; ret_key is "" when it did not (nothing to undo).
 * img_commit_clone then commits the clone as `layer` (diff_id and
 * blob_digest set, the blob published; dg is the diff written from the
 * clone) when applying that layer to the parent would give the clone back:
 * *ret_kept true.  Otherwise, or on failure, the clone is removed and the
 * caller applies the blob as for any layer. */
int img_clone_container(struct snap_core *core, const char *container, const char *parent_chain,
			char *ret_key, size_t key_size, struct snap_error *err);
int img_commit_clone(struct snap_core *core, const char *key, const char *parent_chain,
		     struct img_layer *layer, const struct snap_layer_digests *dg, struct img_created *created,
		     bool *ret_kept, struct snap_error *err);

/* image-gc.c: remove the now unreferenced blobs and layer snapshots among the given
 * ones (the caller holds the content lock exclusively). */
int img_collect(struct snap_core *core, const struct img_blob *blobs, size_t n_blobs,
		const struct img_layer *layers, size_t n_layers, uint64_t *ret_blobs,
		uint64_t *ret_snaps, struct snap_error *err);

/* New image from a config and layers already in the content store and
 * unpacked: write config, manifest (OCI), record it and tag it. */
int img_create(struct snap_core *core, json_t *config, const struct img_layer *layers,
	       const char *const *layer_media_types, const uint64_t *blob_sizes, size_t n,
	       const char *tag, char ret_id[SNAP_DIGEST_MAX], struct snap_error *err);


/* ---- export (image-export.c, image-export-docker.c) -------------------- */

struct archive;
struct export_job {
	struct snap_core *core;
	const char *path;
	snap_image_progress_fn progress;
	void *progress_ctx;
	struct img_blob *blobs; /* manifest, config, layers (the manifest's order) */
	size_t n_blobs;
	char *index;
	const char *name;                    /* NAME:TAG normalised, or NULL */
	const struct oci_manifest *manifest;
	const struct oci_config *config;
};
/* One member: a directory (size < 0), `mem` (a string), or blob `b`. */
int export_tar_add(struct export_job *x, struct archive *a, const char *name, int64_t size,
		   const char *mem, const struct img_blob *b, struct snap_error *err);
/* The docker-archive (docker save) tar of x's image into fd. */
int export_docker_to(struct export_job *x, int fd, struct snap_error *err);

#endif
