/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl driver ABI.
 *
 * A driver is a versioned table of function pointers, in the manner of
 * sqlite's sqlite3_vfs: `abi_version` comes first, methods are only ever
 * appended (each new one marked "since vN"), and optional fast paths may be
 * NULL, in which case the core falls back to its generic implementation.
 *
 * The core never calls a method directly; it goes through one wrapper per
 * method (core/snapshot/driver-call.c) that checks arguments and postconditions.
 *
 * A driver knows nothing of sqlite, images or the CLI.  It is handed a
 * snapshot reference (a numeric id and its own directory), the parent chain
 * and options, and does filesystem work only.
 *
 * Conventions for every method:
 *   - returns 0 on success or a negative errno on failure;
 *   - on failure fills *err (snap_error_set) with a message that names the
 *     operation, the object and the cause;
 *   - never prints, never exits, never changes the process' cwd or umask;
 *   - every fd it opens is O_CLOEXEC and closed before returning.
 *
 * Out-of-tree drivers are shared objects exporting one symbol,
 * SNAP_PLUGIN_ENTRY_SYMBOL, of type `const struct snap_plugin`.
 */
#ifndef SNAPCTL_DRIVER_H
#define SNAPCTL_DRIVER_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SNAP_DRIVER_ABI_MAJOR 1
#define SNAP_DRIVER_ABI_MINOR 2
#define SNAP_DRIVER_ABI_VERSION ((SNAP_DRIVER_ABI_MAJOR << 16) | SNAP_DRIVER_ABI_MINOR)
#define SNAP_ABI_MAJOR_OF(v) ((int)((unsigned)(v) >> 16))
#define SNAP_ABI_MINOR_OF(v) ((int)((unsigned)(v) & 0xffffu))

#if defined(__GNUC__)
#define SNAP_EXPORT __attribute__((visibility("default")))
#define SNAP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SNAP_EXPORT
#define SNAP_PRINTF(a, b)
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

#define SNAP_ERROR_MSG_MAX 1024

/*
 * The error object that travels down a call.  `code` is a negative errno
 * (0 while no error is set); `message` reads "<what> <object>: <why>",
 * e.g. "create snapshot 'k1' (id 7): mkdir snapshots/7/fs: No space left on device".
 */
struct snap_error {
	int code;
	char message[SNAP_ERROR_MSG_MAX];
};

/*
 * Set *err (if non-NULL) and return `code`, which must be a negative errno.
 * Use as:  return snap_error_set(err, -errno, "mount %s: %s", t, strerror(errno));
 * A message already set is replaced.
 */
