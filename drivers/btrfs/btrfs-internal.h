/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the btrfs driver, shared by its files:
 *   btrfs.c     the vtable (create/mounts/commit/remove/open_tree/info)
 *   loopback.c  find or provision the btrfs that holds ROOT/snapshots
 *   subvol.c    libbtrfsutil wrappers, raw tree-search helpers, a
 *               subvolume's origin (btrfs_subvol_base)
 *   usage.c     per-snapshot disk usage
 *   qgroup.c    size limits (snapctl.size) as qgroup limits
 *   diff.c      the change list from inode generations
 *
 * Layout: ROOT/snapshots is on btrfs (ROOT itself is, or a loopback image
 * ROOT/btrfs.img is mounted on ROOT/snapshots); the core makes the plain
 * directory ROOT/snapshots/<id>, and the snapshot's tree is the subvolume
 * ROOT/snapshots/<id>/fs.  Small driver files beside it: "usage" (written at
 * commit).
 */
#ifndef SNAP_DRIVER_BTRFS_INTERNAL_H
#define SNAP_DRIVER_BTRFS_INTERNAL_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <snapctl/driver.h>

#define BTRFS_SUBVOL_NAME "fs"
/* A diff's read-only copy of an active snapshot's subvolume, beside "fs"
 * for the length of the diff (diff.c); remove_tree drops one a crash left. */
#define BTRFS_DIFF_COPY_PREFIX "diff.tmp."
#define BTRFS_USAGE_NAME "usage"
#define BTRFS_IMAGE_NAME "btrfs.img"
#define BTRFS_LOCK_NAME "btrfs.lock"
#define BTRFS_SNAPSHOTS_DIR "snapshots"
#define BTRFS_DEFAULT_SIZE "16G"

/* How ROOT/snapshots came to be on btrfs. */
enum btrfs_backing {
	BTRFS_BACKING_NATIVE = 1,   /* ROOT/snapshots was already on btrfs */
	BTRFS_BACKING_LOOPBACK = 2, /* our image, mounted on ROOT/snapshots */
};

/* Where the filesystem holding ROOT/snapshots lives. */
struct btrfs_backend {
	int backing;        /* enum btrfs_backing */
	char *snapdir;      /* ROOT/snapshots */
	char *device;       /* block device (/dev/loopN for the image); NULL if unknown */
	char *image;        /* ROOT/btrfs.img when loopback */
	bool provisioned;   /* this open created the image */
	bool attached;      /* this open attached the loop device and mounted it */
};

struct btrfs_state {
	char *root;
	int snapfd; /* O_PATH|O_DIRECTORY fd of ROOT/snapshots (the btrfs mount) */
	struct btrfs_backend be;
};

/* ---- loopback.c ---- */

/* Make ROOT/snapshots a btrfs: use it as is when it already is one, else
 * (re)attach and mount ROOT/btrfs.img on it, creating the image first when
 * missing.  Serialised between processes with flock on ROOT/btrfs.lock.
 * `fstype` is "btrfs" (a parameter so tests can exercise the error for a
 * kernel without it).  notice() is called once when something was created or
 * mounted.  Returns 0 or -errno with *err set. */
int btrfs_backend_setup(const struct snap_driver_opts *opts, const char *fstype,
			struct btrfs_backend *ret, struct snap_error *err);
void btrfs_backend_done(struct btrfs_backend *be);

/* Unmount ROOT/snapshots when it is the loopback mount; the loop device was
 * attached with autoclear, so the kernel detaches it with the last unmount.
 * Returns 0 (also when nothing is mounted) or -errno. */
int btrfs_backend_teardown(const char *root, struct snap_error *err);

/* ---- image.c ---- */

/* Create ROOT/btrfs.img: a sparse file of `size` bytes with a fresh btrfs,
 * made under a staging name and renamed into place last.  A full host
 * filesystem gives -ENOSPC with the free space in the message. */
int btrfs_image_create(int rootfd, const char *root, uint64_t size, struct snap_error *err);

/* ---- mountinfo.c ---- */

struct btrfs_mount_entry {
	char *source;
	char *target;
	char *fstype;
	char *superopts;
};
void btrfs_mount_entry_done(struct btrfs_mount_entry *m);
/* The mount `fd` is on; 0, -ENOENT, -EOPNOTSUPP (no STATX_MNT_ID) or -errno. */
int btrfs_mount_of_fd(int fd, struct btrfs_mount_entry *ret);
/* Block device of the filesystem mounted at or containing `fd`. */
int btrfs_mount_source(int fd, char **ret);

/* ---- subvol.c ---- */

/* All return 0 or -errno with *err naming the subvolume and the cause. */
int btrfs_subvol_create(int dirfd, const char *name, const char *what, struct snap_error *err);
int btrfs_subvol_snapshot(int srcfd, int dirfd, const char *name, bool readonly,
			  const char *what, struct snap_error *err);
int btrfs_subvol_set_readonly(int fd, bool ro, const char *what, struct snap_error *err);
int btrfs_subvol_delete(int dirfd, const char *name, const char *what, struct snap_error *err);
int btrfs_subvol_id(int fd, uint64_t *ret);

