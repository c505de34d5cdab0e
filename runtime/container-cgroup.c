/* SPDX-License-Identifier: Apache-2.0 */
/* The version-independent part of the container's cgroup (see
 * container-cgroup.h): probing the host, creating and removing the
 * directories, joining, freezing by name. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util/macro.h"

struct container_cgroup {
	char *name;
	size_t n;                                  /* hierarchies: n v1 ones, or 1 (v2) */
	int parent[SNAP_CGROUP_MAX_CONTROLLERS];   /* .../snapctl, O_PATH */
	int procs[SNAP_CGROUP_MAX_CONTROLLERS];    /* <name>/cgroup.procs, for init */
};

/* v1 controllers snapctl uses, in the order they are set up. */
static const char *const v1_controllers[] = { "pids", "memory", "cpu", "freezer", "devices" };
/* v2 controllers it enables (the freezer is part of v2's core). */
static const char *const v2_controllers[] = { "pids", "memory", "cpu" };

static bool is_fs(const char *path, unsigned long magic)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == magic;
}

static void probe(struct snap_cgroup_host *h)
{
	if (is_fs(SNAP_CGROUP_ROOT, CGROUP2_SUPER_MAGIC)) {
		h->version = SNAP_CGROUP_V2;
		h->freezer = true;
		char avail[256] = "";
		_cleanup_close_ int root = open(SNAP_CGROUP_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root >= 0)
			cgroup_read(root, "cgroup.controllers", avail, sizeof(avail));
		for (size_t i = 0; i < ELEMENTSOF(v2_controllers); i++) {
			/* whole words of the space-separated list */
			size_t len = strlen(v2_controllers[i]);
			for (const char *p = strstr(avail, v2_controllers[i]); p; p = strstr(p + 1, v2_controllers[i]))
				if ((p == avail || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len])) {
					h->controllers[h->n++] = v2_controllers[i];
					break;
				}
		}
		return;
	}
	if (!is_fs(SNAP_CGROUP_ROOT, TMPFS_MAGIC))
		return;
	for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++) {
		char path[64];
		snprintf(path, sizeof(path), SNAP_CGROUP_ROOT "/%s", v1_controllers[i]);
		if (!is_fs(path, CGROUP_SUPER_MAGIC))
			continue;
		h->controllers[h->n++] = v1_controllers[i];
		h->freezer |= strcmp(v1_controllers[i], "freezer") == 0;
		h->devices |= strcmp(v1_controllers[i], "devices") == 0;
	}
	if (h->n > 0)
		h->version = SNAP_CGROUP_V1;
}

const struct snap_cgroup_host *snap_cgroup_host(void)
{
	static struct snap_cgroup_host host;
	static bool probed;
	if (!probed) {
		probe(&host);
		probed = true;
	}
	return &host;
}

/* The directory holding "snapctl" in hierarchy i. */
static void hierarchy_path(const struct snap_cgroup_host *h, size_t i, char *buf, size_t len)
{
	if (h->version == SNAP_CGROUP_V1)
		snprintf(buf, len, SNAP_CGROUP_ROOT "/%s", h->controllers[i]);
	else
		snprintf(buf, len, SNAP_CGROUP_ROOT);
}

static bool has_controller(const struct snap_cgroup_host *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->controllers[i], name) == 0)
			return true;
	return false;
}

static size_t n_hierarchies(const struct snap_cgroup_host *h)
{
	if (h->version == SNAP_CGROUP_V1)
		return h->n;
	return h->version == SNAP_CGROUP_V2 ? 1 : 0;
}

void snap_cgroup_describe(const char *name, char *buf, size_t len)
{
	const struct snap_cgroup_host *h = snap_cgroup_host();
	if (h->version == SNAP_CGROUP_V2) {
		snprintf(buf, len, SNAP_CGROUP_ROOT "/" SNAP_CGROUP_PARENT "/%s", name);
		return;
	}
	if (h->version != SNAP_CGROUP_V1) {
		snprintf(buf, len, "%s", "");
		return;
	}
	int o = snprintf(buf, len, SNAP_CGROUP_ROOT "/{");
	for (size_t i = 0; i < h->n && o >= 0 && (size_t)o < len; i++)
		o += snprintf(buf + o, len - (size_t)o, "%s%s", i ? "," : "", h->controllers[i]);
	if (o >= 0 && (size_t)o < len)
		snprintf(buf + o, len - (size_t)o, "}/" SNAP_CGROUP_PARENT "/%s", name);
}

