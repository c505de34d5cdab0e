/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image store: OCI images whose blobs live in the content store
 * (content.h) and whose layers are committed snapshots keyed by chain ID.
 *
 *   ChainID(L0) = DiffID(L0)
 *   ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))
 *
 * An image is identified by the digest of its config ("sha256:<hex>", as
 * docker does); names are "NAME:TAG" references pointing at one image.  An
 * image reference given by a user (IMAGE) is a NAME:TAG, a NAME (":latest"
 * implied), a full ID "sha256:<hex>" or an unambiguous prefix of the hex ID.
 *
 * Every function returns 0 or a negative errno and fills *err; ret_* are
 * untouched on failure.  Nothing here prints.
 */
#ifndef SNAP_IMAGE_H
#define SNAP_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "layer/layer.h"

/* The parts of an OCI image config a runtime needs (config.config). */
struct snap_image_config {
	char **env;        /* "K=V", NULL-terminated; never NULL after a resolve */
	char **entrypoint; /* NULL-terminated, NULL when unset */
	char **cmd;        /* NULL-terminated, NULL when unset */
	char *working_dir; /* NULL when unset */
	char *user;        /* NULL when unset */
};
void snap_image_config_done(struct snap_image_config *c);

struct snap_image {
	char id[SNAP_DIGEST_MAX];              /* config digest */
	char manifest_digest[SNAP_DIGEST_MAX];
	char top_chain_id[SNAP_DIGEST_MAX];    /* "" for an image without layers */
	char *name;                            /* the NAME:TAG resolved, or NULL (by ID) */
	size_t n_layers;
	uint64_t size;                         /* uncompressed bytes of all layers */
	int64_t created_ns;                    /* config.created, 0 when absent */
	struct snap_image_config config;
};
void snap_image_done(struct snap_image *img);

/* Resolve IMAGE (see above).  -ENOENT "no such image", -EINVAL for an
 * ambiguous ID prefix. */
int snap_image_resolve(struct snap_core *core, const char *ref, struct snap_image *ret,
		       struct snap_error *err);

/* Normalise a user NAME[:TAG] the way docker does (image-ref.c):
 * "busybox" -> "docker.io/library/busybox:latest", "me/app:1" ->
 * "docker.io/me/app:1", "quay.io/x/y" -> "quay.io/x/y:latest".  -EINVAL for
 * an empty name or one outside the reference grammar (upper case, ...). */
int snap_image_ref_normalize(const char *ref, char **ret, struct snap_error *err);
/* The short name docker shows for a normalised one: "busybox:latest",
 * "me/app:1", "quay.io/x/y:latest" (a pointer into name). */
const char *snap_image_ref_familiar(const char *name);

/* ---- list, history, remove --------------------------------------------- */

struct snap_image_entry {
	char id[SNAP_DIGEST_MAX];
	char *name;        /* "NAME:TAG", NULL for an untagged image */
	size_t n_layers;
	uint64_t size;     /* uncompressed */
	int64_t created_ns;
};
struct snap_image_list {
	struct snap_image_entry *v;
	size_t n;
};
void snap_image_list_done(struct snap_image_list *l);
/* One entry per tag (and one per untagged image), newest first. */
int snap_image_list(struct snap_core *core, struct snap_image_list *ret, struct snap_error *err);

struct snap_history_entry {
	char *created_by;
	char *author;
	char *comment;
	int64_t created_ns;   /* 0 when absent */
	bool empty_layer;
	uint64_t size;        /* uncompressed layer bytes, 0 for empty layers */
	char *layer_chain_id; /* NULL for empty layers */
	char *image_id;       /* a local image whose top layer this line made
	                       * (docker shows it instead of <missing>), or NULL */
};
struct snap_history {
	char id[SNAP_DIGEST_MAX];
	struct snap_history_entry *v; /* oldest first, like config.history */
	size_t n;
};
void snap_history_done(struct snap_history *h);
int snap_image_history(struct snap_core *core, const char *ref, struct snap_history *ret,
		       struct snap_error *err);

