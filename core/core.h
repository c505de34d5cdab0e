/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The snapshotter core: one opened root (metadata database + driver) and
 * containerd's snapshotter semantics on top of it.
 *
 * Every function returns 0 or a negative errno and, on failure, fills *err
 * with "<what> <object>: <why>".  Output parameters (ret_*) are untouched on
 * failure.  The core never prints and never exits.
 *
 * Error codes follow containerd's errdefs so the CLI and the gRPC service can
 * map them: -ENOENT not found, -EEXIST already exists, -EINVAL invalid
 * argument (also a parent that is not committed, as containerd's storage
 * answers), -EBUSY/-ENOTEMPTY failed precondition (children exist, committing
 * a view, mounts of a committed snapshot), anything else is an
 * internal/unavailable error.
 *
 * Loader warnings (plugins that could not be loaded) go to opts->notice as
 * "warning: ..." lines while snap_core_open runs.
 *
 * A snap_core is used by one thread at a time (its sqlite connection and
 * statement cache are not shared); threads and processes that work on one
 * root at once each open their own core: the store serialises writers.
 */
#ifndef SNAP_CORE_H
#define SNAP_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <snapctl/driver.h>

#include "snapshot/labels.h"

struct sqlite3;
struct snap_core;
struct snap_loader;

struct snap_core_opts {
	const char *root;       /* state directory; created if missing */
	const char *driver;     /* "auto", "overlay", "btrfs", "vfs" or a plugin name */
	const char *plugin_dir; /* extra plugin directory, may be NULL */
	const char *btrfs_size; /* "16G" when NULL */
	void (*notice)(void *ctx, const char *message); /* one-line notices (stderr in the CLI) */
	void *notice_ctx;
	unsigned flags;         /* SNAP_CORE_* */
};

#define SNAP_CORE_READONLY 0x1u /* do not create the root if it does not exist */
#define SNAP_CORE_NO_BUILTINS 0x2u /* register plugins only (tests of a plugin that shares a builtin's name) */
/* For commands that only read: nothing under ROOT is created or written
 * (the metadata is opened read-only, no checkpoint, no driver probe), and
 * calls that write fail with -EROFS.  Where a reader cannot go on alone (a
 * root not made yet, a schema to migrate) the root is opened as a writer
 * would open it, so the answer is the same either way. */
#define SNAP_CORE_QUERY_ONLY 0x4u
/* Durability off (--sync=none, for scratch roots): layers, blobs and the
 * last metadata transaction of import/commit are not flushed; they reach
 * the disk when the kernel writes them back.  A crash of the process
 * still leaves an old or a new state; a power loss may lose or tear
 * anything done since the last writeback.  docs/core.md says more. */
#define SNAP_CORE_NO_SYNC 0x8u
/* --sync=full: every layer tree is synced (one syncfs of its filesystem)
 * before the snapshot that holds it is published, as `snapshot apply`
 * always does.  Without it (--sync=blob, the default) a layer unpacked
 * from a stored blob is published unsynced and recorded as pending
 * (core/pending-trees.c): after a reboot its tree is checked against its
 * diff ID and unpacked again from the blob when it does not match. */
#define SNAP_CORE_SYNC_TREES 0x10u

int snap_core_open(const struct snap_core_opts *opts, struct snap_core **ret, struct snap_error *err);
void snap_core_close(struct snap_core *core);
DEFINE_SNAP_CLEANUP(struct snap_core, snap_core_close)
/* Whether `name` ("auto", a built-in or a plugin's) is a driver an open
 * with `opts` could use; when not, `names` gets the available ones.
 * Nothing under any root is opened or made. */
bool snap_core_driver_known(const struct snap_core_opts *opts, const char *name, char *names, size_t len);

const char *snap_core_root(const struct snap_core *core);
const char *snap_core_driver_name(const struct snap_core *core);

/* The driver's own report (`snapctl info`'s "Driver details"), key by key
 * through the checking wrapper; a driver without an info method emits
 * nothing.  It also makes the driver probe what it probes lazily. */
int snap_core_driver_info(struct snap_core *core, void (*emit)(void *ctx, const char *key, const char *value),
			  void *ctx, struct snap_error *err);
struct sqlite3 *snap_core_db(struct snap_core *core);
struct snap_loader *snap_core_loader(struct snap_core *core);
/* Directory fd of ROOT (O_PATH), valid while the core is open. */
int snap_core_rootfd(const struct snap_core *core);
/* Opened with SNAP_CORE_NO_SYNC. */
bool snap_core_no_sync(const struct snap_core *core);
/* Opened with SNAP_CORE_SYNC_TREES (and not SNAP_CORE_NO_SYNC). */
bool snap_core_sync_trees(const struct snap_core *core);

/* The recovery of layer trees left pending by an earlier boot (it needs the
 * layer engine, which only some executables link): registered once by
 * such an executable, run by every writer's open that finds such trees.
 * Returns 0 or -errno with err set; the open goes on either way (what is
 * left is reported by check). */
typedef int (*snap_pending_recover_fn)(struct snap_core *core, struct snap_error *err);
void snap_core_set_pending_recover(snap_pending_recover_fn fn);

/* ---- namespaces --------------------------------------------------------- */