struct btrfs_subvol_facts {
	uint64_t id;
	uint64_t generation; /* last transaction that changed the tree */
	uint64_t otransid;   /* transaction the subvolume was created in */
	uint64_t ctransid;   /* last transaction that changed its contents */
	uint8_t uuid[16];
	uint8_t parent_uuid[16];
	bool readonly;
};
int btrfs_subvol_facts(int fd, struct btrfs_subvol_facts *ret);
/* The subvolume of that uuid on the filesystem of fd; -ENOENT when there is
 * none (never was, or deleted). */
int btrfs_subvol_facts_by_uuid(int fd, const uint8_t uuid[16], struct btrfs_subvol_facts *ret);

/*
 * Where a subvolume's own changes start.  A snapshot of a read-only
 * subvolume (a committed parent) owns what was written since its otransid.
 * A clone (btrfs.c, the driver's clone method) is a snapshot of a writable
 * subvolume, the active snapshot it copies, which was itself a snapshot of
 * the parent: what the clone holds beyond the parent was written since the
 * source's otransid.  So follow parent uuids while they name a writable
 * subvolume that still exists; `otransid` is the last one's creation and
 * `origin_uuid` its parent's uuid (the committed parent's, for a diff to
 * check).  A source deleted since ends the chain early: the diff then finds
 * the origin is not the parent and walks both trees.
 */
struct btrfs_subvol_base {
	uint64_t otransid;
	uint8_t origin_uuid[16];
	bool cloned; /* at least one writable source was followed */
};
void btrfs_subvol_base(int fd, const struct btrfs_subvol_facts *f, struct btrfs_subvol_base *ret);
/* Whether a tree search of the subvolume already sees everything it holds,
 * with no sync first: a read-only clone.  The snapshot ioctl that made it
 * wrote out its source's delalloc and delayed items, and nothing has
 * written it since (btrfs.c, btrfs_clone). */
static inline bool btrfs_subvol_complete(const struct btrfs_subvol_facts *f,
					 const struct btrfs_subvol_base *base)
{
	return f->readonly && base->cloned;
}

/*
 * Iterate items of tree `tree_id` with keys in [min, max] found in leaves
 * written in transaction `min_transid` or later (0: all), through
 * BTRFS_IOC_TREE_SEARCH_V2.  cb returns 0 to go on, 1 to stop, or -errno.
 * Returns 0 or -errno (the first error from the ioctl or cb).
 */
struct btrfs_search_item {
	uint64_t objectid;
	uint32_t type;
	uint64_t offset;
	uint64_t transid; /* generation of the leaf the item was read from */
	const void *data;
	uint32_t len;
};
typedef int (*btrfs_search_cb)(const struct btrfs_search_item *item, void *ctx);
int btrfs_tree_search(int fd, uint64_t tree_id, const struct btrfs_key *min,
		      const struct btrfs_key *max, uint64_t min_transid, btrfs_search_cb cb,
		      void *ctx);

/* Open ROOT/snapshots/<id>/fs (O_DIRECTORY|O_RDONLY) from a ref. */
int btrfs_open_subvol(const struct snap_ref *ref, int *ret_fd, struct snap_error *err);

/* ---- usage.c ---- */

/* Write out delalloc and delayed items first (BTRFS_IOC_SYNC: of the
 * whole filesystem), for a subvolume that may have some. */
#define BTRFS_USAGE_SYNC 0x1u
/* Count the extents written since the subvolume's creation even with
 * quotas on: a committed subvolume's qgroup exclusive bytes fall as
 * children come to share them, its own extents do not. */
#define BTRFS_USAGE_EXTENTS 0x2u
/* Measure only a clone (btrfs_subvol_base's `cloned`); 1 for any other. */
#define BTRFS_USAGE_CLONE_ONLY 0x4u
/* Bytes and inodes owned by the subvolume open at fd (BTRFS_USAGE_*
 * flags): 0, 1 (not measured, BTRFS_USAGE_CLONE_ONLY) or -errno.
 * `method` receives a static description of how it was measured. */
int btrfs_usage_measure(int fd, unsigned flags, struct snap_usage *out,
			const char **method, struct snap_error *err);
/* A committed snapshot's usage, kept beside its subvolume (BTRFS_USAGE_NAME). */
int btrfs_usage_store(int snapdirfd, const struct snap_usage *u);
int btrfs_usage_load(int snapdirfd, struct snap_usage *u);
bool btrfs_quotas_enabled(int fd);
/* How usage is measured now (quotas may be switched on or off any time). */
const char *btrfs_usage_method(int fd);

/* ---- qgroup.c ---- */

/* Quotas on, or -EOPNOTSUPP naming the mount point when they are off and
 * may_enable is false (a btrfs the driver did not make). */
int btrfs_quotas_ensure(int snapfd, bool may_enable, const char *mountpoint,
			struct snap_error *err);
/* Limit the exclusive bytes of the subvolume open at subvolfd. */
int btrfs_qgroup_limit(int subvolfd, uint64_t bytes, const char *what, struct snap_error *err);
/* Delete the qgroup of a deleted subvolume, best effort. */
void btrfs_qgroup_forget(int snapfd, uint64_t subvolid);

/* ---- diff.c ---- */
int btrfs_diff(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
	       struct snap_change_sink *sink, struct snap_error *err);

#endif
