/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay driver's table and its snapshot lifecycle.
 *
 * Layout: ROOT/snapshots/<id>/fs (the upper dir: the snapshot's own
 * changes), work/ (overlayfs' workdir, active snapshots only) and, when the
 * snapshot uses overlay features, overlay.opts (options.c).
 *
 *   active, no parent     bind of fs
 *   active, parents       overlay upperdir=fs workdir=work lowerdir=parents' fs, nearest first
 *   view, one parent      read-only bind of the parent's fs
 *   view, parents         read-only overlay of the parents' fs (no upper)
 *
 * Commit copies nothing: the upper dir is the layer.
 */
#include "overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/plugins/plugin-name.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/prjquota.h"
#include "ovl-internal.h"

static int ovl_probe(const char *root, struct snap_error *err)
{
	return ovl_probe_root(root, err);
}

static void ovl_close(void *state)
{
	struct ovl_state *st = state;
	if (!st)
		return;
	if (st->rootfd >= 0)
		close(st->rootfd);
	pthread_mutex_destroy(&st->lock);
	free(st->root);
	free(st);
}

static int ovl_open(const struct snap_driver_opts *opts, void **state, struct snap_error *err)
{
	if (!opts || !opts->root || opts->root[0] != '/')
		return snap_error_set(err, -EINVAL, "overlay driver: the root must be an absolute path");
	struct ovl_state *st = calloc(1, sizeof(*st));
	if (!st)
		return snap_error_set(err, -ENOMEM, "overlay driver: out of memory");
	st->rootfd = -EBADF;
	pthread_mutex_init(&st->lock, NULL);
	st->root = strdup(opts->root);
	if (!st->root) {
		ovl_close(st);
		return snap_error_set(err, -ENOMEM, "overlay driver: out of memory");
	}
	st->rootfd = open(opts->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st->rootfd < 0) {
		int r = negative_errno();
		ovl_close(st);
		return snap_error_set(err, r, "overlay driver: open root %s: %s", opts->root, strerror(-r));
	}
	*state = st;
	return 0;
}

/* "on"/"true"/"1" → 1, "off"/"false"/"0" → 0, absent → -1, else -EINVAL. */
static int label_bool(const struct snap_ref *snap, const char *key)
{
	const char *v = snap_ref_label(snap, key);
	if (!v)
		return -1;
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		return 1;
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		return 0;
	return -EINVAL;
}

/* The options an active snapshot is created with: what its parents need
 * followed, plus metacopy and redirect_dir where the kernel has them (unless
 * a label turns them off), plus volatile, index, xino, nfs_export and
 * userxattr by label (snapctl fstest runs its matrix of feature sets with
 * them).  A feature set the kernel then refuses as a whole (nfs_export with
 * metacopy, userxattr with redirect_dir) fails at mount with its reason. */
static int create_opts(struct ovl_state *st, const struct snap_ref *snap, const struct snap_chain *parents,
		       unsigned *ret, struct snap_error *err)
{
	if (parents->n == 0) {
		/* A bind mount: no overlay ever writes into this tree, so it
		 * never holds metacopy or redirect xattrs, and volatile has no
		 * meaning.  Children choose their own options. */
		*ret = 0;
		return 0;
	}
	const struct ovl_features *f = ovl_features_get(st);
	unsigned o = 0;
	/* The nearest parent's options already include its own parents'. */
	if (parents->n > 0 && ovl_opts_read(parents->refs[0].path, &o) < 0)
		o = 0;
	o &= OVL_OPT_REDIRECT | OVL_OPT_METACOPY | OVL_OPT_USERXATTR;
	if (f->need_userxattr)
		o |= OVL_OPT_USERXATTR;

	const struct {
		const char *label;
		unsigned bit;
		bool have;
		bool dflt;
	} wants[] = {
		{ OVL_LABEL_METACOPY, OVL_OPT_METACOPY, f->metacopy, true },
		{ OVL_LABEL_REDIRECT, OVL_OPT_REDIRECT, f->redirect_dir, true },
		{ OVL_LABEL_VOLATILE, OVL_OPT_VOLATILE, f->volatile_, false },
		{ OVL_LABEL_INDEX, OVL_OPT_INDEX, f->index, false },
		{ OVL_LABEL_XINO, OVL_OPT_XINO, f->xino, false },
		{ OVL_LABEL_NFS_EXPORT, OVL_OPT_NFS_EXPORT, f->nfs_export, false },
		{ OVL_LABEL_USERXATTR, OVL_OPT_USERXATTR, f->userxattr, false },
	};
	for (size_t i = 0; i < ELEMENTSOF(wants); i++) {
		int v = label_bool(snap, wants[i].label);
		if (v == -EINVAL)
			return snap_error_set(err, -EINVAL, "create snapshot '%s': label %s=%s: expected true or false",
					      snap->key, wants[i].label, snap_ref_label(snap, wants[i].label));
		if (v == 1 && !wants[i].have)
			return snap_error_set(err, -EOPNOTSUPP,
					      "create snapshot '%s': label %s: this kernel's overlayfs cannot do it here",
					      snap->key, wants[i].label);
		if (v == 1 || (v == -1 && wants[i].dflt && wants[i].have))
			o |= wants[i].bit;
	}
	/* metacopy=on needs redirect_dir=on. */
	if (o & OVL_OPT_METACOPY)
		o |= OVL_OPT_REDIRECT;
	*ret = o;
	return 0;
}

static void create_undo(int dfd)
{
	unlinkat(dfd, OVL_OPTS_FILE, 0);
	unlinkat(dfd, "work", AT_REMOVEDIR);
	unlinkat(dfd, "fs", AT_REMOVEDIR);
}

static int ovl_create(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		      struct snap_error *err)
{
	struct ovl_state *st = state;
	bool active = snap->kind == SNAP_KIND_ACTIVE;
	unsigned opts = 0;
	if (active) {
		int r = create_opts(st, snap, parents, &opts, err);
		if (r < 0)
			return r;
	}

	/* snapctl.size: the snapshot's directory becomes a project before
	 * the upper and work dirs are made in it. */
	int q = snap_prjquota_from_label(snap, err);
	if (q < 0)
		return snap_error_prefix(err, "create snapshot '%s'", snap->key);

	_cleanup_close_ int dfd = open(snap->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(err, negative_errno(), "create snapshot '%s': open %s: %s", snap->key,
				      snap->path, strerror(errno));
	if (mkdirat(dfd, "fs", 0755) < 0)
		return snap_error_set(err, negative_errno(), "create snapshot '%s': mkdir %s/fs: %s", snap->key,
				      snap->path, strerror(errno));
	if (active && parents->n > 0) {
		/* The merged root takes its owner, mode and times from the
		 * upper root: copy them from the parent's, or every diff would
		 * show the root changed (and a container would see its root
		 * owned by whoever ran snapctl). */
		struct stat pst;
		_cleanup_free_ char *pfs = ovl_join(parents->refs[0].path, "fs");
		if (!pfs) {
			create_undo(dfd);
			return snap_error_set(err, -ENOMEM, "create snapshot '%s': out of memory", snap->key);
		}
		if (stat(pfs, &pst) < 0 || fchownat(dfd, "fs", pst.st_uid, pst.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(dfd, "fs", pst.st_mode & 07777, 0) < 0 ||
		    utimensat(dfd, "fs", (const struct timespec[]){ pst.st_atim, pst.st_mtim }, AT_SYMLINK_NOFOLLOW) < 0) {
			int r = negative_errno();
			create_undo(dfd);
			return snap_error_set(err, r, "create snapshot '%s': copy root attributes from %s: %s", snap->key,
					      pfs, strerror(-r));
		}
	}
	if (active && mkdirat(dfd, "work", 0711) < 0) {
		int r = negative_errno();
		create_undo(dfd);
		return snap_error_set(err, r, "create snapshot '%s': mkdir %s/work: %s", snap->key, snap->path,
				      strerror(-r));
	}
	if (opts) {
		int r = ovl_opts_write(snap->path, opts);
		if (r < 0) {
			create_undo(dfd);
			return snap_error_set(err, r, "create snapshot '%s': write %s/%s: %s", snap->key, snap->path,
					      OVL_OPTS_FILE, strerror(-r));
		}
	}
	return 0;
}

static int ovl_mounts(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		      struct snap_mount_list *out, struct snap_error *err)
{
	struct ovl_spec spec;
	int r = ovl_spec_build(state, snap, parents, &spec, err);
	if (r < 0)
		return r;
	if (spec.upper && (spec.opts & OVL_OPT_VOLATILE)) {
		/* A client mounting this list cannot clear what an earlier
		 * volatile mount left in the workdir; do it now. */
		r = ovl_volatile_reset(spec.work);
		if (r < 0 && r != -ENOENT) {
			ovl_spec_done(&spec);
			return snap_error_set(err, r, "mounts of snapshot '%s': reset volatile work dir: %s", snap->key,
					      strerror(-r));
		}
	}
	r = ovl_spec_emit(&spec, out, err);
	ovl_spec_done(&spec);
	if (r < 0 && err && err->code == 0)
		snap_error_set(err, r, "mounts of snapshot '%s': %s", snap->key, strerror(-r));
	return r;
}

static int ovl_mount(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		     const char *target, unsigned flags, struct snap_error *err)
{
	struct ovl_spec spec;
	int r = ovl_spec_build(state, snap, parents, &spec, err);
	if (r < 0)
		return r;
	if (flags & SNAP_MOUNT_RDONLY)
		spec.rdonly = true;
	if (flags & SNAP_MOUNT_NOIDMAP) {
		free(spec.idmap);
		spec.idmap = NULL;
	}
	r = ovl_mount_spec(state, &spec, target, err);
	ovl_spec_done(&spec);
	if (r < 0 && err) {
		char why[SNAP_ERROR_MSG_MAX];
		memcpy(why, err->message, sizeof(why));
		return snap_error_set(err, r, "mount snapshot '%.64s' on %.256s: %.600s", snap->key, target, why);
	}
	return r;
}

static int ovl_commit(void *state, const struct snap_ref *snap, struct snap_error *err)
{
	unsigned opts = 0;
	int r = ovl_opts_read(snap->path, &opts);
	if (r < 0)
		return snap_error_set(err, r, "commit snapshot '%s': read %s/%s: %s", snap->key, snap->path,
				      OVL_OPTS_FILE, strerror(-r));
	if (opts & OVL_OPT_VOLATILE) {
		/* A volatile mount skipped every sync: make the layer durable
		 * before it becomes immutable. */
		_cleanup_free_ char *fs = ovl_join(snap->path, "fs");
		_cleanup_close_ int fd = fs ? open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -ENOMEM;
		if (fd < 0 || syncfs(fd) < 0)
			return snap_error_set(err, fd < 0 && !fs ? -ENOMEM : negative_errno(),
					      "commit snapshot '%s': sync %s: %s", snap->key, snap->path, strerror(errno));
	}
	return 0;
}

static int ovl_remove(void *state, const struct snap_ref *snap, struct snap_error *err)
{
	_cleanup_close_ int dfd = open(snap->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT)
			return 0;
		return snap_error_set(err, negative_errno(), "remove snapshot '%s': open %s: %s", snap->key,
				      snap->path, strerror(errno));
	}
	/* overlayfs makes work/work mode 000: fine for root, but without
	 * CAP_DAC_OVERRIDE (rootless, userxattr) its contents could not be
	 * removed. */
	if (fchmodat(dfd, "work/work", 0700, 0) < 0 && errno != ENOENT)
		return snap_error_set(err, negative_errno(), "remove snapshot '%s': chmod %s/work/work: %s",
				      snap->key, snap->path, strerror(errno));
	snap_prjquota_release_path(snap->path);
	static const char *const parts[] = { "fs", "work", OVL_OPTS_FILE };
	for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
		int r = snap_rm_rf_at(dfd, parts[i]);
		if (r < 0)
			return snap_error_set(err, r, "remove snapshot '%s': remove %s/%s: %s", snap->key, snap->path,
					      parts[i], strerror(-r));
	}
	return 0;
}

static int ovl_usage(void *state, const struct snap_ref *snap, struct snap_usage *out, struct snap_error *err)
{
	_cleanup_free_ char *fs = ovl_join(snap->path, "fs");
	if (!fs)
		return snap_error_set(err, -ENOMEM, "usage of snapshot '%s': out of memory", snap->key);
	_cleanup_close_ int fd = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "usage of snapshot '%s': open %s: %s", snap->key, fs,
				      strerror(errno));
	int r = snap_usage_at(fd, 0, out, err);
	if (r < 0)
		return snap_error_prefix(err, "usage of snapshot '%s'", snap->key);
	return 0;
}

static int ovl_open_tree(void *state, const struct snap_ref *snap, int *ret_dirfd, struct snap_error *err)
{
	_cleanup_free_ char *fs = ovl_join(snap->path, "fs");
	if (!fs)
		return snap_error_set(err, -ENOMEM, "open tree of snapshot '%s': out of memory", snap->key);
	int fd = open(fs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "open tree of snapshot '%s': open %s: %s", snap->key, fs,
				      strerror(errno));
	*ret_dirfd = fd;
	return 0;
}

const struct snap_driver snap_overlay_driver = {
	.abi_version = SNAP_DRIVER_ABI_VERSION,
	.name = SNAP_DRIVER_NAME("overlay"),
	.caps = SNAP_DRIVER_CAP_FAST_DIFF | SNAP_DRIVER_CAP_O1_CREATE,
	.probe = ovl_probe,
	.open = ovl_open,
	.close = ovl_close,
	.create = ovl_create,
	.mounts = ovl_mounts,
	.commit = ovl_commit,
	.remove = ovl_remove,
	.usage = ovl_usage,
	.open_tree = ovl_open_tree,
	.diff = ovl_diff,
	.apply_whiteout = ovl_apply_whiteout,
	.mount = ovl_mount,
	.info = ovl_info,
};
