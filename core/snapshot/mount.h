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

#endif
