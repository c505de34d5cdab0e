/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The btrfs driver's vtable.  Every snapshot's tree is the subvolume
 * ROOT/snapshots/<id>/fs: prepare snapshots the parent's subvolume (O(1),
 * block-level copy-on-write) or creates an empty one, a view is a read-only
 * snapshot, commit flips the subvolume read-only, remove deletes it, clone
 * snapshots an active snapshot's subvolume (commit's layer, no re-apply).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "btrfs.h"
#include "btrfs-internal.h"
#include "drivers/plugins/plugin-name.h"
#include "util/fs-util.h"
#include "util/idmap.h"
#include "util/macro.h"
#include "util/size-label.h"

#define WHAT_FMT "snapshot %" PRIu64 " ('%s')"
#define WHAT_ARGS(s) (s)->id, (s)->key ? (s)->key : ""

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		const char *e = strchrnul(path, ':');
		char buf[4096];
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - path), path, prog);
		if (access(buf, X_OK) == 0)
			return true;
		path = *e ? e + 1 : e;
	}
	return false;
}

static bool kernel_has_btrfs(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/filesystems", "re");
	if (!f)
		return true; /* cannot tell: let mount say */
	char line[128];
	while (fgets(line, sizeof(line), f)) {
		char *t = strrchr(line, '\t');
		if (t && strcmp(t + 1, "btrfs\n") == 0)
			return true;
	}
	/* A module not loaded yet is loaded by the first mount. */
	return access("/sys/module/btrfs", F_OK) == 0 ||
	       access("/lib/modules", F_OK) == 0;
}

