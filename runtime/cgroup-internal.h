/* SPDX-License-Identifier: Apache-2.0 */
/* What container-cgroup.c asks of cgroup-v1.c and cgroup-v2.c.  `dirfd`
 * is the container's cgroup directory in one hierarchy (v1) or in the
 * unified tree (v2). */
#ifndef SNAP_CGROUP_INTERNAL_H
#define SNAP_CGROUP_INTERNAL_H

#include "container-cgroup.h"

/* Write `value` to file `name` of directory `dirfd` in one write. */
int cgroup_write(int dirfd, const char *name, const char *value);
/* Read file `name` (at most len-1 bytes, NUL-terminated). */
int cgroup_read(int dirfd, const char *name, char *buf, size_t len);
/* Wait until `ready` says the freeze took (polls, 5 s at most). */
int cgroup_wait(int dirfd, bool (*ready)(int dirfd));

/* v1: the limits of `controller`'s directory. */
int cgroup_v1_limits(int dirfd, const char *controller, const struct snap_container_limits *limits,
		     struct snap_error *err);
int cgroup_v1_freeze(int dirfd, bool frozen, struct snap_error *err);

/* v2: enable pids, memory and cpu for the children of `parentfd`. */
int cgroup_v2_enable(int parentfd, struct snap_error *err);
int cgroup_v2_limits(int dirfd, const struct snap_container_limits *limits, struct snap_error *err);
int cgroup_v2_freeze(int dirfd, bool frozen, struct snap_error *err);

#endif
