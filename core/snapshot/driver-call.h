/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The only way the core calls a driver: one wrapper per method of struct
 * snap_driver, in the manner of sqlite's os.c.  Each wrapper
 *   - checks its arguments (non-NULL, valid kind, parent chain nearest first
 *     and all committed) and refuses a bad call with -EINVAL before the
 *     driver sees it;
 *   - honours the ABI minor rule of driver.h: a method added in minor N is
 *     only called when the driver's minor >= N and the pointer is non-NULL;
 *   - for an optional method that is absent, runs the core's generic
 *     fallback or returns -EOPNOTSUPP (documented per wrapper);
 *   - checks postconditions: a negative return always comes with a message
 *     (a generic one naming driver, method and object is filled in when the
 *     driver forgot), a positive return is a driver bug (-EIO), mount lists
 *     are non-empty, usage is non-negative;
 *   - adds the time spent inside the driver to a per-thread counter, so the
 *     benchmark can tell the core's own cost from the driver's.
 */
#ifndef SNAP_DRIVER_CALL_H
#define SNAP_DRIVER_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include <snapctl/driver.h>

#include "core.h"

/* Is the optional method `m` callable (see the ABI minor rule)? */
enum snap_drv_method {
	SNAP_DRV_PROBE,
	SNAP_DRV_USAGE,
	SNAP_DRV_OPEN_TREE,
	SNAP_DRV_DIFF,
	SNAP_DRV_APPLY_WHITEOUT,
	SNAP_DRV_MOUNT,
	SNAP_DRV_INFO,
	SNAP_DRV_CLONE,
};
bool snap_drv_has(const struct snap_driver *drv, enum snap_drv_method m);
/* Can a committed snapshot's tree be read where open_tree gives it
 * (SNAP_DRIVER_CAP_FROZEN_TREE, and open_tree there)? */
bool snap_drv_frozen_tree(const struct snap_driver *drv);

/* probe NULL: the driver runs everywhere (0). */
int snap_drv_probe(const struct snap_driver *drv, const char *root, struct snap_error *err);
int snap_drv_open(const struct snap_driver *drv, const struct snap_driver_opts *opts, void **ret_state,
		  struct snap_error *err);
void snap_drv_close(const struct snap_driver *drv, void *state);
int snap_drv_create(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		    const struct snap_chain *parents, struct snap_error *err);
/* Collects the driver's list into *ret (caller frees with snap_mounts_done). */
int snap_drv_mounts(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		    const struct snap_chain *parents, struct snap_mounts *ret, struct snap_error *err);
int snap_drv_commit(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		    struct snap_error *err);
/* snap->kind may be SNAP_KIND_UNKNOWN here: cleanup removes directories
 * whose row is gone. */
int snap_drv_remove(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		    struct snap_error *err);
/* usage NULL: the core counts blocks and inodes under snap->path (hard
 * links once). */
int snap_drv_usage(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		   struct snap_usage *ret, struct snap_error *err);
/* open_tree NULL: -EOPNOTSUPP.  A committed snapshot: -EINVAL unless
 * snap_drv_frozen_tree(). */
int snap_drv_open_tree(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		       int *ret_dirfd, struct snap_error *err);
/* The same without that refusal, for the core's repairs only (check playing
 * an apply's journal, a pending tree applied again from its blob): they
 * write the committed snapshot's own directory, whole or not. */
int snap_drv_open_tree_repair(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
			      int *ret_dirfd, struct snap_error *err);
/* diff NULL: -EOPNOTSUPP (the caller walks both trees). */
int snap_drv_diff(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		  const struct snap_chain *parents, struct snap_change_sink *sink, struct snap_error *err);
/* apply_whiteout NULL: -EOPNOTSUPP (the caller deletes). */
int snap_drv_apply_whiteout(const struct snap_driver *drv, void *state, int dirfd, const char *name,
			    int kind, struct snap_error *err);
/* clone NULL or a driver older than minor 2: -EOPNOTSUPP (the caller
 * applies the layer into a prepared snapshot instead). */
int snap_drv_clone(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		   const struct snap_chain *parents, const struct snap_ref *src, struct snap_error *err);
/* mount NULL: -EOPNOTSUPP (the caller mounts the list with libmount). */
int snap_drv_mount(const struct snap_driver *drv, void *state, const struct snap_ref *snap,
		   const struct snap_chain *parents, const char *target, unsigned flags,
		   struct snap_error *err);
/* info NULL: nothing emitted, 0. */
int snap_drv_info(const struct snap_driver *drv, void *state,
		  void (*emit)(void *ctx, const char *key, const char *value), void *ctx,
		  struct snap_error *err);

/* Nanoseconds this thread has spent inside driver methods so far. */
uint64_t snap_drv_time_ns(void);

#endif
