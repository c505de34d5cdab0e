/* SPDX-License-Identifier: Apache-2.0 */
/* run --userns: the value, the kernel check, auto's choice (run-userns.h). */
#include "run-userns.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container-store.h"
#include "spec/specs.h"
#include "util/idmap.h"
#include "util/macro.h"

/* Without "containers" in /etc/subuid and /etc/subgid: [2^30, 2^31), far
 * above useradd's subordinate ranges (from 100000, 65536 per user); it
 * lies in systemd-nspawn -U's random range (docs/runtime.md says so). */
#define AUTO_POOL_BASE (UINT32_C(1) << 30)
#define AUTO_POOL_SIZE (UINT32_C(1) << 30)
#define AUTO_USER "containers"

static void set_maps(struct run_userns *u)
{
	snprintf(u->uidmap, sizeof(u->uidmap), "0:%" PRIu32 ":%" PRIu32, u->uid, u->size);
	snprintf(u->gidmap, sizeof(u->gidmap), "0:%" PRIu32 ":%" PRIu32, u->gid, u->size);
}

/* "D:D:D", decimal digits only. */
static bool three_numbers(const char *v)
{
	int fields = 1;
	bool digit = false;
	for (const char *p = v; *p; p++) {
		if (*p == ':') {
			if (!digit)
				return false;
			fields++;
			digit = false;
		} else if (*p >= '0' && *p <= '9') {
			digit = true;
		} else {
			return false;
		}
	}
	return digit && fields == 3;
}

int run_userns_opt(struct cli_ctx *ctx, const char *value, struct run_userns *u)
{
	*u = (struct run_userns){ .lock_fd = -EBADF };
	if (strcmp(value, "host") == 0 || strcmp(value, "") == 0)
		return 0;
	if (strcmp(value, "auto") == 0) {
		u->set = u->automatic = true;
		u->size = RUN_USERNS_AUTO_SIZE;
		return 0;
	}
	if (!three_numbers(value))
		return cli_spec_usage_error(ctx, &cli_spec_run,
					    "--userns takes host, auto or 0:HOST_ID:SIZE, not \"%s\"", value);
	struct snap_idrange r[1];
	size_t n = 0;
	struct snap_error err = { 0 };
	if (snap_idmap_parse(value, "--userns", r, &n, &err) < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	if (r[0].ctr != 0) {
		cli_failf(ctx, "--userns %s: the range must start at the container's root (0:HOST_ID:SIZE)", value);
		return EXIT_RUN_FAILED;
	}
	if (r[0].host == 0) {
		cli_failf(ctx, "--userns %s: maps the container's root to the host's; use --userns=host for no "
			  "user namespace", value);
		return EXIT_RUN_FAILED;
	}
	u->set = true;
	u->uid = u->gid = r[0].host;
	u->size = r[0].size;
	set_maps(u);
	return 0;
}

static int read_number_file(const char *path, long *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	return fscanf(f, "%ld", ret) == 1 ? 0 : -EIO;
}

int run_userns_check_kernel(struct snap_error *err)
{
	if (access("/proc/self/ns/user", F_OK) < 0)
		return snap_error_set(err, -EOPNOTSUPP,
				      "--userns: this kernel has no user namespaces (CONFIG_USER_NS)");
	long max = -1;
	if (read_number_file("/proc/sys/user/max_user_namespaces", &max) == 0 && max == 0)
		return snap_error_set(err, -EOPNOTSUPP,
				      "--userns: user namespaces are disabled here (sysctl user.max_user_namespaces = 0)");
	return 0;
}

/* ---- auto ----------------------------------------------------------- */

struct span {
	uint64_t start, size;
};

/* The first range of AUTO_USER (or its uid) in /etc/subuid or /etc/subgid
 * ("name:start:count" lines).  0 when found, -ENOENT when not. */
static int subid_range(const char *path, struct span *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		uint64_t start, count;
		if (sscanf(line, "%63[^:]:%" SCNu64 ":%" SCNu64, name, &start, &count) != 3)
			continue;
		if (strcmp(name, AUTO_USER) != 0 || count < RUN_USERNS_AUTO_SIZE || start == 0 ||
		    start + count > UINT32_MAX)
			continue;
		*ret = (struct span){ start, count };
		return 0;
	}
	return -ENOENT;
}

struct used {
	struct snap_core *core;
	struct span *v; /* host uid and gid ranges of existing containers */
	size_t n;
	int error;
};

static void used_add(struct used *u, const char *value)
{
	struct snap_idrange r[SNAP_IDMAP_MAX];
	size_t n = 0;
	struct snap_error ignored = { 0 };
	if (!value || snap_idmap_parse(value, "label", r, &n, &ignored) < 0)
		return;
	struct span *v = reallocarray(u->v, u->n + n, sizeof(*v));
	if (!v) {
		u->error = -ENOMEM;
		return;
	}
	u->v = v;
	for (size_t i = 0; i < n; i++)
		u->v[u->n++] = (struct span){ r[i].host, r[i].size };
}

