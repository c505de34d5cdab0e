/* SPDX-License-Identifier: Apache-2.0 */
/* Generated OCI images for the import workloads (import-dirty,
 * import-large): the layout snapctl imports, the archive the peers load, and
 * one timed import on either. */
#ifndef SNAP_BENCH_WL_IMAGE_H
#define SNAP_BENCH_WL_IMAGE_H

#include "bench.h"

/* One gzip layer: `small_files` files of 0-16 KiB in directories of 100,
 * then `large_files` files of `large_size` bytes (bench_gen_layer). */
struct wl_layer_shape {
	int small_files;
	int large_files;
	int64_t large_size;
};

#define WL_IMAGE_MAX_LAYERS 8

/* A generated image of an import workload: WORK/NAME-oci as an OCI layout,
 * WORK/NAME.tar as the peers' archive, imported as REF. */
struct wl_image {
	const char *name;
	const char *ref;
	const struct wl_layer_shape *shape;
	size_t n_layers;
};

/* The image's layout in `layout` (made once per bench run: nothing is done
 * when its index.json exists): its layers generated, seeded by b->seed,
 * tagged "latest". */
int wl_image_layout(struct bench_ctx *b, const struct wl_image *img, char *layout, size_t len,
		    struct snap_error *err);

/* The image as an OCI archive in `archive` for the peers (made once:
 * imported into a scratch vfs root and exported), the layout made first
 * where it is not there yet.  `what` names the workload in an error. */
int wl_image_archive(struct bench_ctx *b, const char *what, const struct wl_image *img, char *archive, size_t len,
		     struct snap_error *err);

/* A workload's image and its own snapctl root, ENV_ROOT-WORKLOAD. */
struct wl_image_root {
	char layout[4200];
	char root[4200];
};

/* The layout (wl_image_layout) and an empty root on env's driver. */
int wl_image_root_make(struct bench_ctx *b, struct bench_env *env, const struct wl_image *img, const char *workload,
		       struct wl_image_root *r, struct snap_error *err);

/* The root unmounted and removed (teardown; r may be NULL or unmade). */
void wl_image_root_remove(struct wl_image_root *r);

/* `snapctl import --name IMAGE r->layout` into r->root on env's driver, timed
 * (*ret_ms); then, untimed, the image removed, the store collected and
 * both filesystems synced, so that no timed import pays for the one before
 * it. */
int wl_image_import(struct bench_ctx *b, struct bench_env *env, const struct wl_image_root *r, const char *image,
		    double *ret_ms, struct snap_error *err);

/* The peer's timed import of `archive` (`ctr images import` into its
 * snapshotter, `podman load`) recorded as `metric`, then, untimed, the
 * image removed (containerd: with a synchronous garbage collection) and
 * the store's filesystem synced. */
int wl_image_peer_import(struct bench_ctx *b, struct bench_env *env, const char *archive, const char *image,
			 const char *metric, struct snap_error *err);

#endif
