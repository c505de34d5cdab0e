/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's init layer, docker's "<id>-init": a committed snapshot
 * between the image's top layer and the container's own, holding the mount
 * points the runtime needs where the image lacks them (/proc, /sys, /dev,
 * the targets of -v).  The container's snapshot is prepared on it, so
 * `diff` and `commit` (which diff the container's snapshot against its
 * parent, and apply the layer onto the image's top) never see them.
 *
 *   image top (chain ID) <- container-<id>-init (committed) <- container-<id>
 *
 * Unlike docker, only where it is needed: an image that has every mount
 * point (most do) gets its container's snapshot right on its top layer.
 * The init layer costs two more metadata transactions, a mount and its
 * unmount (with overlay's sync) per run, about a fifth of `run --rm`'s time
 * here; finding out costs nothing, the container's own mount is looked at.
 *
 * It is made under the staging key container-<id>-init-stage and committed
 * with the label snapctl.container.init=<id>; container_remove() removes
 * it (and a stage a crash left) after the container's snapshot, and `gc`
 * removes those of containers whose row is gone.
 */
#ifndef SNAP_RUN_INIT_LAYER_H
#define SNAP_RUN_INIT_LAYER_H

#include <stdbool.h>

#include "container-store.h"
#include "container.h"
#include "core.h"

#define RUN_INIT_LABEL SNAP_CONTAINER_INIT_LABEL
#define RUN_ROOTFS_LABELS_MAX 4

/* Prepare the container's snapshot `key` on `parent` (the image's top
 * chain ID, NULL for an image without layers) and mount it on `rootfs`;
 * when the image lacks a mount point of `spec`, through an init layer made
 * for it.  `volatile_`: a --rm container (label snapctl.volatile); `extra`:
 * more labels of the container's snapshot (at most RUN_ROOTFS_LABELS_MAX:
 * snapctl.size, the id mappings), or NULL.  0 with
 * rootfs mounted, or -errno with nothing mounted (the snapshots made are
 * left to container_remove). */
int run_rootfs_setup(struct snap_core *core, const char *id, const char *key, const char *parent,
		     const struct snap_container_spec *spec, const char *rootfs, bool volatile_,
		     const struct snap_labels *extra, struct snap_error *err);

/* The keys of container `id`'s init layer and its stage. */
void run_init_layer_key(const char *id, char *buf, size_t len);
void run_init_layer_stage_key(const char *id, char *buf, size_t len);

/* Make the init layer of container `id` on `parent` (the image's top
 * chain ID, NULL for an image without layers), with the mount points of
 * `spec`; `mnt` is an empty directory to mount the stage on meanwhile
 * (the caller is in a private mount namespace).  `volatile_` marks it
 * snapctl.volatile like a --rm container's own.  On failure nothing of it
 * is left. */
int run_init_layer_make(struct snap_core *core, const char *id, const char *parent,
			const struct snap_container_spec *spec, const char *mnt, bool volatile_,
			struct snap_error *err);

/* Remove the init layer of container `id` and its stage; absent is fine. */
int run_init_layer_remove(struct snap_core *core, const char *id, struct snap_error *err);

#endif
