/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Size limits of a directory tree through project quotas (XFS, or ext4
 * with the project feature), for the overlay and vfs drivers' snapctl.size.
 *
 * The snapshot's directory gets a project id with PROJINHERIT before
 * anything is created in it, so the whole tree below (overlay: the upper
 * and work dirs; vfs: the copy) counts against one hard block limit.
 *
 * Project id: the low 32 bits of the directory's inode number (unique on
 * the filesystem while the directory exists, so two roots on the same
 * filesystem never collide), moved on while the kernel reports a dquot
 * with a limit or usage under it (someone else's project); never 0.
 */
#ifndef SNAP_PRJQUOTA_H
#define SNAP_PRJQUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <snapctl/driver.h>

/* 0 when the filesystem holding dirfd enforces project quotas, else
 * -EOPNOTSUPP with err naming the filesystem (type and mount) and what is
 * missing. `path` is for messages. */
int snap_prjquota_supported(int dirfd, const char *path, struct snap_error *err);

/* Give the empty directory dirfd a project id of its own and a hard limit
 * of `bytes`.  0 or -errno with err set. */
int snap_prjquota_limit(int dirfd, const char *path, uint64_t bytes, struct snap_error *err);

/* Drop the limit of dirfd's project (before the directory is removed), so
 * no dquot stays behind.  0 when it had none. */
int snap_prjquota_release(int dirfd);

/* The limit on dirfd's project in bytes; 0 when none. */
int snap_prjquota_get(int dirfd, uint64_t *ret_bytes);

/* snapctl.size of an ACTIVE snapshot on its directory snap->path (made
 * by the core, still empty): 1 limited, 0 no label (or not active), or
 * -errno (-EOPNOTSUPP: the filesystem cannot, err says which and why). */
int snap_prjquota_from_label(const struct snap_ref *snap, struct snap_error *err);
/* snap_prjquota_release on a path; best effort (a removal goes on). */
void snap_prjquota_release_path(const char *path);

/* One line for a driver's info: "yes: ..." or "no: <why>" for dir. */
void snap_prjquota_describe(const char *dir, char *buf, size_t len);

#endif
