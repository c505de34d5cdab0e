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

/* An OCI layout in directory `layout` (made once per bench run: nothing is
 * done when its index.json exists) of `n` generated layers, seeded by
 * b->seed, tagged "latest". */
int wl_image_layout(struct bench_ctx *b, const char *layout, const struct wl_layer_shape *shape, size_t n,
		    struct snap_error *err);

/* The same image as an OCI archive `archive` for the peers (made once:
 * imported into a scratch vfs root as `image` and exported), the layout
 * made first where it is not there yet.  `what` names the workload in an
 * error. */
int wl_image_archive(struct bench_ctx *b, const char *what, const char *layout, const struct wl_layer_shape *shape,
		     size_t n, const char *image, const char *archive, struct snap_error *err);

/* `snapctl import --name IMAGE LAYOUT` into ROOT on env's driver, timed
 * (*ret_ms); then, untimed, the image removed, the store collected and
 * both filesystems synced, so that no timed import pays for the one before
 * it. */
int wl_image_import(struct bench_ctx *b, struct bench_env *env, const char *root, const char *layout,
		    const char *image, double *ret_ms, struct snap_error *err);

/* The peer's timed import of `archive` (`ctr images import` into its
 * snapshotter, `podman load`) recorded as `metric`, then, untimed, the
 * image removed (containerd: with a synchronous garbage collection) and
 * the store's filesystem synced. */
int wl_image_peer_import(struct bench_ctx *b, struct bench_env *env, const char *archive, const char *image,
			 const char *metric, struct snap_error *err);

#endif