int cgroup_write(int dirfd, const char *name, const char *value)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return negative_errno();
	return (size_t)n == len ? 0 : -EIO;
}

int cgroup_read(int dirfd, const char *name, char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	ssize_t n = read(fd, buf, len - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = '\0';
	return 0;
}

int cgroup_wait(int dirfd, bool (*ready)(int dirfd))
{
	/* 1 ms steps: a container of a few processes freezes in well under
	 * one; one stuck in uninterruptible sleep may never. */
	for (int i = 0; i < 5000; i++) {
		if (ready(dirfd))
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return -ETIMEDOUT;
}

/* rmdir of a cgroup whose last task just exited can see it busy for a
 * moment (v1 releases tasks asynchronously). */
static int remove_dir(int parent, const char *name)
{
	for (int i = 0; i < 200; i++) {
		if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return negative_errno();
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return -EBUSY;
}

static void cgroup_free(struct container_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->parent[i] >= 0)
			close(cg->parent[i]);
		if (cg->procs[i] >= 0)
			close(cg->procs[i]);
	}
	free(cg->name);
	free(cg);
}

int container_cgroup_destroy(struct container_cgroup *cg, struct snap_error *err)
{
	int ret = 0;
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->parent[i] < 0)
			continue;
		int r = remove_dir(cg->parent[i], cg->name);
		if (r < 0 && ret == 0)
			ret = snap_error_set(err, r, "remove cgroup %s/%s: %s", snap_cgroup_host()->controllers[i],
					     cg->name, strerror(-r));
	}
	cgroup_free(cg);
	return ret;
}

void container_cgroup_close_fds(struct container_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->procs[i] >= 0) {
			close(cg->procs[i]);
			cg->procs[i] = -EBADF;
		}
}

