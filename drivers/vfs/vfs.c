/* SPDX-License-Identifier: Apache-2.0 */
#include "vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy.h"
#include "drivers/plugins/plugin-name.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/prjquota.h"
#include "remap.h"

/* Layout inside ROOT/snapshots/<id>: the tree, and the name it is built
 * under until the copy is complete (then renamed: a crash mid-copy leaves
 * only the staging name, which remove() and the core's cleanup delete). */
#define VFS_FS "fs"
#define VFS_FS_STAGING "fs.tmp"

struct vfs_state {
	char *root;
	int rootfd; /* O_PATH */
	void (*notice)(void *ctx, const char *message);
	void *notice_ctx;
};

static int vfs_probe(const char *root, struct snap_error *err)
{
	/* Plain directories and file copies work on every filesystem. */
	return 0;
}

static int vfs_open(const struct snap_driver_opts *opts, void **state, struct snap_error *err)
{
	_cleanup_free_ struct vfs_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "open vfs driver: %s", strerror(ENOMEM));
	s->root = strdup(opts->root);
	if (!s->root)
		return snap_error_set(err, -ENOMEM, "open vfs driver: %s", strerror(ENOMEM));
	s->rootfd = open(opts->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0) {
		int r = negative_errno();
		free(s->root);
		return snap_error_set(err, r, "open vfs driver on %s: %s", opts->root, strerror(-r));
	}
	s->notice = opts->notice;
	s->notice_ctx = opts->notice_ctx;
	*state = TAKE_PTR(s);
	return 0;
}

static void vfs_close(void *state)
{
	struct vfs_state *s = state;
	if (!s)
		return;
	if (s->rootfd >= 0)
		close(s->rootfd);
	free(s->root);
	free(s);
}

static bool has_parent(const struct snap_chain *parents)
{
	return parents && parents->n > 0;
}

/* The snapshot's own directory, opened for *at() calls. */
static int open_snap_dir(const struct snap_ref *snap, const char *what, struct snap_error *err)
{
	int fd = open(snap->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "%s snapshot '%s' (id %llu): open %s: %s", what,
				      snap->key, (unsigned long long)snap->id, snap->path, strerror(errno));
	return fd;
}

static int create_empty(int dir, const struct snap_ref *snap, struct snap_error *err)
{
	if (mkdirat(dir, VFS_FS, 0755) < 0)
		return snap_error_set(err, negative_errno(), "create snapshot '%s' (id %llu): mkdir %s/" VFS_FS ": %s",
				      snap->key, (unsigned long long)snap->id, snap->path, strerror(errno));
	/* mkdir's mode went through the umask; the root of a tree is 0755. */
	if (fchmodat(dir, VFS_FS, 0755, 0) < 0)
		return snap_error_set(err, negative_errno(), "create snapshot '%s' (id %llu): chmod %s/" VFS_FS ": %s",
				      snap->key, (unsigned long long)snap->id, snap->path, strerror(errno));
	return 0;
}

/* A copy of the parent's tree, chowned to the host ids of `remap` before
 * it is published when that is non-NULL; the cost then goes in *summary. */
