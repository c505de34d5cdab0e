/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Idmapped layers: a snapshot labelled with a uid/gid mapping is mounted
 * with every layer an idmapped clone, so the container sees its files
 * owned by the host ids of the mapping and no file is ever chowned.
 *
 *   userns  = a user namespace with the mapping (util/idmap.c, cached)
 *   lower_i = open_tree(lower_i, OPEN_TREE_CLONE) + mount_setattr(IDMAP, userns)
 *   upper   = the same on ROOT/snapshots/<id> (upperdir and workdir must be
 *             on one mount), then openat "fs" and "work" on it
 *   overlay = fsopen; lowerdir+/upperdir/workdir by FSCONFIG_SET_FD
 *
 * The detached trees are handed over as fds (overlayfs takes fds for its
 * layers since 6.13, and takes detached trees: it clones private mounts of
 * them).  containerd 2.x does the same with paths: it mounts each lower
 * idmapped on a temporary directory and names those in lowerdir=.
 *
 * The upper layer is idmapped too, so what the container writes lands on
 * disk with its own ids and a commit gives the same layer as without the
 * mapping.  overlayfs does its own writes to the upper (the work dir,
 * copy-up) with the credentials of whoever created the superblock, and
 * through an idmapped upper those must be mapped ids (else EOVERFLOW and
 * the kernel mounts read-only): the superblock is therefore created in a
 * short-lived thread whose fsuid/fsgid are the mapping's root, with the
 * thread's full capabilities raised again (setfsuid drops the fs ones).
 * Credentials are per thread, so the rest of the process never sees them.
 * Where the kernel refuses an idmapped upper, only the lowers are mapped
 * (containerd's behaviour: the container's writes then keep host ids).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/macro.h"
#include "ovl-internal.h"

static int clone_idmapped(const char *path, int userns, bool rdonly, bool recursive, struct snap_error *err)
{
	return snap_idmap_clone(path, userns, (rdonly ? SNAP_IDMAP_RDONLY : 0) | (recursive ? SNAP_IDMAP_RECURSIVE : 0),
				err);
}

struct creator_job {
	const struct ovl_spec *spec;
	const struct ovl_layer_fds *fds;
	uid_t uid;
	gid_t gid;
	int result;
	struct snap_error err;
};

static int raise_effective_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &h, d) < 0)
		return negative_errno();
	for (size_t i = 0; i < ELEMENTSOF(d); i++)
		d[i].effective = d[i].permitted;
	return syscall(SYS_capset, &h, d) < 0 ? negative_errno() : 0;
}

static void *creator_thread(void *arg)
{
	struct creator_job *j = arg;
	setfsgid(j->gid);
	setfsuid(j->uid);
	/* setfsuid() returns the old value; asking again checks the new. */
	if ((uid_t)setfsuid(j->uid) != j->uid || (gid_t)setfsgid(j->gid) != j->gid) {
		j->result = snap_error_set(&j->err, -EPERM, "overlay with idmapped upper: setfsuid %u: refused",
					   (unsigned)j->uid);
		return NULL;
	}
	int r = raise_effective_caps();
	if (r < 0) {
		j->result = snap_error_set(&j->err, r, "overlay with idmapped upper: capset: %s", strerror(-r));
		return NULL;
	}
	bool fallback;
	j->result = ovl_overlay_new_api(j->spec, j->fds, &fallback, &j->err);
	return NULL;
}