static int btrfs_probe(const char *root, struct snap_error *err)
{
	/* ROOT/snapshots (or ROOT itself) already on btrfs: nothing else needed. */
	_cleanup_free_ char *snapdir = NULL;
	if (asprintf(&snapdir, "%s/" BTRFS_SNAPSHOTS_DIR, root) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");
	struct statfs sfs;
	if (statfs(snapdir, &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC)
		return 0;
	if (statfs(root, &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC)
		return 0;

	/* Otherwise the loopback image: btrfs in the kernel, loop devices,
	 * mkfs.btrfs, and the privilege to mount. */
	if (!kernel_has_btrfs())
		return snap_error_set(err, -ENODEV,
				      "btrfs: %s is not on btrfs and the kernel has no btrfs "
				      "support for a loopback image",
				      root);
	if (access("/dev/loop-control", R_OK | W_OK) < 0)
		return snap_error_set(err, negative_errno(),
				      "btrfs: %s is not on btrfs and /dev/loop-control is not "
				      "usable for a loopback image: %s",
				      root, strerror(errno));
	if (!in_path("mkfs.btrfs"))
		return snap_error_set(err, -ENOENT,
				      "btrfs: %s is not on btrfs and mkfs.btrfs is not installed "
				      "(btrfs-progs) to make a loopback image",
				      root);
	return 0;
}

static void btrfs_close(void *state)
{
	struct btrfs_state *st = state;
	if (!st)
		return;
	/* The mount stays: it is the root's storage (see loopback.c). */
	if (st->snapfd >= 0)
		close(st->snapfd);
	btrfs_backend_done(&st->be);
	free(st->root);
	free(st);
}

static int btrfs_open(const struct snap_driver_opts *opts, void **ret_state,
		      struct snap_error *err)
{
	if (!opts || !opts->root || opts->root[0] != '/')
		return snap_error_set(err, -EINVAL, "btrfs: open: the root must be an absolute path");
	struct btrfs_state *st = calloc(1, sizeof(*st));
	if (!st)
		return snap_error_set(err, -ENOMEM, "out of memory");
	st->snapfd = -EBADF;
	st->root = strdup(opts->root);
	if (!st->root) {
		btrfs_close(st);
		return snap_error_set(err, -ENOMEM, "out of memory");
	}
	int r = btrfs_backend_setup(opts, "btrfs", &st->be, err);
	if (r < 0) {
		btrfs_close(st);
		return snap_error_prefix(err, "btrfs: open %s", opts->root);
	}
	st->snapfd = open(st->be.snapdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->snapfd < 0) {
		r = snap_error_set(err, negative_errno(), "btrfs: open %s: %s", st->be.snapdir,
				   strerror(errno));
		btrfs_close(st);
		return r;
	}
	*ret_state = st;
	return 0;
}

/* The copies of diffs a crash cut short (diff.c, diff_copy). */
static void remove_diff_copies(int dirfd)
{
	_cleanup_(snap_names_done) struct snap_names names = { 0 };
	if (snap_dir_list_sorted(dirfd, NULL, &names) < 0)
		return;
	for (size_t i = 0; i < names.n; i++)
		if (strncmp(names.v[i], BTRFS_DIFF_COPY_PREFIX, strlen(BTRFS_DIFF_COPY_PREFIX)) == 0) {
			struct snap_error ignored = { 0 };
			(void)btrfs_subvol_delete(dirfd, names.v[i], "a diff's copy", &ignored);
		}
}

/* Remove a half-made "fs" in the snapshot dir: a subvolume or a plain dir
 * (and any diff's copy beside it). */
static int remove_tree(int dirfd, const struct snap_ref *snap, struct snap_error *err)
{
	remove_diff_copies(dirfd);
	struct stat stt;
	if (fstatat(dirfd, BTRFS_SUBVOL_NAME, &stt, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return snap_error_set(err, negative_errno(), "remove " WHAT_FMT ": stat %s/fs: %s",
				      WHAT_ARGS(snap), snap->path, strerror(errno));
	}
	char what[256];
	snprintf(what, sizeof(what), WHAT_FMT " (%s/fs)", WHAT_ARGS(snap), snap->path);
	if (S_ISDIR(stt.st_mode) && stt.st_ino == BTRFS_FIRST_FREE_OBJECTID)
		return btrfs_subvol_delete(dirfd, BTRFS_SUBVOL_NAME, what, err);
	int r = snap_rm_rf_at(dirfd, BTRFS_SUBVOL_NAME);
	if (r < 0)
		return snap_error_set(err, r, "remove %s: %s", what, strerror(-r));
	return 0;
}

/* A committed parent's usage, measured and kept beside it the first time
 * a child is made of it.  The snapshot that made the child wrote out the
 * parent's delalloc and delayed items (and only the parent's), so a tree
 * search now counts all it wrote, with no BTRFS_IOC_SYNC of the whole
 * filesystem.  Best effort: without it, usage measures with a sync. */
static void keep_parent_usage(const struct snap_ref *parent, int pfd)
{
	_cleanup_close_ int dirfd = open(parent->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct snap_usage u;
	struct snap_error ignored;
	if (dirfd < 0 || btrfs_usage_load(dirfd, &u) == 0)
		return;
	if (btrfs_usage_measure(pfd, BTRFS_USAGE_EXTENTS, &u, NULL, &ignored) == 0)
		(void)btrfs_usage_store(dirfd, &u);
}

/* Read-only: a view's tree, and a clone's (btrfs_clone). */
static int create_tree(const struct snap_ref *snap, const struct snap_chain *parents, bool ro,
		       struct snap_error *err)
{
	char what[256];
	snprintf(what, sizeof(what), WHAT_FMT " (%s/fs)", WHAT_ARGS(snap), snap->path);
	/* The ioctls need a real (not O_PATH) fd on the directory. */
	_cleanup_close_ int dirfd = open(snap->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return snap_error_set(err, negative_errno(), "create %s: open %s: %s", what,
				      snap->path, strerror(errno));
	int r;
	if (parents && parents->n > 0) {
		_cleanup_close_ int pfd = -EBADF;
		r = btrfs_open_subvol(&parents->refs[0], &pfd, err);
		if (r < 0)
			return snap_error_prefix(err, "create %s", what);
		r = btrfs_subvol_snapshot(pfd, dirfd, BTRFS_SUBVOL_NAME, ro, what, err);
		if (r == 0 && parents->refs[0].kind == SNAP_KIND_COMMITTED)
			keep_parent_usage(&parents->refs[0], pfd);
		return r;
	}
	r = btrfs_subvol_create(dirfd, BTRFS_SUBVOL_NAME, what, err);
	if (r < 0)
		return r;
	/* The kernel gives a new subvolume's root 0777 less the caller's
	 * umask; an empty snapshot's root is 0755 whatever the umask, like
	 * every driver's (containerd's RootPermission case).  On the fd: the
	 * name is not looked up again. */
	_cleanup_close_ int fd = openat(dirfd, BTRFS_SUBVOL_NAME,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		r = snap_error_set(err, negative_errno(), "open %s: %s", what, strerror(errno));
	else if (fchmod(fd, 0755) < 0)
		r = snap_error_set(err, negative_errno(), "chmod %s: %s", what, strerror(errno));
	/* An empty view: read-only like every other view. */
	else if (ro)
		r = btrfs_subvol_set_readonly(fd, true, what, err);
	if (r < 0) {
		struct snap_error ignored;
		(void)remove_tree(dirfd, snap, &ignored);
	}
	return r;
}

/* snapctl.size on an active snapshot: its subvolume's qgroup limit. */
static int apply_size_limit(struct btrfs_state *st, const struct snap_ref *snap, uint64_t bytes,
			    struct snap_error *err)
{
	char what[256];
	snprintf(what, sizeof(what), WHAT_FMT " (%s/fs)", WHAT_ARGS(snap), snap->path);
	_cleanup_close_ int fd = -EBADF;
	int r = btrfs_open_subvol(snap, &fd, err);
	if (r < 0)
		return r;
	return btrfs_qgroup_limit(fd, bytes, what, err);
}

static int btrfs_create(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
			struct snap_error *err)
{
	struct btrfs_state *st = state;
	const char *size = snap->kind == SNAP_KIND_ACTIVE ? snap_ref_label(snap, SNAP_LABEL_SIZE) : NULL;
	uint64_t bytes = 0;
	if (size && snap_size_label_parse(size, &bytes) < 0)
		return snap_error_set(err, -EINVAL, "create " WHAT_FMT ": " SNAP_LABEL_SIZE
				      " must be a byte count, not \"%s\"", WHAT_ARGS(snap), size);
	int r;
	if (size) {
		r = btrfs_quotas_ensure(st->snapfd, st->be.backing == BTRFS_BACKING_LOOPBACK,
					st->be.snapdir, err);
		if (r < 0)
			return snap_error_prefix(err, "create " WHAT_FMT, WHAT_ARGS(snap));
	}
	r = create_tree(snap, parents, snap->kind == SNAP_KIND_VIEW, err);
	if (r < 0 || !size)
		return r;
	r = apply_size_limit(st, snap, bytes, err);
	if (r < 0) {
		struct snap_error ignored;
		_cleanup_close_ int dirfd = open(snap->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd >= 0)
			(void)remove_tree(dirfd, snap, &ignored);
		return snap_error_prefix(err, "create " WHAT_FMT, WHAT_ARGS(snap));
	}
	return 0;
}

/* The subvolume of `src` snapshotted as snap's tree: what create does with
 * a parent, src standing in for it.  O(1), and what src wrote stays shared;
 * its diff and usage count from src's creation (btrfs_subvol_base).
 * Read-only from the start: a clone is a frozen copy (the core writes the
 * layer from it and commits it), and the snapshot ioctl wrote out src's
 * delalloc and delayed items before taking it, so a tree search of it
 * already sees everything it holds: its diff and its usage need no
 * BTRFS_IOC_SYNC, which would write every writer's delalloc on the
 * filesystem, not only src's. */
static int btrfs_clone(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		       const struct snap_ref *src, struct snap_error *err)
{
	(void)state;
	(void)parents;
	const struct snap_chain from = { .refs = src, .n = 1 };
	int r = create_tree(snap, &from, true, err);
	return r < 0 ? snap_error_prefix(err, "clone snapshot %" PRIu64, src->id) : 0;
}

static int btrfs_mounts(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
			struct snap_mount_list *out, struct snap_error *err)
{
	struct btrfs_state *st = state;
	_cleanup_close_ int fd = -EBADF;
	int r = btrfs_open_subvol(snap, &fd, err);
	if (r < 0)
		return snap_error_prefix(err, "mounts");
	const char *rw = snap->kind == SNAP_KIND_ACTIVE ? "rw" : "ro";
	/* containerd 2.x's uidmap=/gidmap= options: its mount code idmaps
	 * the mounted subvolume (btrfs can be idmapped). */
	_cleanup_free_ char *um = NULL, *gm = NULL;
	r = snap_idmap_mount_options(snap, &um, &gm);
	if (r < 0)
		return snap_error_set(err, r, "mounts " WHAT_FMT ": out of memory", WHAT_ARGS(snap));
	bool idmapped = r > 0;

	/* What containerd's own btrfs snapshotter returns: the block device
	 * with subvolid=N.  Any client can mount it, in any mount namespace
	 * that sees the device, without the path of ROOT. */
	struct stat dst;
	if (st->be.device && stat(st->be.device, &dst) == 0 && S_ISBLK(dst.st_mode)) {
		uint64_t id;
		r = btrfs_subvol_id(fd, &id);
		if (r < 0)
			return snap_error_set(err, r, "mounts " WHAT_FMT ": subvolume id: %s",
					      WHAT_ARGS(snap), strerror(-r));
		char opt[64];
		snprintf(opt, sizeof(opt), "subvolid=%" PRIu64, id);
		const char *const options[] = { opt, rw, um, gm };
		return out->add(out, "btrfs", st->be.device, options, idmapped ? 4 : 2);
	}

	/* No usable device node (a container without /dev/loopN, a
	 * multi-device filesystem we could not name): bind the subvolume. */
	_cleanup_free_ char *src = NULL;
	if (asprintf(&src, "%s/" BTRFS_SUBVOL_NAME, snap->path) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");
	const char *const options[] = { "rbind", rw, um, gm };
	return out->add(out, "bind", src, options, idmapped ? 4 : 2);
}

static int btrfs_mount(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		       const char *target, unsigned flags, struct snap_error *err)
{
	/* snapctl's own runtime: a bind mount of the subvolume needs no
	 * device node and no superblock lookup. */
	_cleanup_free_ char *src = NULL;
	if (asprintf(&src, "%s/" BTRFS_SUBVOL_NAME, snap->path) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");
	bool ro = (flags & SNAP_MOUNT_RDONLY) || snap->kind != SNAP_KIND_ACTIVE;
	_cleanup_free_ struct snap_idmap *map = malloc(sizeof(*map));
	if (!map)
		return snap_error_set(err, -ENOMEM, "out of memory");
	int idm = (flags & SNAP_MOUNT_NOIDMAP) ? 0 : snap_idmap_from_labels(snap->labels, snap->n_labels, map, err);
	if (idm < 0)
		return snap_error_prefix(err, "mount " WHAT_FMT, WHAT_ARGS(snap));
	if (idm > 0)
		return snap_idmap_bind(src, target, map, ro ? SNAP_IDMAP_RDONLY : 0, err);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return snap_error_set(err, negative_errno(), "bind mount %s on %s: %s", src,
				      target, strerror(errno));
	if (ro && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
		int r = negative_errno();
		(void)umount2(target, MNT_DETACH);
		return snap_error_set(err, r, "remount %s read-only: %s", target, strerror(-r));
	}
	return 0;
}

static int btrfs_commit(void *state, const struct snap_ref *snap, struct snap_error *err)
{
	(void)state;
	char what[256];
	snprintf(what, sizeof(what), WHAT_FMT " (%s/fs)", WHAT_ARGS(snap), snap->path);
	_cleanup_close_ int fd = -EBADF;
	int r = btrfs_open_subvol(snap, &fd, err);
	if (r < 0)
		return snap_error_prefix(err, "commit");
	/* Only a clone's usage is measured now: it counts what its source
	 * wrote since the source was made (btrfs_subvol_base), which only
	 * shows while the source lives, and a container is removed once
	 * committed.  Measured before the flag, so that a clone made writable
	 * (by a snapctl before 2026-12-06) is still synced first; a read-only
	 * one needs no sync (btrfs_subvol_complete).  Every other snapshot's
	 * usage is measured later (SNAP_DRIVER_CAP_LATE_USAGE,
	 * keep_parent_usage): now it would need BTRFS_IOC_SYNC, and every sync
	 * of a btrfs writes every writer's delalloc, not only this snapshot's. */
	struct snap_usage u;
	r = btrfs_usage_measure(fd, BTRFS_USAGE_SYNC | BTRFS_USAGE_EXTENTS | BTRFS_USAGE_CLONE_ONLY, &u,
				NULL, err);
	if (r < 0)
		return snap_error_prefix(err, "commit %s: usage", what);
	bool clone = r == 0;
	r = btrfs_subvol_set_readonly(fd, true, what, err);
	if (r < 0)
		return snap_error_prefix(err, "commit");
	if (!clone)
		return 0;
	_cleanup_close_ int dirfd = open(snap->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return snap_error_set(err, negative_errno(), "commit %s: open %s: %s", what, snap->path,
				      strerror(errno));
	r = btrfs_usage_store(dirfd, &u);
	if (r < 0)
		return snap_error_set(err, r, "commit %s: keep usage: %s", what, strerror(-r));
	return 0;
}

static int btrfs_remove(void *state, const struct snap_ref *snap, struct snap_error *err)
{
	_cleanup_close_ int dirfd = open(snap->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		if (errno == ENOENT)
			return 0;
		return snap_error_set(err, negative_errno(), "remove " WHAT_FMT ": open %s: %s",
				      WHAT_ARGS(snap), snap->path, strerror(errno));
	}
	/* The subvolume's qgroup outlives it: note its id to delete it too. */
	uint64_t subvolid = 0;
	{
		_cleanup_close_ int fd = openat(dirfd, BTRFS_SUBVOL_NAME,
						O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && btrfs_subvol_id(fd, &subvolid) < 0)
			subvolid = 0;
	}
	int r = remove_tree(dirfd, snap, err);
	if (r < 0)
		return r;
	struct btrfs_state *st = state;
	if (subvolid > BTRFS_FS_TREE_OBJECTID && btrfs_quotas_enabled(st->snapfd))
		btrfs_qgroup_forget(st->snapfd, subvolid);
	/* A staging file a crash left (usage.tmp.TID; usage.tmp before
	 * 2026-12) is removed by the core with the rest of the directory. */
	(void)unlinkat(dirfd, BTRFS_USAGE_NAME, 0);
	return 0;
}

static int btrfs_usage(void *state, const struct snap_ref *snap, struct snap_usage *out,
		       struct snap_error *err)
{
	if (snap->kind == SNAP_KIND_COMMITTED) {
		_cleanup_close_ int dirfd = open(snap->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd >= 0 && btrfs_usage_load(dirfd, out) == 0)
			return 0;
	}
	_cleanup_close_ int fd = -EBADF;
	int r = btrfs_open_subvol(snap, &fd, err);
	if (r < 0)
		return snap_error_prefix(err, "usage");
	/* A committed snapshot nothing was made of yet: sync, then count
	 * what it wrote (not kept: a reader writes nothing). */
	unsigned flags = BTRFS_USAGE_SYNC;
	if (snap->kind == SNAP_KIND_COMMITTED)
		flags |= BTRFS_USAGE_EXTENTS;
	r = btrfs_usage_measure(fd, flags, out, NULL, err);
	if (r < 0)
		return snap_error_prefix(err, "usage " WHAT_FMT, WHAT_ARGS(snap));
	return 0;
}

/* Active: the writable subvolume; committed (SNAP_DRIVER_CAP_FROZEN_TREE):
 * the read-only one, whole. */
static int btrfs_open_tree(void *state, const struct snap_ref *snap, int *ret_dirfd,
			   struct snap_error *err)
{
	int fd;
	int r = btrfs_open_subvol(snap, &fd, err);
	if (r < 0)
		return r;
	*ret_dirfd = fd;
	return 0;
}

static int btrfs_info(void *state, void (*emit)(void *ctx, const char *key, const char *value),
		      void *ctx, struct snap_error *err)
{
	struct btrfs_state *st = state;
	char buf[256];
	emit(ctx, "backing",
	     st->be.backing == BTRFS_BACKING_LOOPBACK
		     ? "loopback image mounted on ROOT/snapshots (unmount it to detach; autoclear)"
		     : "native btrfs");
	if (st->be.image) {
		emit(ctx, "image", st->be.image);
		emit(ctx, "this open",
		     st->be.provisioned ? "created the image and mounted it"
		     : st->be.attached  ? "mounted the existing image"
					: "found it mounted");
	}
	emit(ctx, "device", st->be.device ? st->be.device : "unknown");
	emit(ctx, "mountpoint", st->be.snapdir);
	struct statvfs sv;
	if (fstatvfs(st->snapfd, &sv) == 0) {
		snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)sv.f_blocks * sv.f_frsize);
		emit(ctx, "size", buf);
		snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)sv.f_bavail * sv.f_frsize);
		emit(ctx, "free", buf);
	}
	bool quotas = btrfs_quotas_enabled(st->snapfd);
	emit(ctx, "quotas", quotas ? "enabled" : "disabled");
	if (quotas || st->be.backing == BTRFS_BACKING_LOOPBACK)
		emit(ctx, "size-limits",
		     quotas ? "yes: qgroup limit on the subvolume's exclusive bytes"
			    : "yes: qgroup limit on the subvolume's exclusive bytes (quotas are "
			      "enabled on the loopback image by the first snapshot with a limit)");
	else
		emit(ctx, "size-limits",
		     "no: quotas are disabled on this btrfs (not made by snapctl; enable them "
		     "with btrfs quota enable MOUNTPOINT)");
	emit(ctx, "usage method", btrfs_usage_method(st->snapfd));
	emit(ctx, "diff",
	     "inodes changed since the parent's generation (tree search), falls back to the "
	     "generic walk");
	emit(ctx, "mounts", "btrfs subvolid=N on the device (bind of the subvolume without one)");
	return 0;
}

const struct snap_driver snap_btrfs_driver = {
	.abi_version = SNAP_DRIVER_ABI_VERSION,
	.name = SNAP_DRIVER_NAME("btrfs"),
	/* A committed snapshot is a read-only subvolume holding its whole
	 * tree: the core reads it there rather than through a view, which
	 * here is a snapshot of its own (see core/layer/layer.c). */
	.caps = SNAP_DRIVER_CAP_FAST_DIFF | SNAP_DRIVER_CAP_O1_CREATE | SNAP_DRIVER_CAP_FROZEN_TREE |
		SNAP_DRIVER_CAP_LATE_USAGE,
	.probe = btrfs_probe,
	.open = btrfs_open,
	.close = btrfs_close,
	.create = btrfs_create,
	.mounts = btrfs_mounts,
	.commit = btrfs_commit,
	.remove = btrfs_remove,
	.usage = btrfs_usage,
	.open_tree = btrfs_open_tree,
	.diff = btrfs_diff,
	.apply_whiteout = NULL,
	.mount = btrfs_mount,
	.info = btrfs_info,
	.clone = btrfs_clone,
};
