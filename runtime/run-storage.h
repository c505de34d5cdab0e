/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run --storage-opt size=SIZE: the container's writable layer may hold at
 * most SIZE bytes (docker's and podman's flag).  It becomes the label
 * snapctl.size of the container's snapshot; the driver enforces it (btrfs:
 * a qgroup limit; overlay and vfs: a project quota on XFS/ext4 with
 * prjquota) or the prepare fails saying why, and run exits 125.
 */
#ifndef SNAP_RUN_STORAGE_H
#define SNAP_RUN_STORAGE_H

#include <stdint.h>

#include "cli.h"

struct run_storage {
	char size[24]; /* bytes in decimal, the label's value; "" when unset */
};

/* Take one --storage-opt argument.  0, or the usage error's exit code. */
int run_storage_opt(struct cli_ctx *ctx, const char *value, struct run_storage *st);

#endif
