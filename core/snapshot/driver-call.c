/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/driver-call.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/fs-util.h"
#include "util/macro.h"

/* ABI minor in which each optional method appeared.  A method appended
 * later gets its minor here. */
static const int method_since[] = {
	[SNAP_DRV_PROBE] = 0,
	[SNAP_DRV_USAGE] = 0,
	[SNAP_DRV_OPEN_TREE] = 0,
	[SNAP_DRV_DIFF] = 0,
	[SNAP_DRV_APPLY_WHITEOUT] = 0,
	[SNAP_DRV_MOUNT] = 0,
	[SNAP_DRV_INFO] = 0,
	[SNAP_DRV_CLONE] = 2,
};

static _Thread_local uint64_t drv_time_ns;

uint64_t snap_drv_time_ns(void)
{
	return drv_time_ns;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool snap_drv_has(const struct snap_driver *drv, enum snap_drv_method m)
{
	if (SNAP_ABI_MINOR_OF(drv->abi_version) < method_since[m])
		return false;
	switch (m) {
	case SNAP_DRV_PROBE:
		return drv->probe != NULL;
	case SNAP_DRV_USAGE:
		return drv->usage != NULL;
	case SNAP_DRV_OPEN_TREE:
		return drv->open_tree != NULL;
	case SNAP_DRV_DIFF:
		return drv->diff != NULL;
	case SNAP_DRV_APPLY_WHITEOUT:
		return drv->apply_whiteout != NULL;
	case SNAP_DRV_MOUNT:
		return drv->mount != NULL;
	case SNAP_DRV_INFO:
		return drv->info != NULL;
	case SNAP_DRV_CLONE:
		return drv->clone != NULL;
	}
	return false;
}

bool snap_drv_frozen_tree(const struct snap_driver *drv)
{
	/* The flag appeared in minor 1: a minor-0 driver never meant it. */
	return SNAP_ABI_MINOR_OF(drv->abi_version) >= 1 && (drv->caps & SNAP_DRIVER_CAP_FROZEN_TREE) &&
	       snap_drv_has(drv, SNAP_DRV_OPEN_TREE);
}

/* Postcondition of every method: a failure carries a message. */
static int drv_result(const struct snap_driver *drv, const char *method, const struct snap_ref *snap,
		      int r, struct snap_error *err)
{
	if (r == 0)
		return 0;
	if (r > 0) {
		return snap_error_set(err, -EIO, "driver '%s': %s of snapshot '%s' returned %d (not 0 or -errno)",
				      drv->name, method, snap && snap->key ? snap->key : "?", r);
	}
	if (err) {
		if (err->message[0] == '\0') {
			if (snap)
				snap_error_set(err, r, "driver '%s': %s snapshot '%s' (id %llu): %s", drv->name,
					       method, snap->key ? snap->key : "?",
					       (unsigned long long)snap->id, strerror(-r));
			else
				snap_error_set(err, r, "driver '%s': %s: %s", drv->name, method, strerror(-r));
		}
		err->code = r;
	}
	return r;
}

static bool kind_valid(int kind)
{
	return kind == SNAP_KIND_VIEW || kind == SNAP_KIND_ACTIVE || kind == SNAP_KIND_COMMITTED;
}

static int check_ref(const struct snap_driver *drv, const char *method, const struct snap_ref *snap,
		     bool allow_unknown_kind, struct snap_error *err)
{
	if (!snap)
		return snap_error_set(err, -EINVAL, "driver '%s': %s: snapshot is NULL", drv->name, method);
	if (snap->id == 0 || !snap->key || !snap->path || snap->path[0] != '/')
		return snap_error_set(err, -EINVAL, "driver '%s': %s: snapshot '%s' has no id or absolute path",
				      drv->name, method, snap->key ? snap->key : "?");
	if (!kind_valid(snap->kind) && !(allow_unknown_kind && snap->kind == SNAP_KIND_UNKNOWN))
		return snap_error_set(err, -EINVAL, "driver '%s': %s: snapshot '%s' has invalid kind %d",
				      drv->name, method, snap->key, snap->kind);
	if (snap->n_labels && !snap->labels)
		return snap_error_set(err, -EINVAL, "driver '%s': %s: snapshot '%s' labels missing",
				      drv->name, method, snap->key);
	return 0;
}

static int check_chain(const struct snap_driver *drv, const char *method, const struct snap_ref *snap,
		       const struct snap_chain *parents, struct snap_error *err)
{
	if (!parents)
		return snap_error_set(err, -EINVAL, "driver '%s': %s '%s': parent chain is NULL", drv->name,
				      method, snap->key);
	if (parents->n && !parents->refs)
		return snap_error_set(err, -EINVAL, "driver '%s': %s '%s': parent chain has no refs",
				      drv->name, method, snap->key);
	for (size_t i = 0; i < parents->n; i++) {
		const struct snap_ref *p = &parents->refs[i];
		int r = check_ref(drv, method, p, false, err);
		if (r < 0)
			return r;
		if (p->kind != SNAP_KIND_COMMITTED)
			return snap_error_set(err, -EINVAL,
					      "driver '%s': %s '%s': parent '%s' is not committed", drv->name,
					      method, snap->key, p->key);
		if (p->id == snap->id)
			return snap_error_set(err, -EINVAL, "driver '%s': %s '%s': snapshot is its own parent",
					      drv->name, method, snap->key);
	}
	return 0;
}

#define TIMED(expr)                                                                    \
	({                                                                             \
		uint64_t _t0 = mono_ns();                                              \
		int _r = (expr);                                                       \
		drv_time_ns += mono_ns() - _t0;                                        \
		_r;                                                                    \
	})

int snap_drv_probe(const struct snap_driver *drv, const char *root, struct snap_error *err)
{
	if (!root)
		return snap_error_set(err, -EINVAL, "driver '%s': probe: root is NULL", drv->name);
	if (!snap_drv_has(drv, SNAP_DRV_PROBE))
		return 0;
	snap_error_clear(err);
	int r = TIMED(drv->probe(root, err));
	return drv_result(drv, "probe", NULL, r, err);
}

int snap_drv_open(const struct snap_driver *drv, const struct snap_driver_opts *opts, void **ret_state,
		  struct snap_error *err)
{
	if (!opts || !opts->root || !ret_state)
		return snap_error_set(err, -EINVAL, "driver '%s': open: missing options", drv->name);
	void *state = NULL;
	snap_error_clear(err);
	int r = TIMED(drv->open(opts, &state, err));
	r = drv_result(drv, "open", NULL, r, err);
	if (r < 0)
		return r;
	*ret_state = state;
	return 0;
}

void snap_drv_close(const struct snap_driver *drv, void *state)
{
	if (drv)
		drv->close(state);
}

int snap_drv_create(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		    const struct snap_chain *parents, struct snap_error *err)
{
	int r = check_ref(drv, "create", snap, false, err);
	if (r < 0)
		return r;
	if (snap->kind != SNAP_KIND_ACTIVE && snap->kind != SNAP_KIND_VIEW)
		return snap_error_set(err, -EINVAL, "driver '%s': create '%s': kind %d is not active or view",
				      drv->name, snap->key, snap->kind);
	r = check_chain(drv, "create", snap, parents, err);
	if (r < 0)
		return r;
	snap_error_clear(err);
	r = TIMED(drv->create(state, snap, parents, err));
	return drv_result(drv, "create", snap, r, err);
}

int snap_drv_clone(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		   const struct snap_chain *parents, const struct snap_ref *src, struct snap_error *err)
{
	int r = check_ref(drv, "clone", snap, false, err);
	if (r < 0)
		return r;
	r = check_ref(drv, "clone", src, false, err);
	if (r < 0)
		return r;
	if (snap->kind != SNAP_KIND_ACTIVE || src->kind != SNAP_KIND_ACTIVE)
		return snap_error_set(err, -EINVAL, "driver '%s': clone '%s' from '%s': both must be active",
				      drv->name, snap->key, src->key);
	if (snap->id == src->id)
		return snap_error_set(err, -EINVAL, "driver '%s': clone '%s': snapshot is its own source",
				      drv->name, snap->key);
	r = check_chain(drv, "clone", snap, parents, err);
	if (r < 0)
		return r;
	if (!snap_drv_has(drv, SNAP_DRV_CLONE))
		return snap_error_set(err, -EOPNOTSUPP, "driver '%s' cannot clone a snapshot", drv->name);
	snap_error_clear(err);
	r = TIMED(drv->clone(state, snap, parents, src, err));
	return drv_result(drv, "clone", snap, r, err);
}

static int mounts_add(struct snap_mount_list *list, const char *type, const char *source,
		      const char *const *options, size_t n_options)
{
	struct snap_mounts *m = list->opaque;
	if (!type || !*type || !source || !*source || (n_options && !options))
		return -EINVAL;
	struct snap_mount *nv = realloc(m->v, (m->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	m->v = nv;
	struct snap_mount *e = &m->v[m->n];
	*e = (struct snap_mount){ 0 };
	e->type = strdup(type);
	e->source = strdup(source);
	e->options = calloc(n_options + 1, sizeof(char *));
	m->n++; /* counted now so that snap_mounts_done frees a half-built entry */
	if (!e->type || !e->source || !e->options)
		return -ENOMEM;
	for (size_t i = 0; i < n_options; i++) {
		if (!options[i])
			return -EINVAL;
		e->options[i] = strdup(options[i]);
		if (!e->options[i])
			return -ENOMEM;
		e->n_options++;
	}
	return 0;
}

void snap_mounts_done(struct snap_mounts *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].type);
		free(m->v[i].source);
		if (m->v[i].options)
			for (size_t j = 0; m->v[i].options[j]; j++)
				free(m->v[i].options[j]);
		free(m->v[i].options);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

int snap_drv_mounts(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		    const struct snap_chain *parents, struct snap_mounts *ret, struct snap_error *err)
{
	int r = check_ref(drv, "mounts", snap, false, err);
	if (r < 0)
		return r;
	r = check_chain(drv, "mounts", snap, parents, err);
	if (r < 0)
		return r;
	if (!ret)
		return snap_error_set(err, -EINVAL, "driver '%s': mounts '%s': no output list", drv->name,
				      snap->key);
	_cleanup_(snap_mounts_done) struct snap_mounts m = { 0 };
	struct snap_mount_list list = { .opaque = &m, .add = mounts_add };
	snap_error_clear(err);
	r = TIMED(drv->mounts(state, snap, parents, &list, err));
	r = drv_result(drv, "mounts", snap, r, err);
	if (r < 0)
		return r;
	if (m.n == 0)
		return snap_error_set(err, -EIO, "driver '%s': mounts of snapshot '%s' returned an empty list",
				      drv->name, snap->key);
	*ret = m;
	m = (struct snap_mounts){ 0 };
	return 0;
}

int snap_drv_commit(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		    struct snap_error *err)
{
	int r = check_ref(drv, "commit", snap, false, err);
	if (r < 0)
		return r;
	if (snap->kind != SNAP_KIND_ACTIVE)
		return snap_error_set(err, -EINVAL, "driver '%s': commit '%s': not an active snapshot",
				      drv->name, snap->key);
	snap_error_clear(err);
	r = TIMED(drv->commit(state, snap, err));
	return drv_result(drv, "commit", snap, r, err);
}

int snap_drv_remove(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		    struct snap_error *err)
{
	int r = check_ref(drv, "remove", snap, true, err);
	if (r < 0)
		return r;
	snap_error_clear(err);
	r = TIMED(drv->remove(state, snap, err));
	return drv_result(drv, "remove", snap, r, err);
}

int snap_drv_usage(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		   struct snap_usage *ret, struct snap_error *err)
{
	int r = check_ref(drv, "usage", snap, false, err);
	if (r < 0)
		return r;
	if (!ret)
		return snap_error_set(err, -EINVAL, "driver '%s': usage '%s': no output", drv->name, snap->key);
	struct snap_usage u = { 0 };
	if (!snap_drv_has(drv, SNAP_DRV_USAGE)) {
		_cleanup_close_ int fd = open(snap->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return snap_error_set(err, negative_errno(), "usage of snapshot '%s': open %s: %s",
					      snap->key, snap->path, strerror(errno));
		r = snap_usage_at(fd, 0, &u, err);
		if (r < 0)
			return snap_error_prefix(err, "usage of snapshot '%s'", snap->key);
	} else {
		snap_error_clear(err);
		r = TIMED(drv->usage(state, snap, &u, err));
		r = drv_result(drv, "usage", snap, r, err);
		if (r < 0)
			return r;
	}
	if (u.size < 0 || u.inodes < 0)
		return snap_error_set(err, -EIO, "driver '%s': usage of snapshot '%s' is negative", drv->name,
				      snap->key);
	*ret = u;
	return 0;
}

static int open_tree(const struct snap_driver *drv, void *state, const struct snap_ref *snap, bool repair,
		     int *ret_dirfd, struct snap_error *err)
{
	int r = check_ref(drv, "open_tree", snap, false, err);
	if (r < 0)
		return r;
	if (!ret_dirfd)
		return snap_error_set(err, -EINVAL, "driver '%s': open_tree '%s': no output", drv->name,
				      snap->key);
	if (!snap_drv_has(drv, SNAP_DRV_OPEN_TREE))
		return snap_error_set(err, -EOPNOTSUPP, "driver '%s' cannot open the tree of snapshot '%s'",
				      drv->name, snap->key);
	/* A committed snapshot's own tree is only whole, and safe to read
	 * unmounted, where the driver says so. */
	if (snap->kind == SNAP_KIND_COMMITTED && !repair && !snap_drv_frozen_tree(drv))
		return snap_error_set(err, -EINVAL,
				      "driver '%s': open_tree of committed snapshot '%s': the driver does not "
				      "keep committed trees whole and read-only",
				      drv->name, snap->key);
	int fd = -EBADF;
	snap_error_clear(err);
	r = TIMED(drv->open_tree(state, snap, &fd, err));
	r = drv_result(drv, "open_tree", snap, r, err);
	if (r < 0)
		return r;
	if (fd < 0)
		return snap_error_set(err, -EIO, "driver '%s': open_tree of snapshot '%s' returned no fd",
				      drv->name, snap->key);
	*ret_dirfd = fd;
	return 0;
}

int snap_drv_open_tree(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		       int *ret_dirfd, struct snap_error *err)
{
	return open_tree(drv, state, snap, false, ret_dirfd, err);
}

int snap_drv_open_tree_repair(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
			      int *ret_dirfd, struct snap_error *err)
{
	return open_tree(drv, state, snap, true, ret_dirfd, err);
}

int snap_drv_diff(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		  const struct snap_chain *parents, struct snap_change_sink *sink, struct snap_error *err)
{
	int r = check_ref(drv, "diff", snap, false, err);
	if (r < 0)
		return r;
	r = check_chain(drv, "diff", snap, parents, err);
	if (r < 0)
		return r;
	if (!sink || !sink->change)
		return snap_error_set(err, -EINVAL, "driver '%s': diff '%s': no change sink", drv->name,
				      snap->key);
	if (!snap_drv_has(drv, SNAP_DRV_DIFF))
		return snap_error_set(err, -EOPNOTSUPP, "driver '%s' has no fast diff", drv->name);
	snap_error_clear(err);
	r = TIMED(drv->diff(state, snap, parents, sink, err));
	return drv_result(drv, "diff", snap, r, err);
}

int snap_drv_apply_whiteout(const struct snap_driver *drv, void *state, int dirfd, const char *name,
			    int kind, struct snap_error *err)
{
	if (dirfd < 0 || !name || !*name || strchr(name, '/') || strcmp(name, "..") == 0 ||
	    strcmp(name, ".") == 0)
		return snap_error_set(err, -EINVAL, "driver '%s': apply_whiteout: bad name '%s'", drv->name,
				      name ? name : "(null)");
	if (kind != SNAP_WHITEOUT_ENTRY && kind != SNAP_WHITEOUT_OPAQUE)
		return snap_error_set(err, -EINVAL, "driver '%s': apply_whiteout '%s': bad kind %d", drv->name,
				      name, kind);
	if (!snap_drv_has(drv, SNAP_DRV_APPLY_WHITEOUT))
		return snap_error_set(err, -EOPNOTSUPP, "driver '%s' has no whiteout method", drv->name);
	snap_error_clear(err);
	int r = TIMED(drv->apply_whiteout(state, dirfd, name, kind, err));
	return drv_result(drv, "apply_whiteout", NULL, r, err);
}

int snap_drv_mount(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		   const struct snap_chain *parents, const char *target, unsigned flags,
		   struct snap_error *err)
{
	int r = check_ref(drv, "mount", snap, false, err);
	if (r < 0)
		return r;
	r = check_chain(drv, "mount", snap, parents, err);
	if (r < 0)
		return r;
	if (!target || !*target)
		return snap_error_set(err, -EINVAL, "driver '%s': mount '%s': no target", drv->name, snap->key);
	if (SNAP_ABI_MINOR_OF(drv->abi_version) < 1)
		flags &= ~SNAP_MOUNT_NOIDMAP;
	if (flags & ~(SNAP_MOUNT_RDONLY | SNAP_MOUNT_NOIDMAP))
		return snap_error_set(err, -EINVAL, "driver '%s': mount '%s': unknown flags %#x", drv->name,
				      snap->key, flags);
	if (!snap_drv_has(drv, SNAP_DRV_MOUNT))
		return snap_error_set(err, -EOPNOTSUPP, "driver '%s' has no mount method", drv->name);
	snap_error_clear(err);
	r = TIMED(drv->mount(state, snap, parents, target, flags, err));
	return drv_result(drv, "mount", snap, r, err);
}

int snap_drv_info(const struct snap_driver *drv, void *state,
		  void (*emit)(void *ctx, const char *key, const char *value), void *ctx,
		  struct snap_error *err)
{
	if (!emit)
		return snap_error_set(err, -EINVAL, "driver '%s': info: no emit callback", drv->name);
	if (!snap_drv_has(drv, SNAP_DRV_INFO))
		return 0;
	snap_error_clear(err);
	int r = TIMED(drv->info(state, emit, ctx, err));
	return drv_result(drv, "info", NULL, r, err);
}
