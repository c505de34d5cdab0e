/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v2: one unified tree; controllers are enabled for a directory's
 * children in its parent's cgroup.subtree_control. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-internal.h"
#include "util/macro.h"

static int set(int dirfd, const char *file, const char *value, struct snap_error *err)
{
	int r = cgroup_write(dirfd, file, value);
	if (r < 0)
		return snap_error_set(err, r, "cgroup: write \"%s\" to %s: %s", value, file, strerror(-r));
	return 0;
}

int cgroup_v2_enable(int parentfd, struct snap_error *err)
{
	const struct snap_cgroup_host *h = snap_cgroup_host();
	char v[64] = "";
	for (size_t i = 0; i < h->n; i++) {
		strcat(v, i ? " +" : "+");
		strcat(v, h->controllers[i]);
	}
	return h->n ? set(parentfd, "cgroup.subtree_control", v, err) : 0;
}

int cgroup_v2_limits(int dirfd, const struct snap_container_limits *limits, struct snap_error *err)
{
	char v[64];
	int r = 0;
	if (limits->pids > 0) {
		snprintf(v, sizeof(v), "%" PRId64, limits->pids);
		r = set(dirfd, "pids.max", v, err);
	}
	if (r >= 0 && limits->memory > 0) {
		snprintf(v, sizeof(v), "%" PRId64, limits->memory);
		r = set(dirfd, "memory.max", v, err);
	}
	if (r >= 0 && limits->cpu_milli > 0) {
		snprintf(v, sizeof(v), "%" PRId64 " 100000", limits->cpu_milli * 100);
		r = set(dirfd, "cpu.max", v, err);
	}
	return r;
}

static bool is_frozen(int dirfd)
{
	char events[256];
	return cgroup_read(dirfd, "cgroup.events", events, sizeof(events)) == 0 &&
	       strstr(events, "frozen 1") != NULL;
}

int cgroup_v2_freeze(int dirfd, bool frozen, struct snap_error *err)
{
	int r = set(dirfd, "cgroup.freeze", frozen ? "1" : "0", err);
	if (r < 0 || !frozen)
		return r;
	r = cgroup_wait(dirfd, is_frozen);
	if (r < 0) {
		cgroup_write(dirfd, "cgroup.freeze", "0");
		return snap_error_set(err, r, "the container's processes did not freeze: %s", strerror(-r));
	}
	return 0;
}