static int used_add_container(const struct snap_container_rec *rec, void *userdata)
{
	struct used *u = userdata;
	struct snap_info info = { 0 };
	struct snap_error ignored = { 0 };
	if (!rec->snapshot || snap_stat(u->core, rec->snapshot, &info, &ignored) < 0)
		return 0; /* a run killed before its snapshot was made */
	used_add(u, snap_labels_get(&info.labels, SNAP_LABEL_UIDMAPPING));
	used_add(u, snap_labels_get(&info.labels, SNAP_LABEL_GIDMAPPING));
	snap_info_done(&info);
	return u->error;
}

static bool overlaps(const struct used *u, uint64_t start, uint64_t size)
{
	for (size_t i = 0; i < u->n; i++)
		if (start < u->v[i].start + u->v[i].size && u->v[i].start < start + size)
			return true;
	return false;
}

int run_userns_choose(struct snap_core *core, struct run_userns *u, struct snap_error *err)
{
	if (!u->automatic)
		return 0;
	_cleanup_free_ char *lock = NULL;
	if (asprintf(&lock, "%s/userns.lock", snap_core_root(core)) < 0)
		return snap_error_set(err, -ENOMEM, "--userns=auto: %s", strerror(ENOMEM));
	u->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (u->lock_fd < 0)
		return snap_error_set(err, negative_errno(), "--userns=auto: open %s: %m", lock);
	while (flock(u->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return snap_error_set(err, negative_errno(), "--userns=auto: lock %s: %m", lock);

	struct span pool_u = { AUTO_POOL_BASE, AUTO_POOL_SIZE }, pool_g = pool_u;
	const char *source = "the fixed pool [2^30, 2^31)";
	struct span su, sg;
	if (subid_range("/etc/subuid", &su) == 0 && subid_range("/etc/subgid", &sg) == 0) {
		pool_u = su;
		pool_g = sg;
		source = "the ranges of \"" AUTO_USER "\" in /etc/subuid and /etc/subgid";
	}

	struct used used = { .core = core };
	int r = snap_container_store_walk(core, used_add_container, &used, err);
	if (r >= 0 && used.error < 0)
		r = snap_error_set(err, used.error, "--userns=auto: %s", strerror(-used.error));
	if (r < 0) {
		free(used.v);
		return r;
	}
	uint64_t slots = (pool_u.size < pool_g.size ? pool_u.size : pool_g.size) / RUN_USERNS_AUTO_SIZE;
	for (uint64_t k = 0; k < slots; k++) {
		uint64_t hu = pool_u.start + k * RUN_USERNS_AUTO_SIZE, hg = pool_g.start + k * RUN_USERNS_AUTO_SIZE;
		if (overlaps(&used, hu, RUN_USERNS_AUTO_SIZE) || overlaps(&used, hg, RUN_USERNS_AUTO_SIZE))
			continue;
		free(used.v);
		u->uid = (uint32_t)hu;
		u->gid = (uint32_t)hg;
		set_maps(u);
		return 0;
	}
	free(used.v);
	return snap_error_set(err, -ENOSPC, "--userns=auto: no free range of %u ids left in %s (remove stopped "
			      "containers to free theirs)", RUN_USERNS_AUTO_SIZE, source);
}

void run_userns_release(struct run_userns *u)
{
	if (u->lock_fd >= 0)
		close(u->lock_fd);
	u->lock_fd = -EBADF;
}

void run_userns_labels(const struct run_userns *u, struct snap_label *v, size_t *n)
{
	if (!u->set)
		return;
	v[(*n)++] = (struct snap_label){ SNAP_LABEL_UIDMAPPING, u->uidmap };
	v[(*n)++] = (struct snap_label){ SNAP_LABEL_GIDMAPPING, u->gidmap };
}

void run_userns_spec(const struct run_userns *u, struct snap_container_spec *spec)
{
	spec->userns = u->set;
	spec->userns_uid = u->uid;
	spec->userns_gid = u->gid;
	spec->userns_size = u->size;
}

void run_userns_describe(struct snap_core *core, const char *key, char *buf, size_t len)
{
	buf[0] = '\0';
	struct snap_info info = { 0 };
	struct snap_error ignored = { 0 };
	if (!key || snap_stat(core, key, &info, &ignored) < 0)
		return;
	const char *um = snap_labels_get(&info.labels, SNAP_LABEL_UIDMAPPING);
	const char *gm = snap_labels_get(&info.labels, SNAP_LABEL_GIDMAPPING);
	if (um && gm && strcmp(um, gm) == 0)
		snprintf(buf, len, "%s", um);
	else if (um && gm)
		snprintf(buf, len, "uid %s, gid %s", um, gm);
	snap_info_done(&info);
}
