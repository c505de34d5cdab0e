/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel features, probed by trying them once per process (never by
 * comparing kernel versions), for `snapctl info` and for tests that want to
 * know before they try.  Drivers do not use this table: they cannot link
 * the core, and the overlay driver probes what it mounts with on its own
 * root (drivers/overlay/probe.c, cached in ROOT/overlay.features) and
 * reports it through its `info` method ("Driver details" of `snapctl
 * info`).  Both try idmapped mounts through the same user namespace helper
 * (core/util/userns.c, which the plugins link).
 *
 * The overlay probes build a superblock with the new mount API (fsopen,
 * fsconfig, FSCONFIG_CMD_CREATE) over scratch directories under ROOT/tmp and
 * never attach it, so probing leaves no mount behind.  The reflink probe
 * clones a small file on the root's filesystem.
 */
/* Not "features.h": that name is glibc's, and core/ is on the include path. */
#ifndef SNAP_FEATURES_H
#define SNAP_FEATURES_H

#include <stdbool.h>

enum snap_feature_id {
	SNAP_FEAT_OVERLAY,       /* overlayfs superblock can be created */
	SNAP_FEAT_LOWERDIR_PLUS, /* fsconfig "lowerdir+" (one layer per call, no page-size limit) */
	SNAP_FEAT_USERXATTR,     /* overlay "userxattr" (user.overlay.* instead of trusted.*) */
	SNAP_FEAT_METACOPY,      /* overlay "metacopy=on" */
	SNAP_FEAT_REDIRECT_DIR,  /* overlay "redirect_dir=on" */
	SNAP_FEAT_INDEX,         /* overlay "index=on" */
	SNAP_FEAT_VOLATILE,      /* overlay "volatile" */
	SNAP_FEAT_NFS_EXPORT,    /* overlay "nfs_export=on" (with index=on) */
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
