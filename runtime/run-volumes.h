/* SPDX-License-Identifier: Apache-2.0 */
/* run -v / --volume HOST:CTR[:OPTIONS]: a host file or directory bound into
 * the container (container-volumes.c mounts it). */
#ifndef SNAP_RUN_VOLUMES_H
#define SNAP_RUN_VOLUMES_H

#include "container.h"

struct run_volumes {
	struct snap_container_volume *v; /* source and target owned */
	size_t n;
};
void run_volumes_done(struct run_volumes *vols);

/* Parse one -v argument, docker's way: HOST is an absolute path that must
 * exist (no named volumes), CTR an absolute path other than "/" (cleaned of
 * "." and ".."), not given twice, OPTIONS "ro" or "rw" (the default).
 * 0, or -EINVAL/-ENOENT with *err saying what is wrong, -ENOMEM. */
int run_volume_add(struct run_volumes *vols, const char *arg, struct snap_error *err);

#endif
