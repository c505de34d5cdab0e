/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's own cgroup: "snapctl/<id>" at the top of every hierarchy
 * the host mounts under /sys/fs/cgroup, as docker's cgroupfs driver makes
 * "docker/<id>".  On cgroup v1 one directory per controller snapctl uses
 * (pids, memory, cpu, freezer, devices, where mounted), on cgroup v2 one
 * directory in the unified tree with pids, memory and cpu enabled.  Limits:
 * pids (default SNAP_CONTAINER_PIDS_DEFAULT), memory, cpu quota; the
 * freezer pauses the container while `commit` reads its layer.
 *
 * The shared part is container-cgroup.c; cgroup-v1.c and cgroup-v2.c each
 * know one version's files.  Functions return 0 or -errno and fill *err.
 */
#ifndef SNAP_CONTAINER_CGROUP_H
#define SNAP_CONTAINER_CGROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "container.h"

#define SNAP_CGROUP_ROOT "/sys/fs/cgroup"
#define SNAP_CGROUP_PARENT "snapctl"

enum snap_cgroup_version {
	SNAP_CGROUP_NONE = 0, /* no cgroup file system at /sys/fs/cgroup */
	SNAP_CGROUP_V1 = 1,
	SNAP_CGROUP_V2 = 2,
};

#define SNAP_CGROUP_MAX_CONTROLLERS 5

/* What this host offers, probed once per process. */
struct snap_cgroup_host {
	int version;                 /* enum snap_cgroup_version */
	size_t n;                    /* controllers snapctl uses here */
	const char *controllers[SNAP_CGROUP_MAX_CONTROLLERS];
	bool freezer;                /* commit can pause a container */
	bool devices;                /* v1 devices controller: an allowlist too */
};
const struct snap_cgroup_host *snap_cgroup_host(void);

/* Where container `name`'s cgroup lives, for ps and info:
 * "/sys/fs/cgroup/{pids,memory,...}/snapctl/NAME" (v1) or
 * "/sys/fs/cgroup/snapctl/NAME" (v2); "" without cgroups. */
void snap_cgroup_describe(const char *name, char *buf, size_t len);

/* Pause (freeze) or resume the processes of container `name`; a freeze
 * waits until every task is frozen.  -EOPNOTSUPP without a freezer. */
int snap_cgroup_freeze(const char *name, bool frozen, struct snap_error *err);

/* Remove container `name`'s cgroup (a leftover of a snapctl that was
 * killed); gone already is fine. */
int snap_cgroup_remove(const char *name, struct snap_error *err);

struct container_cgroup;

/* Create the cgroup with its limits and open what init needs to join it.
 * Without cgroups on this host, *ret is NULL and limits are refused. */
int container_cgroup_create(const char *name, const struct snap_container_limits *limits,
			    struct container_cgroup **ret, struct snap_error *err);
/* In the container's init: move the calling process into the cgroup. */
int container_cgroup_join(struct container_cgroup *cg, struct snap_error *err);
/* On the host once init runs: close the fds init inherited. */
void container_cgroup_close_fds(struct container_cgroup *cg);
/* Remove the cgroup (its processes are gone) and free the handle. */
int container_cgroup_destroy(struct container_cgroup *cg, struct snap_error *err);

#endif
