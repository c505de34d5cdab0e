/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots a process makes for its own work and removes before it
 * returns: an unpack's staging snapshot ("snapctl-unpack-PID-...", import,
 * import-rootfs, commit) and a diff's views of committed snapshots
 * ("snapctl-diff-PID-N-self|parent", diff, commit, verify, an apply's view
 * of the layers below).  The key names the process, so that gc can tell
 * the snapshots of a process that was killed from those in use.
 */
#ifndef SNAP_TEMP_KEYS_H
#define SNAP_TEMP_KEYS_H

#include <stdbool.h>

#define SNAP_TEMP_UNPACK_PREFIX "snapctl-unpack-"
#define SNAP_TEMP_DIFF_PREFIX "snapctl-diff-"

/* Whether key is one of the above and its process is gone. */
bool snap_temp_key_stale(const char *key);
/* Whether key is an unpack's staging snapshot of this very process: a
 * tree no one else uses, which gc removes whole if the process dies. */
bool snap_temp_key_private(const char *key);

#endif