#define SNAP_RMI_FORCE 0x1u /* remove even while containers use it / several tags */
#define SNAP_RMI_ALL_TAGS 0x2u /* by ID: every tag goes, but not while containers use it */
/* Remove IMAGE: a NAME:TAG removes that tag, and the image once no tag is
 * left; an ID removes the image (with -EBUSY while it has several tags,
 * unless forced).  -EBUSY while a container uses the image, unless forced.
 * Blobs and layer snapshots no other image references are removed (layers
 * still used by a container stay until `gc`).  ret_removed_id (may be NULL)
 * receives the image ID when the image itself was deleted, "" otherwise. */
int snap_image_remove(struct snap_core *core, const char *ref, unsigned flags,
		      char ret_removed_id[SNAP_DIGEST_MAX], struct snap_error *err);

/* Name the image SRC (any IMAGE reference) also DST (a NAME[:TAG],
 * normalised); *ret_name (may be NULL) receives DST normalised.  DST moves
 * off an image it named before, which may be left untagged (dangling). */
int snap_image_tag(struct snap_core *core, const char *src, const char *dst, char **ret_name,
		   struct snap_error *err);

/* Remove blobs no image references and layer snapshots (committed, keyed
 * by chain ID, created by import) no image references and no snapshot
 * builds on.  ret_blobs / ret_snapshots (may be NULL) count the removals. */
int snap_image_gc(struct snap_core *core, uint64_t *ret_blobs, uint64_t *ret_snapshots,
		  struct snap_error *err);

/* ---- import / export --------------------------------------------------- */

/* Progress callback: phase is "copy", "unpack" or "export"; `what` names the
 * blob or layer; done/total are bytes of that item (total 0 when unknown). */
typedef void (*snap_image_progress_fn)(void *ctx, const char *phase, const char *what,
				       uint64_t done, uint64_t total);

struct snap_import_opts {
	const char *name;              /* NAME:TAG override, may be NULL */
	snap_image_progress_fn progress; /* may be NULL */
	void *progress_ctx;
};

struct snap_import_result {
	char id[SNAP_DIGEST_MAX];
	char *name;          /* the tag given to the image, NULL when untagged */
	size_t n_layers;
	size_t n_layers_new; /* layers unpacked (the others were shared) */
};
void snap_import_result_done(struct snap_import_result *r);

/* Import an OCI image layout directory, an OCI archive (tar) or a
 * docker-save tar at `path`.  On failure the store is as it was. */
int snap_image_import(struct snap_core *core, const char *path, const struct snap_import_opts *opts,
		      struct snap_import_result *ret, struct snap_error *err);

/* A one-layer image from a directory (archived in sorted order) or a layer
 * tar (plain, gzip or zstd), like `docker import`.  opts->name is required. */
int snap_image_import_rootfs(struct snap_core *core, const char *path,
			     const struct snap_import_opts *opts, struct snap_import_result *ret,
			     struct snap_error *err);

/* Write IMAGE as an OCI image layout directory at `path` (which must not
 * exist, or be an empty directory), or as an OCI archive when `path` ends
 * in ".tar".  The index names the image with org.opencontainers.image.ref.name
 * (the tag) and io.containerd.image.name (NAME:TAG).  SNAP_EXPORT_DOCKER_ARCHIVE
 * writes what `docker save` writes (manifest.json, repositories, the config
 * as <hex>.json, each layer uncompressed as <diff-id-hex>/layer.tar), for
 * docker load, podman load and skopeo's docker-archive:. */
enum snap_export_format {
	SNAP_EXPORT_OCI = 0,            /* layout directory, or OCI archive for "*.tar" */
	SNAP_EXPORT_DOCKER_ARCHIVE = 1, /* docker save's tar, whatever the name */
};
int snap_image_export(struct snap_core *core, const char *ref, const char *path, enum snap_export_format format,
		      snap_image_progress_fn progress, void *progress_ctx, struct snap_error *err);

