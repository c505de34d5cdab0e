/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run --userns=host|auto|CTR:HOST:SIZE: the container in a user namespace
 * of its own, on an idmapped rootfs (docs/runtime.md, "User namespaces").
 *
 *   host            no user namespace (the default; docker's and podman's word)
 *   0:HOST:SIZE     container ids 0..SIZE-1 are host ids HOST..HOST+SIZE-1,
 *                   uids and gids alike (containerd's containerID:hostID:size
 *                   form of the snapshot labels, one range; it must map 0)
 *   auto            65536 ids nobody else uses: the first free slot of the
 *                   "containers" user's ranges in /etc/subuid and /etc/subgid
 *                   (podman's convention), or, without such entries, of the
 *                   fixed pool [2^30, 2^31); "used" means named by the
 *                   mapping label of any existing container's snapshot
 *
 * The mapping becomes the snapshot labels containerd.io/snapshot/uidmapping
 * and gidmapping of the container's snapshot: the driver mounts it
 * idmapped (files stay on disk with the ids as inside, so commit gives the
 * same layer as without --userns), and ps --json / inspect read it back.
 * `auto` holds a lock on ROOT/userns.lock from its choice until the
 * snapshot carries the labels, so that two concurrent runs get disjoint
 * ranges.
 */
#ifndef SNAP_RUN_USERNS_H
#define SNAP_RUN_USERNS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "container.h"
#include "core.h"

#define RUN_USERNS_AUTO_SIZE 65536u

struct run_userns {
	bool set;       /* a user namespace (not host) */
	bool automatic; /* auto: the range is chosen by run_userns_choose */
	uint32_t uid, gid, size; /* host ids of container 0, ids mapped */
	char uidmap[48], gidmap[48]; /* the labels' values */
	int lock_fd;    /* auto: held until run_userns_release */
};

/* Take the --userns value.  0; EXIT_USAGE for a value of no known form;
 * EXIT_RUN_FAILED for a range that cannot be used (message printed). */
int run_userns_opt(struct cli_ctx *ctx, const char *value, struct run_userns *u);

/* Fail early, naming what is missing, when this kernel cannot give the
 * container a user namespace.  0 or -errno with err set. */
int run_userns_check_kernel(struct snap_error *err);

/* auto: lock, pick a free range, fill u.  Explicit: nothing to do. */
int run_userns_choose(struct snap_core *core, struct run_userns *u, struct snap_error *err);
/* Drop the lock (the snapshot carries the labels now, or failed). */
void run_userns_release(struct run_userns *u);

/* Append the two mapping labels to v[*n]; set the spec's user namespace. */
void run_userns_labels(const struct run_userns *u, struct snap_label *v, size_t *n);
void run_userns_spec(const struct run_userns *u, struct snap_container_spec *spec);

/* "0:H:S" (or "uid 0:H:S, gid 0:G:S" when they differ) of the container
 * whose snapshot is `key`, or "" without a user namespace. */
void run_userns_describe(struct snap_core *core, const char *key, char *buf, size_t len);

#endif
