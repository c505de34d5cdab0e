/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v1: one hierarchy per controller, each with its own files. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-internal.h"
#include "util/macro.h"

/* The device allowlist of the devices controller, the same set the nodev
 * mounts leave openable (container-devices.c): a second line of defence
 * where the controller exists.  mknod itself stays allowed (docker's
 * "c *:* m", "b *:* m"); opening what it makes does not. */
static const char *const allowed_devices[] = {
	"c *:* m", "b *:* m",
	"c 1:3 rwm",   /* null */
	"c 1:5 rwm",   /* zero */
	"c 1:7 rwm",   /* full */
	"c 1:8 rwm",   /* random */
	"c 1:9 rwm",   /* urandom */
	"c 5:0 rwm",   /* tty */
	"c 5:2 rwm",   /* ptmx */
	"c 136:* rwm", /* the ptys of its devpts */
};

static int set(int dirfd, const char *file, const char *value, struct snap_error *err)
{
	int r = cgroup_write(dirfd, file, value);
	if (r < 0)
		return snap_error_set(err, r, "cgroup: write \"%s\" to %s: %s", value, file, strerror(-r));
	return 0;
}

int cgroup_v1_limits(int dirfd, const char *controller, const struct snap_container_limits *limits,
		     struct snap_error *err)
{
	char v[32];
	if (strcmp(controller, "pids") == 0) {
		if (limits->pids > 0)
			snprintf(v, sizeof(v), "%" PRId64, limits->pids);
		return set(dirfd, "pids.max", limits->pids > 0 ? v : "max", err);
	}
	if (strcmp(controller, "memory") == 0 && limits->memory > 0) {
		snprintf(v, sizeof(v), "%" PRId64, limits->memory);
		return set(dirfd, "memory.limit_in_bytes", v, err);
	}
	if (strcmp(controller, "cpu") == 0 && limits->cpu_milli > 0) {
		int r = set(dirfd, "cpu.cfs_period_us", "100000", err);
		snprintf(v, sizeof(v), "%" PRId64, limits->cpu_milli * 100);
		return r < 0 ? r : set(dirfd, "cpu.cfs_quota_us", v, err);
	}
	if (strcmp(controller, "devices") == 0) {
		int r = set(dirfd, "devices.deny", "a", err);
		for (size_t i = 0; i < ELEMENTSOF(allowed_devices) && r >= 0; i++)
			r = set(dirfd, "devices.allow", allowed_devices[i], err);
		return r;
	}
	return 0;
}

static bool is_frozen(int dirfd)
{
	char state[32];
	return cgroup_read(dirfd, "freezer.state", state, sizeof(state)) == 0 &&
	       strncmp(state, "FROZEN", 6) == 0;
}

int cgroup_v1_freeze(int dirfd, bool frozen, struct snap_error *err)
{
	int r = set(dirfd, "freezer.state", frozen ? "FROZEN" : "THAWED", err);
	if (r < 0 || !frozen)
		return r;
	/* FREEZING until every task stopped */
	r = cgroup_wait(dirfd, is_frozen);
	if (r < 0) {
		cgroup_write(dirfd, "freezer.state", "THAWED");
		return snap_error_set(err, r, "the container's processes did not freeze: %s", strerror(-r));
	}
	return 0;
}