/* ---- commit (snapctl commit) ------------------------------------------- */

struct snap_image_commit_opts {
	const char *snapshot_key; /* the container's active snapshot */
	const char *base;         /* image it was created from (ID or NAME:TAG), NULL = scratch */
	const char *name;         /* NAME:TAG for the new image, may be NULL (untagged) */
	const char *comment;      /* -m, may be NULL */
	const char *author;       /* -a, may be NULL */
	const char *created_by;   /* the container's command line, may be NULL */
	/* The container's run configuration, JSON in the shape of an OCI
	 * config's "config" object (Env, Entrypoint, Cmd, WorkingDir, User):
	 * its members replace the base image's (null removes one), before the
	 * changes.  May be NULL. */
	const char *container_config;
	/* Dockerfile-like changes (-c): "CMD ...", "ENTRYPOINT ...", "ENV K=V",
	 * "WORKDIR DIR", "USER U", "LABEL K=V", "EXPOSE PORT[/PROTO]", "VOLUME DIR";
	 * CMD and ENTRYPOINT take JSON array form or shell form. */
	const char *const *changes;
	size_t n_changes;
	int compression;          /* enum snap_compression of the new layer blob */
};

/* Diff the active snapshot against its parent into a new layer blob, make
 * the committed snapshot of the new chain ID (the container's snapshot is
 * left as it is), write a config (base config + the container's run
 * configuration + changes + a history entry
 * {created, created_by, author, comment}) and a manifest, and tag it.
 * ret (may be NULL) receives the new image as snap_image_resolve would. */
int snap_image_commit(struct snap_core *core, const struct snap_image_commit_opts *opts,
		      struct snap_image *ret, struct snap_error *err);

/* Chain ID of `parent_chain` (NULL or "" for the first layer) + `diff_id`
 * into out.  Returns 0 or -EINVAL for a malformed digest. */
int snap_chain_id(const char *parent_chain, const char *diff_id, char out[SNAP_DIGEST_MAX]);


/* ---- verify (snapctl verify) ------------------------------------------- */

enum snap_verify_kind {
	SNAP_VERIFY_BLOB = 0,  /* a content blob: its bytes hash to its name */
	SNAP_VERIFY_LAYER = 1, /* a committed layer snapshot against its diff ID */
};

/* One finding of snap_image_verify, good or bad; the strings are borrowed
 * for the duration of the callback. */
struct snap_verify_item {
	int kind;                 /* enum snap_verify_kind */
	const char *image_id;     /* NULL for a blob no image references (--all) */
	const char *image_name;   /* the NAME:TAG verified, or NULL */
	const char *role;         /* blob: "manifest", "config", "layer", "unreferenced" */
	const char *digest;       /* blob digest; for a layer, its diff ID from the config */
	const char *chain_id;     /* layer only */
	size_t layer_index;       /* layer only: 1-based, bottom first */
	size_t n_layers;
	bool ok;
	const char *message;      /* how it was checked, or what is wrong */
	const struct snap_layer_verify *layer; /* layer only: disk diff ID and drift */
};
typedef void (*snap_verify_fn)(const struct snap_verify_item *it, void *userdata);

/* Verify images `refs` (n > 0), or every image and every blob of the content
 * store (n == 0): the manifest's and config's digests, every layer blob's
 * digest, and every layer snapshot against the config's rootfs.diff_ids
 * (snap_layer_verify).  A blob or layer shared by several images is checked
 * once and reported for each.  *ret_failed (may be NULL) counts the items not
 * ok.  Returns 0 when the checks ran (whatever they found), -errno when they
 * could not (no such image, database error). */
int snap_image_verify(struct snap_core *core, const char *const *refs, size_t n, snap_verify_fn cb,
		      void *userdata, size_t *ret_failed, struct snap_error *err);

#endif