/*
 * Snapshots belong to a containerd namespace, as in containerd's metadata
 * store: a key is unique within its namespace, and every call by key (stat,
 * prepare and its parent, commit, remove, walk...) sees only the core's
 * current namespace.  A new core works in '' (the CLI's namespace, where
 * images, containers and their layers live).  The gRPC service sets the
 * caller's namespace (the containerd-namespace header) for each call.
 *
 * ns NULL takes each key's namespace from the key itself, the way
 * containerd names the snapshots it keeps in a proxy snapshotter
 * ("NS/ID/KEY"; containerd sends no namespace header to a proxy plugin):
 * a key without a valid first component is -EINVAL, a parent or a
 * committed name in another namespace than the key's is -EINVAL, and walk
 * lists the snapshots whose key begins with their namespace (never the
 * CLI's: containerd's garbage collector removes whatever it walks and does
 * not know).
 *
 * A namespace is '' or a containerd identifier: [A-Za-z0-9]+ joined by
 * single '.', '_' or '-', at most SNAP_NAMESPACE_MAX characters.  -EINVAL
 * otherwise.
 */
#define SNAP_NAMESPACE_MAX 76
int snap_core_set_namespace(struct snap_core *core, const char *ns, struct snap_error *err);
/* containerd's identifiers.Validate (the empty string is not one). */
bool snap_namespace_valid(const char *ns);

/* ---- snapshots ---------------------------------------------------------- */

struct snap_info {
	uint64_t id;
	char *key;
	char *parent; /* NULL without parent */
	int kind;     /* enum snap_kind */
	struct snap_labels labels;
	int64_t created_ns; /* CLOCK_REALTIME, nanoseconds */
	int64_t updated_ns;
};
void snap_info_done(struct snap_info *info);

/* A mount description owned by the caller (containerd form). */
struct snap_mount {
	char *type;
	char *source;
	char **options; /* NULL-terminated */
	size_t n_options;
};
struct snap_mounts {
	struct snap_mount *v;
	size_t n;
};
void snap_mounts_done(struct snap_mounts *m);

/* containerd Prepare / View.  `parent` may be NULL or "" (no parent) and must
 * name a committed snapshot.  ret_mounts may be NULL. */
int snap_prepare(struct snap_core *core, const char *key, const char *parent,
		 const struct snap_labels *labels, struct snap_mounts *ret_mounts,
		 struct snap_error *err);
int snap_view(struct snap_core *core, const char *key, const char *parent,
	      const struct snap_labels *labels, struct snap_mounts *ret_mounts,
	      struct snap_error *err);
/* Commit active `key` as committed `name`; `key` disappears.  Views cannot
 * be committed (-EINVAL... FailedPrecondition: -EBUSY). */
int snap_commit(struct snap_core *core, const char *name, const char *key,
		const struct snap_labels *labels, struct snap_error *err);
/* Remove; -EBUSY ("has children") while children exist. */
int snap_remove(struct snap_core *core, const char *key, struct snap_error *err);
int snap_stat(struct snap_core *core, const char *key, struct snap_info *ret, struct snap_error *err);
/* Update labels.  With paths == NULL every label is replaced by `labels`;
 * otherwise only the named "labels.K" (or "labels") paths change, a key
 * absent from `labels` is removed.  Returns the new info in ret (may be NULL). */
int snap_update(struct snap_core *core, const char *key, const struct snap_labels *labels,
		const char *const *paths, size_t n_paths, struct snap_info *ret,
		struct snap_error *err);
/* Merge label edits "K=V" (set) and "K=" (remove). */
int snap_label_edit(struct snap_core *core, const char *key, const struct snap_labels *edits,
		    struct snap_error *err);
int snap_mounts_get(struct snap_core *core, const char *key, struct snap_mounts *ret,
		    struct snap_error *err);
/* Usage of the snapshot itself: committed = stored at commit, active = asked
 * from the driver now. */
int snap_usage_get(struct snap_core *core, const char *key, struct snap_usage *ret,
		   struct snap_error *err);

/* Walk snapshots in key order.  Filters are containerd-style strings joined
 * by OR across entries and AND within one entry by ','; each clause is
 * `name==V`, `parent==V`, `kind==active|view|committed`, `labels."K"==V`,
 * `labels.K` (present), or `!=` forms.  cb returns 0 to go on, >0 to stop,
 * <0 to fail. */
typedef int (*snap_walk_fn)(const struct snap_info *info, void *userdata);
int snap_walk(struct snap_core *core, const char *const *filters, size_t n_filters,
	      snap_walk_fn cb, void *userdata, struct snap_error *err);

/* Mount / unmount an active snapshot (or a view) on target. */
int snap_mount_at(struct snap_core *core, const char *key, const char *target, unsigned flags,
		  struct snap_error *err);
int snap_unmount_at(const char *target, struct snap_error *err);

/* The parent chain of `key`, nearest first, as the driver sees it. */
struct snap_chain_owned {
	struct snap_ref self;
	struct snap_ref *parents;
	size_t n;
	void *storage; /* strings; freed by snap_chain_done */
};
int snap_chain_get(struct snap_core *core, const char *key, struct snap_chain_owned *ret,
		   struct snap_error *err);
void snap_chain_done(struct snap_chain_owned *c);

/* Call the driver (through the checking wrappers) for one of the core's own
 * jobs: the writable tree of an active snapshot. */
int snap_core_open_tree(struct snap_core *core, const char *key, int *ret_dirfd,
			struct snap_error *err);

/* containerd Cleanup: remove directories under snapshots/ and tmp/ that no
 * row references (leftovers of crashes). */
int snap_cleanup(struct snap_core *core, struct snap_error *err);

/* Fresh path for staging work under ROOT/tmp (removed by cleanup after a
 * crash).  Returns a newly allocated absolute path of a new empty dir. */
int snap_core_mkstaging(struct snap_core *core, const char *what, char **ret_path,
			struct snap_error *err);
/* The staging directory `path` (from snap_core_mkstaging) was renamed into
 * place or removed: drop the lock that kept cleanup away from it.  Locks not
 * dropped are released by snap_core_close. */
void snap_core_staging_done(struct snap_core *core, const char *path);

/* Monotonic ns clock and wall clock ns, for timestamps. */
int64_t snap_now_ns(void);

#endif
