/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Id-mapped snapshots on vfs.  Where the filesystem can idmap mounts, a
 * mapped snapshot is a plain copy mounted idmapped (uidmap=/gidmap= on its
 * bind).  Where it cannot, create() chowns the copy to the host ids instead
 * (containerd's remap fallback), leaves a note of the cost beside the tree,
 * and the mount list is a plain bind.  Label snapctl.idmap picks the way:
 * "auto" (default), "mount" or "chown".
 */
#ifndef SNAP_VFS_REMAP_H
#define SNAP_VFS_REMAP_H

#include <stdbool.h>
#include <snapctl/driver.h>

#include "util/idmap.h"

#define VFS_REMAP_FILE "idmap.chowned"
#define VFS_LABEL_IDMAP "snapctl.idmap"

/* Should create() chown the tree?  1 with *ret filled, 0 when not (no
 * mapping, or the filesystem idmaps mounts), -errno with err set. */
int vfs_remap_wanted(int rootfd, const struct snap_ref *snap, struct snap_idmap *ret, struct snap_error *err);

/* Chown the tree (fd) to the mapping's host ids and note the cost in the
 * snapshot's dir (dirfd): one line, also put in `summary`. */
int vfs_remap_tree(int dirfd, int treefd, const struct snap_idmap *map, char *summary, size_t size,
		   struct snap_error *err);

/* Was the snapshot chowned at create? */
bool vfs_remapped(const struct snap_ref *snap);

/* uidmap=/gidmap= for the mount list: 1 with both set (to free), 0 when
 * the snapshot has no mapping or was chowned, -ENOMEM. */
int vfs_idmap_options(const struct snap_ref *snap, char **ret_uid, char **ret_gid);

#endif
