/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vfs driver: every ACTIVE snapshot is a full copy of its parent's tree
 * (reflink or copy_file_range where the filesystem allows, else read/write),
 * kept as ROOT/snapshots/<id>/fs.  A VIEW copies nothing: its parent is
 * committed and immutable, so the view is a read-only bind of the parent's
 * fs/.  Works on any filesystem, so it is always available.
 */
#ifndef SNAP_VFS_H
#define SNAP_VFS_H

#include <snapctl/driver.h>

extern const struct snap_driver snap_vfs_driver;

#endif
