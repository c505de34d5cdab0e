/* SPDX-License-Identifier: Apache-2.0 */
#include "util/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"

/* One decimal id: digits only, no leading zero (but "0"), at most 2^32-1. */
static int parse_u32(const char **p, uint32_t *ret)
{
	const char *s = *p;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	if (*s == '0' && s[1] >= '0' && s[1] <= '9')
		return -EINVAL;
	uint64_t v = 0;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
		s++;
	}
	*p = s;
	*ret = (uint32_t)v;
	return 0;
}

static bool overlaps(uint32_t a, uint32_t n, uint32_t b, uint32_t m)
{
	return (uint64_t)a < (uint64_t)b + m && (uint64_t)b < (uint64_t)a + n;
}

int snap_idmap_parse(const char *value, const char *what, struct snap_idrange *ret, size_t *ret_n,
		     struct snap_error *err)
{
	if (!value || !*value)
		return snap_error_set(err, -EINVAL, "%s: empty mapping (expected containerID:hostID:size[,...])",
				      what);
	size_t n = 0;
	const char *p = value;
	for (;;) {
		if (n == SNAP_IDMAP_MAX)
			return snap_error_set(err, -EINVAL, "%s: more than %d ranges", what, SNAP_IDMAP_MAX);
		struct snap_idrange r;
		const char *start = p;
		if (parse_u32(&p, &r.ctr) < 0 || *p++ != ':' || parse_u32(&p, &r.host) < 0 || *p++ != ':' ||
		    parse_u32(&p, &r.size) < 0 || (*p != ',' && *p != '\0'))
			return snap_error_set(err, -EINVAL,
					      "%s: range %zu (\"%.*s\") is not containerID:hostID:size in decimal",
					      what, n + 1, (int)strcspn(start, ","), start);
		if (r.size == 0)
			return snap_error_set(err, -EINVAL, "%s: range %zu has size 0", what, n + 1);
		/* 4294967295 is (uid_t)-1, never a valid id: a range may end
		 * just below it. */
		if ((uint64_t)r.ctr + r.size > UINT32_MAX || (uint64_t)r.host + r.size > UINT32_MAX)
			return snap_error_set(err, -EINVAL, "%s: range %zu (%u:%u:%u) runs past id 4294967294",
					      what, n + 1, r.ctr, r.host, r.size);
		for (size_t i = 0; i < n; i++) {
			if (overlaps(ret[i].ctr, ret[i].size, r.ctr, r.size))
				return snap_error_set(err, -EINVAL,
						      "%s: ranges %zu and %zu overlap on the container side", what,
						      i + 1, n + 1);
			if (overlaps(ret[i].host, ret[i].size, r.host, r.size))
				return snap_error_set(err, -EINVAL, "%s: ranges %zu and %zu overlap on the host side",
						      what, i + 1, n + 1);
		}
		ret[n++] = r;
		if (*p == '\0')
			break;
		p++; /* ',' */
	}
	*ret_n = n;
	return 0;
}

static const char *label_of(const struct snap_label *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i].key, key) == 0)
			return labels[i].value;
	return NULL;
}

int snap_idmap_from_labels(const struct snap_label *labels, size_t n, struct snap_idmap *ret,
			   struct snap_error *err)
{
	const char *u = label_of(labels, n, SNAP_LABEL_UIDMAPPING);
	const char *g = label_of(labels, n, SNAP_LABEL_GIDMAPPING);
	if (!u && !g)
		return 0;
	if (!u || !g)
		return snap_error_set(err, -EINVAL, "label %s needs %s as well (both or neither)",
				      u ? SNAP_LABEL_UIDMAPPING : SNAP_LABEL_GIDMAPPING,
				      u ? SNAP_LABEL_GIDMAPPING : SNAP_LABEL_UIDMAPPING);
	int r = snap_idmap_parse(u, "label " SNAP_LABEL_UIDMAPPING, ret->uid, &ret->n_uid, err);
	if (r < 0)
		return r;
	r = snap_idmap_parse(g, "label " SNAP_LABEL_GIDMAPPING, ret->gid, &ret->n_gid, err);
	if (r < 0)
		return r;
	return 1;
}

bool snap_idmap_to_host(const struct snap_idrange *v, size_t n, uint32_t id, uint32_t *ret)
{
	for (size_t i = 0; i < n; i++)
		if (id >= v[i].ctr && id - v[i].ctr < v[i].size) {
			*ret = v[i].host + (id - v[i].ctr);
			return true;
		}
	return false;
}

void snap_idmap_root(const struct snap_idmap *m, uid_t *ret_uid, gid_t *ret_gid)
{
	uint32_t u, g;
	if (!snap_idmap_to_host(m->uid, m->n_uid, 0, &u))
		u = m->uid[0].host;
	if (!snap_idmap_to_host(m->gid, m->n_gid, 0, &g))
		g = m->gid[0].host;
	*ret_uid = (uid_t)u;
	*ret_gid = (gid_t)g;
}

bool snap_idmap_is_identity(const struct snap_idmap *m)
{
	for (size_t i = 0; i < m->n_uid; i++)
		if (m->uid[i].ctr != m->uid[i].host)
			return false;
	for (size_t i = 0; i < m->n_gid; i++)
		if (m->gid[i].ctr != m->gid[i].host)
			return false;
	return true;
}

/* ---- user namespaces ----------------------------------------------------- */

/* "ctr host size\n" lines, as /proc/PID/uid_map takes them in one write. */
static char *map_text(const struct snap_idrange *v, size_t n)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%u %u %u\n", v[i].ctr, v[i].host, v[i].size);
	bool bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad) {
		free(s);
		return NULL;
	}
	return s;
}

