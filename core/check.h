/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Consistency of a root: metadata against disk (`snapctl check [--repair]`),
 * containerd's Cleanup, and garbage collection (`snapctl gc`).
 */
#ifndef SNAP_CHECK_H
#define SNAP_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <snapctl/driver.h>

#include "core.h"

enum snap_check_kind {
	SNAP_CHECK_ORPHAN_DIR = 1,    /* snapshots/<id> without a row */
	SNAP_CHECK_MISSING_DIR,       /* a published row without its directory */
	SNAP_CHECK_STALE_CREATING,    /* a row left half-created by a dead process */
	SNAP_CHECK_STALE_COMMITTING,  /* a row left mid-commit by a dead process */
	SNAP_CHECK_STAGING_LEFTOVER,  /* tmp/<x> no live process holds */
	SNAP_CHECK_STALE_MOUNT,       /* a mount of a snapshot or staging dir that is gone */
	SNAP_CHECK_UNKNOWN_ENTRY,     /* something under snapshots/ that is not an id */
	SNAP_CHECK_STALE_RESERVATION, /* a commit's name reservation whose commit died */
	SNAP_CHECK_METADATA,          /* the database fails sqlite's integrity or foreign-key check */
	SNAP_CHECK_INTERRUPTED_APPLY, /* a layer apply into an active snapshot died half-way */
	SNAP_CHECK_UNPROVEN_LAYER,    /* a snapshot named like a chain ID the unpacker did not make */
	SNAP_CHECK_STALE_TEMP,        /* an unpack's staging snapshot or a diff's view, its process killed */
	SNAP_CHECK_PENDING_TREE,      /* a layer tree unsynced before a reboot that could not be made whole */
};

struct snap_check_item {
	int kind;            /* enum snap_check_kind */
	const char *object;  /* path or snapshot key */
	const char *message; /* what is wrong */
	bool repairable;     /* --repair fixes it */
	bool repaired;       /* it was fixed in this run */
	const char *repair_error; /* why repairing failed, or NULL */
};

typedef void (*snap_check_fn)(const struct snap_check_item *item, void *userdata);

const char *snap_check_kind_name(int kind);

/* Compare the rows with ROOT/snapshots/<id>, find leftovers in ROOT/tmp,
 * stale rows and stale mounts (from /proc/self/mountinfo).  Each finding is
 * reported through cb (may be NULL).  With `repair`, fixes what is safe:
 * orphan directories and staging leftovers are removed (the driver's remove
 * first), stale rows are undone (CREATING: removed; COMMITTING: back to
 * active), stale mounts are unmounted, a row whose directory is missing is
 * dropped when it has no children.  Anything a live process holds (its lock
 * on the directory) is left alone.  Returns the number of findings not
 * repaired (0 = consistent), or -errno when the check itself failed. */
int snap_check(struct snap_core *core, bool repair, snap_check_fn cb, void *userdata, struct snap_error *err);

struct snap_gc_stats {
	uint64_t snapshots_removed; /* snapshots removed (rows or orphan dirs) */
	uint64_t staging_removed;   /* tmp/ leftovers removed */
	uint64_t blobs_removed;     /* content blobs removed */
	uint64_t bytes_freed;       /* best effort */
};

/*
 * Garbage collection runs a list of phases in order (see gc_phases[] in
 * check.c).  A phase that drops references (images -> snapshots, containers
 * -> snapshots) comes before the phases that collect what is no longer
 * referenced (snapshots, blobs), and the crash-leftover sweep (the cleanup
 * below) runs last.  Returns 0 or the first phase's -errno.
 */
struct snap_gc_phase {
	const char *name;
	int (*run)(struct snap_core *core, struct snap_gc_stats *stats, struct snap_error *err);
};
int snap_gc(struct snap_core *core, struct snap_gc_stats *ret, struct snap_error *err);
/* The phases, for `snapctl gc -v` listings. */
const struct snap_gc_phase *snap_gc_phases(size_t *ret_n);

#endif