static inline SNAP_PRINTF(3, 4) int snap_error_set(struct snap_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

/*
 * Prefix the message already in *err with more context, keeping its code:
 * "prepare 'k1': " + "create ...".  Returns err->code (or -EIO if unset).
 */
static inline SNAP_PRINTF(2, 3) int snap_error_prefix(struct snap_error *err, const char *fmt, ...)
{
	if (!err)
		return -EIO;
	char prefix[SNAP_ERROR_MSG_MAX], old[SNAP_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	/* A message that no longer fits is cut and ends in "..." so the cut shows. */
	if (snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old) >= (int)sizeof(err->message))
		memcpy(err->message + sizeof(err->message) - 4, "...", 4);
	if (err->code == 0)
		err->code = -EIO;
	return err->code;
}

static inline void snap_error_clear(struct snap_error *err)
{
	if (err) {
		err->code = 0;
		err->message[0] = '\0';
	}
}

/* ------------------------------------------------------------------------ */
/* Snapshots handed to a driver                                             */

/* Same numbering as containerd's snapshots.Kind. */
enum snap_kind {
	SNAP_KIND_UNKNOWN = 0,
	SNAP_KIND_VIEW = 1,      /* active, read-only */
	SNAP_KIND_ACTIVE = 2,    /* active, writable */
	SNAP_KIND_COMMITTED = 3, /* immutable, may be a parent */
};

struct snap_label {
	const char *key;
	const char *value;
};

/*
 * One snapshot as a driver sees it.  `path` is ROOT/snapshots/<id>, an
 * absolute path created (empty, mode 0700) by the core before `create` and
 * owned by the driver from then on; the driver lays out its contents there
 * (overlay: fs/ and work/; btrfs: a subvolume at fs/; vfs: fs/).
 */
struct snap_ref {
	uint64_t id;
	const char *key;  /* the user's key, for messages only */
	const char *path; /* ROOT/snapshots/<id> */
	int kind;         /* enum snap_kind */
	const struct snap_label *labels;
	size_t n_labels;
	/* When the snapshot's tree was fully built (create had returned),
	 * in ns since the epoch from CLOCK_REALTIME_COARSE, the clock inode
	 * ctimes come from: an entry whose ctime is earlier was copied or
	 * shared by create and never written since.  0: unknown (a snapshot
	 * prepared before the core recorded it, or a core older than this
	 * field, which left it zero): every entry may have been written.
	 * Since v1.1's reserved space; the fast diffs hand it to the shared
	 * comparison (core/layer/entry-compare.h). */
	int64_t prepared_ns;
	uint64_t reserved[3];
};

/* The parents of a snapshot, nearest first; all are committed. */
struct snap_chain {
	const struct snap_ref *refs;
	size_t n;
};

/* Look up a label on a ref; NULL when absent. */
static inline const char *snap_ref_label(const struct snap_ref *ref, const char *key)
{
	for (size_t i = 0; i < ref->n_labels; i++)
		if (strcmp(ref->labels[i].key, key) == 0)
			return ref->labels[i].value;
	return NULL;
}

/*
 * Labels every driver honours on prepare/view (the core validates their
 * values before create is called):
 *   SNAP_LABEL_UIDMAPPING / SNAP_LABEL_GIDMAPPING  containerd 2.x's id
 *       mapping, "containerID:hostID:size[,...]": the snapshot is mounted
 *       with its files shown owned by the host ids (idmapped mount; no file
 *       is chowned where the filesystem can idmap), and files created through
 *       the mount by a host id land with the container id.  Both or neither.
 *   SNAP_LABEL_SIZE  limit in bytes of what the snapshot itself may hold
 *       (writes past it fail with ENOSPC/EDQUOT), where the driver can.
 */
#define SNAP_LABEL_UIDMAPPING "containerd.io/snapshot/uidmapping"
#define SNAP_LABEL_GIDMAPPING "containerd.io/snapshot/gidmapping"
#define SNAP_LABEL_SIZE "snapctl.size"

/* ------------------------------------------------------------------------ */
/* Results a driver fills through callbacks owned by the core               */

/*
 * Mount descriptions, in containerd's form (type, source, options), in the
 * order they must be mounted.  The driver calls add() once per mount; the
 * core copies the strings.
 */
struct snap_mount_list {
	void *opaque;
	int (*add)(struct snap_mount_list *list, const char *type, const char *source,
		   const char *const *options, size_t n_options);
	uint64_t reserved[4];
};

struct snap_usage {
	int64_t size;   /* bytes of disk the snapshot itself uses */
	int64_t inodes; /* inodes the snapshot itself holds */
};

enum snap_change_kind {
	SNAP_CHANGE_ADD = 1,
	SNAP_CHANGE_MODIFY = 2,
	SNAP_CHANGE_DELETE = 3,
};

/*
 * Receives the changes of a snapshot against its parent, in any order; the
 * core sorts them, adds parent directories and writes the layer.
 * `path` is relative to the snapshot root, without a leading '/', '/'-separated.
 * For ADD and MODIFY, `src_dirfd` is a directory fd of a tree in which `path`
 * resolves to the new entry (the core reads metadata and data there, without
 * following symlinks out of it); the fd must stay open until the driver's
 * diff method returns.  For DELETE it is ignored (-1).
 */
struct snap_change_sink {
	void *opaque;
	int (*change)(struct snap_change_sink *sink, int kind, const char *path, int src_dirfd);
	uint64_t reserved[4];
};

/* Options handed to open(). */
struct snap_driver_opts {
	const char *root;          /* ROOT, absolute */
	const char *btrfs_size;    /* --btrfs-size, e.g. "16G" */
	unsigned flags;            /* SNAP_OPEN_* */
	void (*notice)(void *ctx, const char *message); /* one-line notices for the user; may be NULL */
	void *notice_ctx;
	uint64_t reserved[4];
};

#define SNAP_OPEN_CREATE 0x1u /* the root is being initialised with this driver */

/* Driver capability flags. */
#define SNAP_DRIVER_CAP_FAST_DIFF 0x1u  /* diff() reads only what changed */
#define SNAP_DRIVER_CAP_O1_CREATE 0x2u  /* create() does not copy the parent */
/* since v1: open_tree() of a COMMITTED snapshot gives its whole tree (no
 * layers below it to merge), read-only on disk (btrfs: the read-only
 * subvolume).  The core then reads a committed tree there to diff or verify
 * it, instead of creating, mounting and removing a view of it.  A driver
 * that does not set it (older ones cannot) gets the view. */
#define SNAP_DRIVER_CAP_FROZEN_TREE 0x4u
/* since v1.2 (a flag: a core that predates it measures at commit as
 * before): usage() of an ACTIVE snapshot costs a flush of the whole
 * filesystem (btrfs: every writer's delalloc), so the core does not
 * measure it at commit.  It asks usage() of the COMMITTED snapshot when
 * someone wants it, and the driver keeps that cheap where it can (btrfs:
 * measured and kept when a child's create has flushed the parent anyway). */
#define SNAP_DRIVER_CAP_LATE_USAGE 0x8u

/* Whiteout request for apply_whiteout(). */
enum snap_whiteout_kind {
	SNAP_WHITEOUT_ENTRY = 1,  /* ".wh.NAME": hide NAME of the layers below */
	SNAP_WHITEOUT_OPAQUE = 2, /* ".wh..wh..opq": hide all of the directory's lower contents */
};

/* ------------------------------------------------------------------------ */
/* The driver                                                               */

struct snap_driver {
	int abi_version;  /* SNAP_DRIVER_ABI_VERSION the driver was built with */
	const char *name; /* [a-z0-9_-]+, unique */
	unsigned caps;    /* SNAP_DRIVER_CAP_* */

	/* Can the driver run for this root on this host?  0, or -errno with the
	 * reason (missing kernel feature, wrong filesystem).  Must not modify
	 * anything. */
	int (*probe)(const char *root, struct snap_error *err);

	/* Open the driver on ROOT; *state is handed to every other method. */
	int (*open)(const struct snap_driver_opts *opts, void **state, struct snap_error *err);
	void (*close)(void *state);

	/* Make the snapshot's contents under snap->path: ACTIVE = a writable
	 * copy (or CoW) of parents->refs[0], or empty without parents; VIEW = a
	 * read-only view of parents->refs[0].  On failure leave snap->path as
	 * the core created it (empty). */
	int (*create)(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		      struct snap_error *err);

	/* Describe how to mount the snapshot (containerd's form). */
	int (*mounts)(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		      struct snap_mount_list *out, struct snap_error *err);

	/* Freeze an ACTIVE snapshot: after this its tree never changes. */
	int (*commit)(void *state, const struct snap_ref *snap, struct snap_error *err);

	/* Remove the snapshot's contents; snap->path itself may remain (the core
	 * removes it).  Must succeed on a partially created snapshot. */
	int (*remove)(void *state, const struct snap_ref *snap, struct snap_error *err);

	/* Disk used by the snapshot itself (not its parents). */
	int (*usage)(void *state, const struct snap_ref *snap, struct snap_usage *out,
		     struct snap_error *err);

	/* Directory fd of the snapshot's own writable tree, where a layer is
	 * applied (vfs, btrfs: the full tree; overlay: the upper dir).  With
	 * SNAP_DRIVER_CAP_FROZEN_TREE also asked for a committed snapshot's
	 * tree, which the core only reads. */
	int (*open_tree)(void *state, const struct snap_ref *snap, int *ret_dirfd,
			 struct snap_error *err);

	/* ---- optional fast paths: may be NULL ---- */

	/* Changes of ACTIVE snap against parents->refs[0], sent to sink.  NULL or
	 * -EOPNOTSUPP (with the reason in err): the core walks both trees. */
	int (*diff)(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		    struct snap_change_sink *sink, struct snap_error *err);

	/* Record a whiteout of `name` (a single component) in directory
	 * `dirfd` of the tree given by open_tree.  NULL: the core deletes the
	 * entry (ENTRY) or the directory's contents from lower layers (OPAQUE). */
	int (*apply_whiteout)(void *state, int dirfd, const char *name, int kind,
			      struct snap_error *err);

	/* Mount the snapshot on `target` directly (e.g. with the new mount API
	 * for long lower chains).  NULL: the core mounts the list from mounts()
	 * with libmount.  flags: SNAP_MOUNT_*. */
	int (*mount)(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		     const char *target, unsigned flags, struct snap_error *err);

	/* Write "key: value" lines describing the driver (features probed,
	 * backing device, usage method) through emit().  May be NULL. */
	int (*info)(void *state, void (*emit)(void *ctx, const char *key, const char *value),
		    void *ctx, struct snap_error *err);

	/* since v1.2: make ACTIVE `snap`'s tree a writable copy of the tree
	 * of ACTIVE `src` as it is now (copy-on-write where the filesystem
	 * can: btrfs snapshots the subvolume).  `src` has the same parents as
	 * `snap` (parents).  Afterwards a diff of `snap` against
	 * parents->refs[0] finds what one of `src` would have found then,
	 * and usage counts what `snap` holds beyond its parents.  The core
	 * uses it to turn a container into its committed layer without
	 * applying the layer again.  NULL: not supported (the core applies
	 * the layer).  On failure leave snap->path as the core created it. */
	int (*clone)(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
		     const struct snap_ref *src, struct snap_error *err);

	/* Room to append methods without changing the struct's size for
	 * older plugins: a method added in minor N is only called when
	 * SNAP_ABI_MINOR_OF(abi_version) >= N and it is non-NULL. */
	void *reserved[7];
};

#define SNAP_MOUNT_RDONLY 0x1u
/* since v1: mount the snapshot's own ids, ignoring its uid/gidmapping
 * labels (the core's diff reads trees this way).  Only passed to drivers
 * of minor 1 or later. */
#define SNAP_MOUNT_NOIDMAP 0x2u

/* ------------------------------------------------------------------------ */
/* Plugins                                                                  */

#define SNAP_PLUGIN_ENTRY_SYMBOL "snap_driver_entry"
#define SNAP_PLUGIN_MAGIC 0x534e4150u /* "SNAP" */

/* The one symbol a plugin .so exports, named snap_driver_entry. */
struct snap_plugin {
	uint32_t magic;      /* SNAP_PLUGIN_MAGIC */
	uint16_t abi_major;  /* SNAP_DRIVER_ABI_MAJOR */
	uint16_t abi_minor;  /* SNAP_DRIVER_ABI_MINOR */
	const struct snap_driver *driver;
	const char *description;
	uint64_t reserved[6];
};

/* Define the entry symbol in a plugin's source:
 *   SNAP_PLUGIN_DEFINE(&my_driver, "my driver, one line");  */
#define SNAP_PLUGIN_DEFINE(drv, desc)                                                  \
	SNAP_EXPORT const struct snap_plugin snap_driver_entry = {                     \
		.magic = SNAP_PLUGIN_MAGIC,                                            \
		.abi_major = SNAP_DRIVER_ABI_MAJOR,                                    \
		.abi_minor = SNAP_DRIVER_ABI_MINOR,                                    \
		.driver = (drv),                                                       \
		.description = (desc),                                                 \
	}

#ifdef __cplusplus
}
#endif
#endif
