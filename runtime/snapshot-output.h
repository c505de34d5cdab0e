/* SPDX-License-Identifier: Apache-2.0 */
/* Shared printing of snapshot infos and mounts for the snapshot commands. */
#ifndef SNAP_SNAPSHOT_OUTPUT_H
#define SNAP_SNAPSHOT_OUTPUT_H

#include <jansson.h>
#include "cli.h"
#include "snapshot/filter.h"

json_t *snap_info_to_json(const struct snap_info *info);
json_t *snap_mounts_to_json(const struct snap_mounts *m);
/* "TYPE SOURCE OPT1,OPT2" one line per mount, or JSON with --json. */
void print_mounts(struct cli_ctx *ctx, const struct snap_mounts *m);
/* Print a JSON value as one document (compact with --json streams). */
int print_json(json_t *v, size_t flags);

#endif