/* mkdir `name` below `dirfd` (existing is fine) and open it O_PATH. */
static int make_dir(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

static int create_one(struct container_cgroup *cg, const struct snap_cgroup_host *h, size_t i,
		      const struct snap_container_limits *limits, struct snap_error *err)
{
	char path[64];
	hierarchy_path(h, i, path, sizeof(path));
	_cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return snap_error_set(err, negative_errno(), "open %s: %m", path);
	int r = 0;
	if (h->version == SNAP_CGROUP_V2)
		r = cgroup_v2_enable(root, err);
	if (r < 0)
		return r;
	cg->parent[i] = make_dir(root, SNAP_CGROUP_PARENT);
	if (cg->parent[i] < 0)
		return snap_error_set(err, cg->parent[i], "create cgroup %s/" SNAP_CGROUP_PARENT ": %s", path,
				      strerror(-cg->parent[i]));
	if (h->version == SNAP_CGROUP_V2 && (r = cgroup_v2_enable(cg->parent[i], err)) < 0)
		return r;
	if (mkdirat(cg->parent[i], cg->name, 0755) < 0) {
		r = negative_errno();
		close(cg->parent[i]);
		cg->parent[i] = -EBADF; /* not ours to remove */
		return snap_error_set(err, r, "create cgroup %s/" SNAP_CGROUP_PARENT "/%s: %s", path, cg->name,
				      strerror(-r));
	}
	_cleanup_close_ int dir = openat(cg->parent[i], cg->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return snap_error_set(err, negative_errno(), "open cgroup %s/%s: %m", path, cg->name);
	r = h->version == SNAP_CGROUP_V2 ? cgroup_v2_limits(dir, limits, err)
					 : cgroup_v1_limits(dir, h->controllers[i], limits, err);
	if (r < 0)
		return r;
	cg->procs[i] = openat(dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (cg->procs[i] < 0)
		return snap_error_set(err, negative_errno(), "open cgroup %s/%s/cgroup.procs: %m", path, cg->name);
	return 0;
}

int container_cgroup_create(const char *name, const struct snap_container_limits *limits,
			    struct container_cgroup **ret, struct snap_error *err)
{
	const struct snap_cgroup_host *h = snap_cgroup_host();
	*ret = NULL;
	if (h->version == SNAP_CGROUP_NONE) {
		if (limits->memory || limits->cpu_milli)
			return snap_error_set(err, -EOPNOTSUPP,
					      "--memory and --cpus need cgroups: no cgroup file system at " SNAP_CGROUP_ROOT);
		return 0;
	}
	/* a limit asked for must be set; the default pids limit only where
	 * the controller exists */
	struct snap_container_limits lim = *limits;
	static const struct {
		const char *controller, *option;
	} needs[] = { { "memory", "--memory" }, { "cpu", "--cpus" } };
	for (size_t k = 0; k < ELEMENTSOF(needs); k++) {
		int64_t want = k == 0 ? lim.memory : lim.cpu_milli;
		if (want && !has_controller(h, needs[k].controller))
			return snap_error_set(err, -EOPNOTSUPP, "%s needs the %s cgroup controller, absent here",
					      needs[k].option, needs[k].controller);
	}
	if (!has_controller(h, "pids"))
		lim.pids = 0;
	limits = &lim;

	struct container_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg || !(cg->name = strdup(name))) {
		free(cg);
		return snap_error_set(err, -ENOMEM, "cgroup: %s", strerror(ENOMEM));
	}
	cg->n = n_hierarchies(h);
	for (size_t i = 0; i < cg->n; i++)
		cg->parent[i] = cg->procs[i] = -EBADF;
	for (size_t i = 0; i < cg->n; i++) {
		int r = create_one(cg, h, i, limits, err);
		if (r < 0) {
			struct snap_error ignored = { 0 };
			container_cgroup_destroy(cg, &ignored);
			return r;
		}
	}
	*ret = cg;
	return 0;
}

int container_cgroup_join(struct container_cgroup *cg, struct snap_error *err)
{
	for (size_t i = 0; i < cg->n; i++)
		/* "0": the writer itself, whatever pid namespace it is in */
		if (write(cg->procs[i], "0", 1) != 1)
			return snap_error_set(err, negative_errno(), "join cgroup %s/%s: %m",
					      snap_cgroup_host()->controllers[i], cg->name);
	return 0;
}

/* O_PATH fd of container `name`'s cgroup in hierarchy `controller` (v1)
 * or in the unified tree (v2, controller NULL). */
static int open_named(const char *controller, const char *name)
{
	char path[PATH_MAX];
	if (controller)
		snprintf(path, sizeof(path), SNAP_CGROUP_ROOT "/%s/" SNAP_CGROUP_PARENT "/%s", controller, name);
	else
		snprintf(path, sizeof(path), SNAP_CGROUP_ROOT "/" SNAP_CGROUP_PARENT "/%s", name);
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

int snap_cgroup_freeze(const char *name, bool frozen, struct snap_error *err)
{
	const struct snap_cgroup_host *h = snap_cgroup_host();
	if (!h->freezer)
		return snap_error_set(err, -EOPNOTSUPP, "no cgroup freezer on this host");
	_cleanup_close_ int dir = open_named(h->version == SNAP_CGROUP_V1 ? "freezer" : NULL, name);
	if (dir < 0)
		return snap_error_set(err, dir, "cgroup of container %.12s: %s", name, strerror(-dir));
	return h->version == SNAP_CGROUP_V1 ? cgroup_v1_freeze(dir, frozen, err) : cgroup_v2_freeze(dir, frozen, err);
}

int snap_cgroup_remove(const char *name, struct snap_error *err)
{
	const struct snap_cgroup_host *h = snap_cgroup_host();
	for (size_t i = 0; i < n_hierarchies(h); i++) {
		char path[64];
		hierarchy_path(h, i, path, sizeof(path));
		strcat(path, "/" SNAP_CGROUP_PARENT);
		_cleanup_close_ int parent = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0)
			continue;
		int r = remove_dir(parent, name);
		if (r < 0)
			return snap_error_set(err, r, "remove cgroup %s/%s: %s", path, name, strerror(-r));
	}
	return 0;
}