static int write_map(pid_t pid, const char *file, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	/* One write: the kernel takes a map only once, whole. */
	ssize_t n = write(fd, text, strlen(text));
	if (n < 0)
		return negative_errno();
	return (size_t)n == strlen(text) ? 0 : -EIO;
}

static int userns_make(const char *umap, const char *gmap, struct snap_error *err)
{
	/* A raw clone: the child is a copy of this thread only and runs
	 * nothing but pause(), so it needs none of fork()'s bookkeeping and
	 * is safe in a threaded server.  It never execs and is killed as
	 * soon as its namespace is open (the fd keeps the namespace). */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return snap_error_set(err, negative_errno(), "create a user namespace: %s", strerror(errno));
	if (pid == 0) {
		for (;;)
			pause();
	}
	int r = write_map(pid, "uid_map", umap);
	const char *which = "uid_map";
	if (r == 0) {
		which = "gid_map";
		r = write_map(pid, "gid_map", gmap);
	}
	int fd = -EBADF;
	if (r == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		which = "ns/user";
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = negative_errno();
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
	if (r < 0)
		return snap_error_set(err, r, "user namespace for the mapping: %s: %s", which, strerror(-r));
	return fd;
}

/* Namespaces by mapping text, oldest first. */
#define USERNS_CACHE 8
static struct {
	char *key;
	int fd;
} cache[USERNS_CACHE];
static size_t cache_n;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

int snap_idmap_userns_fd(const struct snap_idmap *m, struct snap_error *err)
{
	if (m->n_uid == 0 || m->n_gid == 0)
		return snap_error_set(err, -EINVAL, "user namespace: empty mapping");
	_cleanup_free_ char *umap = map_text(m->uid, m->n_uid);
	_cleanup_free_ char *gmap = map_text(m->gid, m->n_gid);
	_cleanup_free_ char *key = NULL;
	if (!umap || !gmap || asprintf(&key, "%s/%s", umap, gmap) < 0)
		return snap_error_set(err, -ENOMEM, "user namespace: out of memory");

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < cache_n; i++)
		if (strcmp(cache[i].key, key) == 0) {
			int fd = fcntl(cache[i].fd, F_DUPFD_CLOEXEC, 3);
			int r = fd < 0 ? negative_errno() : fd;
			pthread_mutex_unlock(&cache_lock);
			return r < 0 ? snap_error_set(err, r, "user namespace: dup: %s", strerror(-r)) : r;
		}
	int fd = userns_make(umap, gmap, err);
	if (fd >= 0) {
		int keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (keep >= 0) {
			if (cache_n == USERNS_CACHE) {
				free(cache[0].key);
				close(cache[0].fd);
				memmove(&cache[0], &cache[1], (USERNS_CACHE - 1) * sizeof(cache[0]));
				cache_n--;
			}
			cache[cache_n].key = TAKE_PTR(key);
			cache[cache_n].fd = keep;
			cache_n++;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return fd;
}

/* ---- idmapped mounts ----------------------------------------------------- */

int snap_idmap_clone(const char *path, int userns_fd, unsigned flags, struct snap_error *err)
{
	unsigned rec = (flags & SNAP_IDMAP_RECURSIVE) ? AT_RECURSIVE : 0;
	_cleanup_close_ int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "idmapped mount of %s: open_tree: %s", path,
				      strerror(errno));
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_IDMAP | ((flags & SNAP_IDMAP_RDONLY) ? MOUNT_ATTR_RDONLY : 0),
		.userns_fd = (uint64_t)userns_fd,
	};
	if (mount_setattr(fd, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "idmapped mount of %s: mount_setattr(MOUNT_ATTR_IDMAP): %s%s", path,
				      strerror(-r), r == -EINVAL ? " (the filesystem cannot be idmapped)" : "");
	}
	return TAKE_FD(fd);
}

int snap_idmap_bind(const char *src, const char *target, const struct snap_idmap *m, unsigned flags,
		    struct snap_error *err)
{
	_cleanup_close_ int ns = snap_idmap_userns_fd(m, err);
	if (ns < 0)
		return ns;
	_cleanup_close_ int fd = snap_idmap_clone(src, ns, flags | SNAP_IDMAP_RECURSIVE, err);
	if (fd < 0)
		return fd;
	if (move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return snap_error_set(err, negative_errno(), "idmapped mount of %s on %s: move_mount: %s", src, target,
				      strerror(errno));
	return 0;
}

int snap_idmap_supported(const char *path, struct snap_error *err)
{
	static const struct snap_idmap probe = {
		.uid = { { 0, 100000, 65536 } },
		.gid = { { 0, 100000, 65536 } },
		.n_uid = 1,
		.n_gid = 1,
	};
	_cleanup_close_ int ns = snap_idmap_userns_fd(&probe, err);
	if (ns < 0)
		return ns;
	_cleanup_close_ int fd = snap_idmap_clone(path, ns, 0, err);
	if (fd == -EINVAL || fd == -EPERM || fd == -ENOSYS || fd == -EOPNOTSUPP)
		return 0;
	return fd < 0 ? fd : 1;
}

int snap_idmap_mount_options(const struct snap_ref *snap, char **ret_uid, char **ret_gid)
{
	*ret_uid = *ret_gid = NULL;
	const char *u = snap_ref_label(snap, SNAP_LABEL_UIDMAPPING), *g = snap_ref_label(snap, SNAP_LABEL_GIDMAPPING);
	if (!u || !g)
		return 0;
	char *a, *b;
	if (asprintf(&a, "uidmap=%s", u) < 0)
		return -ENOMEM;
	if (asprintf(&b, "gidmap=%s", g) < 0) {
		free(a);
		return -ENOMEM;
	}
	*ret_uid = a;
	*ret_gid = b;
	return 1;
}