/* The overlay over `fds`, its superblock created as (uid, gid). */
static int overlay_as(const struct ovl_spec *spec, const struct ovl_layer_fds *fds, uid_t uid, gid_t gid,
		      struct snap_error *err)
{
	struct creator_job job = { .spec = spec, .fds = fds, .uid = uid, .gid = gid };
	pthread_t t;
	int r = pthread_create(&t, NULL, creator_thread, &job);
	if (r != 0)
		return snap_error_set(err, -r, "overlay with idmapped upper: start helper thread: %s", strerror(r));
	pthread_join(t, NULL);
	if (job.result < 0 && err)
		*err = job.err;
	return job.result;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The overlay with its upper idmapped too.  upper and work sit side by
 * side in the snapshot's dir: one clone of that dir holds both on one
 * mount, as overlayfs requires. */
static int idmapped_upper_overlay(const struct ovl_spec *spec, struct ovl_layer_fds *fds, int userns,
				  struct snap_error *err)
{
	const char *slash = strrchr(spec->upper, '/');
	_cleanup_free_ char *dir = strndup(spec->upper, (size_t)(slash - spec->upper));
	if (!dir)
		return snap_error_set(err, -ENOMEM, "idmapped overlay: out of memory");
	_cleanup_close_ int tree = clone_idmapped(dir, userns, false, false, err);
	if (tree < 0)
		return tree;
	const char *u = slash + 1, *w = strrchr(spec->work, '/') + 1;
	_cleanup_close_ int ufd = openat(tree, u, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int wfd = openat(tree, w, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ufd < 0 || wfd < 0)
		return snap_error_set(err, negative_errno(), "idmapped overlay: open %s/%s: %s", dir,
				      ufd < 0 ? u : w, strerror(errno));
	struct ovl_layer_fds with_upper = { .lowers = fds->lowers, .upper = ufd, .work = wfd };
	uid_t uid;
	gid_t gid;
	snap_idmap_root(spec->idmap, &uid, &gid);
	int mfd = overlay_as(spec, &with_upper, uid, gid, err);
	struct statvfs sv;
	if (mfd >= 0 && !spec->rdonly && fstatvfs(mfd, &sv) == 0 && (sv.f_flag & ST_RDONLY)) {
		close(mfd);
		return -EROFS;
	}
	return mfd;
}

static int idmapped_overlay(struct ovl_state *st, const struct ovl_spec *spec, int userns, struct snap_error *err)
{
	_cleanup_free_ int *lowers = malloc((spec->n_lowers ? spec->n_lowers : 1) * sizeof(int));
	if (!lowers)
		return snap_error_set(err, -ENOMEM, "idmapped overlay: out of memory");
	for (size_t i = 0; i < spec->n_lowers; i++)
		lowers[i] = -EBADF;
	int r = 0;
	for (size_t i = 0; r >= 0 && i < spec->n_lowers; i++) {
		r = clone_idmapped(spec->lowers[i], userns, true, false, err);
		lowers[i] = r;
	}
	if (r < 0) {
		close_all(lowers, spec->n_lowers);
		return r;
	}
	struct ovl_layer_fds fds = { .lowers = lowers, .upper = -EBADF, .work = -EBADF };
	int mfd = -EBADF;
	if (spec->upper && !__atomic_load_n(&st->idmap_upper_refused, __ATOMIC_RELAXED)) {
		mfd = idmapped_upper_overlay(spec, &fds, userns, err);
		if (mfd == -EINVAL || mfd == -EROFS) {
			/* A kernel that cannot write through an idmapped upper
			 * refuses it or mounts the overlay read-only: map the
			 * lowers only from now on. */
			__atomic_store_n(&st->idmap_upper_refused, true, __ATOMIC_RELAXED);
			snap_error_clear(err);
			mfd = -EBADF;
		} else if (mfd < 0) {
			close_all(lowers, spec->n_lowers);
			return mfd;
		}
	}
	if (mfd < 0) {
		bool fallback;
		mfd = ovl_overlay_new_api(spec, &fds, &fallback, err);
	}
	close_all(lowers, spec->n_lowers);
	return mfd;
}

int ovl_idmapped_detached(struct ovl_state *st, const struct ovl_spec *spec, struct snap_error *err)
{
	_cleanup_close_ int userns = snap_idmap_userns_fd(spec->idmap, err);
	if (userns < 0)
		return userns;
	if (spec->type == OVL_SPEC_BIND)
		return clone_idmapped(spec->bind_src, userns, spec->rdonly, true, err);
	return idmapped_overlay(st, spec, userns, err);
}
