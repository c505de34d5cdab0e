/* SPDX-License-Identifier: Apache-2.0 */
/* What check.c, mount.c and the benchmark need from an opened core; not for
 * drivers or the CLI. */
#ifndef SNAP_CORE_INTERNAL_H
#define SNAP_CORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "store.h"

struct snap_loader;

/* The opened driver and its state, for the core's own calls through
 * snapshot/driver-call.h (front ends use snap_core_driver_info). */
const struct snap_driver *snap_core_driver(struct snap_core *core);
void *snap_core_driver_state(struct snap_core *core);

/* An opened root.  Made and torn down by core-open.c; snapshotter.c and
 * check.c read its fields. */

/* A staging directory this core made, and the lock that marks it alive. */
struct staging {
	int fd;
	char *path;
};

struct snap_core {
	char *root;
	int rootfd;
	int snapfd;
	int tmpfd;
	struct snap_store *store;
	struct snap_loader *loader;
	const struct snap_driver *drv;
	void *drv_state;
	void (*notice)(void *ctx, const char *message);
	void *notice_ctx;
	struct staging *staging;
	size_t n_staging;
	/* The containerd namespace keys are looked up and created in ('' by
	 * default, the CLI's), or, with ns_from_key, the first component of
	 * each key (containerd's own keys, "NS/ID/KEY"). */
	char ns[SNAP_NAMESPACE_MAX + 1];
	bool ns_from_key;
	bool no_sync; /* SNAP_CORE_NO_SYNC */
	bool sync_trees; /* SNAP_CORE_SYNC_TREES */
};

struct snap_store *snap_core_store(struct snap_core *core);
/* O_RDONLY|O_DIRECTORY fds of ROOT/snapshots and ROOT/tmp. */
int snap_core_snapshots_fd(const struct snap_core *core);
int snap_core_tmp_fd(const struct snap_core *core);
/* One-line notice through the opener's callback (dropped without one). */
void snap_core_notice(struct snap_core *core, const char *fmt, ...) SNAP_PRINTF(2, 3);
/* "ROOT/snapshots/<id>" into buf. */
void snap_core_snapshot_path(const struct snap_core *core, uint64_t id, char *buf, size_t size);

/* Try to take the exclusive lock a live operation holds on its snapshot or
 * staging directory (flock on the directory).  Returns the locked fd,
 * -EWOULDBLOCK when a live process holds it, or another -errno. */
int snap_dir_trylock_at(int dirfd, const char *name);
/* Close a lock fd from snap_dir_trylock_at (timed, see below); *fd = -EBADF. */
void snap_dir_unlock(int *fd);

/* Nanoseconds this thread spent in the core's own directory work (mkdir,
 * flock, rmdir, the close that evicts a removed directory): filesystem
 * time the core spends besides its metadata, reported apart by the
 * benchmark.  start/stop bracket such a syscall. */
uint64_t snap_core_dir_time_ns(void);
uint64_t snap_core_dir_timer_start(void);
void snap_core_dir_timer_stop(uint64_t start);

/* Remove a snapshot directory whose row is gone or never published: driver
 * remove (kind may be unknown), then the directory itself. */
int snap_core_remove_dir(struct snap_core *core, uint64_t id, const char *key, int kind,
			 struct snap_error *err);

/* The namespace `key` lives in for this core (core->ns, or the key's first
 * component with ns_from_key) into buf; -EINVAL when a key names none. */
int snap_core_key_namespace(const struct snap_core *core, const char *key, char buf[SNAP_NAMESPACE_MAX + 1],
			    struct snap_error *err);

/* The writable tree of snapshot row `id` (any namespace), committed or not:
 * for check and for a pending tree applied again (snap_drv_open_tree_repair). */
int snap_core_open_tree_id(struct snap_core *core, uint64_t id, const char *key, int kind, int *ret_dirfd,
			   struct snap_error *err);

/* An active snapshot `key` on the parent of active snapshot `src`, whose
 * tree is a copy of src's as it is now, made by the driver's clone method
 * (-EOPNOTSUPP without one); its prepared time is src's, so a diff of it
 * finds what one of src would.  For commit (core/image/image-unpack.c). */
int snap_core_clone(struct snap_core *core, const char *key, const char *src, struct snap_error *err);

/* snap_commit for the unpacker (core/image/image-unpack.c): the only commit
 * that may set labels under SNAP_LABEL_RESERVED_PREFIX, its proof that it
 * made and verified the layer snapshot.  pending (or NULL): the tree was
 * not synced; the row that publishes it records it (pending-trees.h). */
struct snap_pending_tree;
int snap_core_commit_proven(struct snap_core *core, const char *name, const char *key,
			    const struct snap_labels *labels, const struct snap_pending_tree *pending,
			    struct snap_error *err);

#endif
