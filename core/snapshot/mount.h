/* SPDX-License-Identifier: Apache-2.0 */
/* Mounting containerd-style mount lists with libmount. */
#ifndef SNAP_MOUNT_H
#define SNAP_MOUNT_H

#include <snapctl/driver.h>

#include "core.h"

/* Mount every entry of `m` on `target`, in order (later entries stack on
 * earlier ones).  SNAP_MOUNT_RDONLY adds "ro".  On failure the entries
 * already mounted are unmounted again.  Returns 0 or -errno. */
int snap_mount_list(const struct snap_mounts *m, const char *target, unsigned flags, struct snap_error *err);

/* Join options with ',' into a new string (for messages and libmount). */
char *snap_mount_options_join(const struct snap_mount *m, const char *extra);

/* Idmapped entries (mount-idmap.c).  The mapping an entry's uidmap=/gidmap=
 * options ask for: 1 with *ret (to free), 0 without, -EINVAL when only one
 * is there or either is malformed. */
struct snap_idmap;
int snap_mount_idmap_of(const struct snap_mount *m, struct snap_idmap **ret, struct snap_error *err);
/* A view of m without those options; buf holds n_options + 1 pointers. */
struct snap_mount snap_mount_without_idmap(const struct snap_mount *m, char **buf);
/* Replace the mount on target by an idmapped clone of it. */
int snap_mount_idmap_in_place(const char *target, const struct snap_idmap *map, struct snap_error *err);

#endif
