/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel features every driver or the runtime relies on, probed by trying
 * them once per process (never by comparing kernel versions), for `snapctl
 * info` and for tests that want to know before they try: idmapped mounts on
 * the root's filesystem, openat2, reflinks, and whether overlay and btrfs
 * are in the kernel at all.
 *
 * There is one prober per feature.  What overlay can mount with (lowerdir+,
 * userxattr, metacopy, redirect_dir, index, volatile, nfs_export) is probed
 * by the overlay driver alone, on its own root (drivers/overlay/probe.c,
 * cached in ROOT/overlay.features), and reported through its `info` method
 * ("Driver details" of `snapctl --driver overlay info`).  Both try
 * idmapped mounts through the same user namespace helper (core/util/userns.c,
 * which the plugins link).  The reflink probe clones a small file in a
 * scratch directory under ROOT/tmp, removed afterwards.
 */
/* Not "features.h": that name is glibc's, and core/ is on the include path. */
#ifndef SNAP_FEATURES_H
#define SNAP_FEATURES_H

#include <stdbool.h>

enum snap_feature_id {
	SNAP_FEAT_OVERLAY,       /* overlay listed in /proc/filesystems (its options: the overlay driver's info) */
	SNAP_FEAT_IDMAPPED,      /* mount_setattr(MOUNT_ATTR_IDMAP) on the root's filesystem */
	SNAP_FEAT_OPENAT2,       /* openat2(RESOLVE_IN_ROOT) */
	SNAP_FEAT_BTRFS,         /* btrfs listed in /proc/filesystems */
	SNAP_FEAT_REFLINK,       /* FICLONE on the root's filesystem */
	SNAP_FEAT__MAX,
};

enum snap_feature_state {
	SNAP_FEATURE_UNKNOWN = -1, /* could not be probed (detail says why) */
	SNAP_FEATURE_NO = 0,
	SNAP_FEATURE_YES = 1,
};

struct snap_feature {
	const char *name;   /* "overlay", "lowerdir+", ... */
	int state;          /* enum snap_feature_state */
	char detail[160];   /* the reason for NO/UNKNOWN ("EINVAL from fsconfig"), or "" */
};

/* Probe everything for ROOT (which must exist; its tmp/ is used for scratch
 * directories and removed again; NULL: $TMPDIR or /tmp).  Results are
 * cached per process for the first root probed; later calls return the
 * cache.  Returns the table, indexed by enum snap_feature_id. */
const struct snap_feature *snap_features_probe(const char *root);

/* One feature (probing first if needed, for `root`). */
bool snap_feature_have(const char *root, enum snap_feature_id id);

const char *snap_feature_state_name(int state);

#endif