static int create_copy(int dir, const struct snap_ref *snap, const struct snap_ref *parent,
		       const struct snap_idmap *remap, char *summary, size_t size, struct snap_error *err)
{
	_cleanup_close_ int pdir = open(parent->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int src = pdir < 0 ? -EBADF : openat(pdir, VFS_FS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		return snap_error_set(err, negative_errno(),
				      "create snapshot '%s' (id %llu): open parent '%s' tree %s/" VFS_FS ": %s", snap->key,
				      (unsigned long long)snap->id, parent->key, parent->path, strerror(errno));

	/* A staging leftover from a crashed create of this id is garbage. */
	int r = snap_rm_rf_at(dir, VFS_FS_STAGING);
	if (r < 0)
		return snap_error_set(err, r, "create snapshot '%s' (id %llu): remove stale %s/" VFS_FS_STAGING ": %s",
				      snap->key, (unsigned long long)snap->id, snap->path, strerror(-r));
	if (mkdirat(dir, VFS_FS_STAGING, 0700) < 0)
		return snap_error_set(err, negative_errno(), "create snapshot '%s' (id %llu): mkdir %s/" VFS_FS_STAGING ": %s",
				      snap->key, (unsigned long long)snap->id, snap->path, strerror(errno));
	_cleanup_close_ int dst = openat(dir, VFS_FS_STAGING, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		r = snap_error_set(err, negative_errno(), "open %s/" VFS_FS_STAGING ": %s", snap->path, strerror(errno));
	if (r == 0)
		r = vfs_copy_tree_at(src, dst, NULL, NULL, err);
	if (r == 0 && remap)
		r = vfs_remap_tree(dir, dst, remap, summary, size, err);
	if (r == 0 && renameat(dir, VFS_FS_STAGING, dir, VFS_FS) < 0)
		r = snap_error_set(err, negative_errno(), "rename %s/" VFS_FS_STAGING " to " VFS_FS ": %s", snap->path,
				   strerror(errno));
	if (r < 0) {
		(void)snap_rm_rf_at(dir, VFS_FS_STAGING);
		return snap_error_prefix(err, "create snapshot '%s' (id %llu) from '%s'", snap->key,
					 (unsigned long long)snap->id, parent->key);
	}
	return 0;
}

static int vfs_create(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		      struct snap_error *err)
{
	if (snap->kind != SNAP_KIND_ACTIVE && snap->kind != SNAP_KIND_VIEW)
		return snap_error_set(err, -EINVAL, "create snapshot '%s' (id %llu): kind %d is neither active nor view",
				      snap->key, (unsigned long long)snap->id, snap->kind);
	struct vfs_state *s = state;
	_cleanup_free_ struct snap_idmap *map = malloc(sizeof(*map));
	if (!map)
		return snap_error_set(err, -ENOMEM, "create snapshot '%s': out of memory", snap->key);
	int r = vfs_remap_wanted(s->rootfd, snap, map, err);
	if (r < 0)
		return snap_error_prefix(err, "create snapshot '%s' (id %llu)", snap->key, (unsigned long long)snap->id);
	bool remap = r > 0;
	/* snapctl.size: the snapshot's directory becomes a project before
	 * the copy is made in it (the copy of the parent counts too). */
	r = snap_prjquota_from_label(snap, err);
	if (r < 0)
		return snap_error_prefix(err, "create snapshot '%s' (id %llu)", snap->key, (unsigned long long)snap->id);
	/* The parent is committed, so it never changes: a view of it is its
	 * own tree mounted read-only, and there is nothing to make here
	 * (unless it must be chowned: then the view is a chowned copy). */
	if (snap->kind == SNAP_KIND_VIEW && has_parent(parents) && !remap)
		return 0;
	_cleanup_close_ int dir = open_snap_dir(snap, "create", err);
	if (dir < 0)
		return dir;
	char summary[256] = "";
	if (!has_parent(parents)) {
		r = create_empty(dir, snap, err);
		_cleanup_close_ int fs = r < 0 || !remap ? -EBADF : openat(dir, VFS_FS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r == 0 && remap)
			r = fs < 0 ? snap_error_set(err, negative_errno(), "open %s/" VFS_FS ": %s", snap->path, strerror(errno))
				   : vfs_remap_tree(dir, fs, map, summary, sizeof(summary), err);
	} else {
		r = create_copy(dir, snap, &parents->refs[0], remap ? map : NULL, summary, sizeof(summary), err);
	}
	if (r == 0 && remap && s->notice) {
		char msg[384];
		snprintf(msg, sizeof(msg), "snapshot '%.64s': %s", snap->key, summary);
		s->notice(s->notice_ctx, msg);
	}
	return r;
}

static int vfs_mounts(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		      struct snap_mount_list *out, struct snap_error *err)
{
	bool view = snap->kind == SNAP_KIND_VIEW;
	const struct snap_ref *owner = view && has_parent(parents) && !vfs_remapped(snap) ? &parents->refs[0] : snap;
	_cleanup_free_ char *source = NULL;
	if (asprintf(&source, "%s/" VFS_FS, owner->path) < 0)
		return snap_error_set(err, -ENOMEM, "mounts of snapshot '%s': %s", snap->key, strerror(ENOMEM));
	_cleanup_free_ char *um = NULL, *gm = NULL;
	int r = vfs_idmap_options(snap, &um, &gm);
	if (r < 0)
		return snap_error_set(err, r, "mounts of snapshot '%s': %s", snap->key, strerror(-r));
	const char *options[] = { "rbind", view ? "ro" : "rw", um, gm };
	r = out->add(out, "bind", source, options, r > 0 ? 4 : 2);
	if (r < 0)
		return snap_error_set(err, r, "mounts of snapshot '%s' (id %llu): %s", snap->key,
				      (unsigned long long)snap->id, strerror(-r));
	return 0;
}

static int vfs_commit(void *state, const struct snap_ref *snap, struct snap_error *err)
{
	/* The copy is the committed tree as it is; only check it is there, so
	 * a snapshot whose tree was lost cannot become a parent. */
	_cleanup_close_ int dir = open_snap_dir(snap, "commit", err);
	if (dir < 0)
		return dir;
	struct stat st;
	if (fstatat(dir, VFS_FS, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return snap_error_set(err, negative_errno(), "commit snapshot '%s' (id %llu): %s/" VFS_FS ": %s",
				      snap->key, (unsigned long long)snap->id, snap->path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return snap_error_set(err, -ENOTDIR, "commit snapshot '%s' (id %llu): %s/" VFS_FS ": %s", snap->key,
				      (unsigned long long)snap->id, snap->path, strerror(ENOTDIR));
	return 0;
}

static int vfs_remove(void *state, const struct snap_ref *snap, struct snap_error *err)
{
	_cleanup_close_ int dir = open(snap->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0 && errno == ENOENT)
		return 0;
	if (dir < 0)
		return snap_error_set(err, negative_errno(), "remove snapshot '%s' (id %llu): open %s: %s", snap->key,
				      (unsigned long long)snap->id, snap->path, strerror(errno));
	snap_prjquota_release_path(snap->path);
	static const char *const names[] = { VFS_FS, VFS_FS_STAGING, VFS_REMAP_FILE };
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		int r = snap_rm_rf_at(dir, names[i]);
		if (r < 0)
			return snap_error_set(err, r, "remove snapshot '%s' (id %llu): remove %s/%s: %s", snap->key,
					      (unsigned long long)snap->id, snap->path, names[i], strerror(-r));
	}
	return 0;
}

static int vfs_usage(void *state, const struct snap_ref *snap, struct snap_usage *out, struct snap_error *err)
{
	_cleanup_close_ int dir = open_snap_dir(snap, "usage of", err);
	if (dir < 0)
		return dir;
	_cleanup_close_ int fs = openat(dir, VFS_FS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fs < 0 && errno == ENOENT && snap->kind == SNAP_KIND_VIEW) {
		/* A view of a parent holds nothing of its own. */
		*out = (struct snap_usage){ 0, 0 };
		return 0;
	}
	if (fs < 0)
		return snap_error_set(err, negative_errno(), "usage of snapshot '%s' (id %llu): open %s/" VFS_FS ": %s",
				      snap->key, (unsigned long long)snap->id, snap->path, strerror(errno));
	int r = snap_usage_at(fs, SNAP_USAGE_ROOT, out, err);
	if (r < 0)
		return snap_error_prefix(err, "usage of snapshot '%s' (id %llu)", snap->key,
					 (unsigned long long)snap->id);
	return 0;
}

static int vfs_open_tree(void *state, const struct snap_ref *snap, int *ret_dirfd, struct snap_error *err)
{
	if (snap->kind == SNAP_KIND_VIEW)
		return snap_error_set(err, -EROFS, "open tree of snapshot '%s' (id %llu): a view is read-only",
				      snap->key, (unsigned long long)snap->id);
	_cleanup_close_ int dir = open_snap_dir(snap, "open tree of", err);
	if (dir < 0)
		return dir;
	int fd = openat(dir, VFS_FS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "open tree of snapshot '%s' (id %llu): %s/" VFS_FS ": %s",
				      snap->key, (unsigned long long)snap->id, snap->path, strerror(errno));
	*ret_dirfd = fd;
	return 0;
}

static int vfs_info(void *state, void (*emit)(void *ctx, const char *key, const char *value), void *ctx,
		    struct snap_error *err)
{
	struct vfs_state *s = state;
	emit(ctx, "layout", "snapshots/<id>/fs: a full copy per active snapshot; views bind their parent");
	char limits[SNAP_ERROR_MSG_MAX];
	snap_prjquota_describe(s->root, limits, sizeof(limits));
	emit(ctx, "size-limits", limits);
	bool reflink = false, cfr = false;
	int r = snap_copy_probe(s->rootfd, &reflink, &cfr);
	if (r < 0) {
		char why[128];
		snprintf(why, sizeof(why), "unknown (probe in %s: %s)", s->root, strerror(-r));
		emit(ctx, "copy-method", why);
		return 0;
	}
	emit(ctx, "reflink", reflink ? "yes" : "no");
	emit(ctx, "copy_file_range", cfr ? "yes" : "no");
	emit(ctx, "copy-method", reflink ? "reflink" : cfr ? "copy_file_range" : "read/write");
	return 0;
}

const struct snap_driver snap_vfs_driver = {
	.abi_version = SNAP_DRIVER_ABI_VERSION,
	.name = SNAP_DRIVER_NAME("vfs"),
	.caps = 0,
	.probe = vfs_probe,
	.open = vfs_open,
	.close = vfs_close,
	.create = vfs_create,
	.mounts = vfs_mounts,
	.commit = vfs_commit,
	.remove = vfs_remove,
	.usage = vfs_usage,
	.open_tree = vfs_open_tree,
	.info = vfs_info,
};
