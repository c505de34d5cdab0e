/* SPDX-License-Identifier: Apache-2.0 */
/* run's isolation flags: --net, --pids-limit, --memory, --cpus and
 * --security-opt (spec/run.c lists them), parsed into the container spec. */
#ifndef SNAP_RUN_ISOLATION_H
#define SNAP_RUN_ISOLATION_H

#include "cli.h"
#include "container.h"

/* Handle flag `key` (RUN_FLAG_*) with value `value`.  0, or a usage error
 * reported on stderr and -EINVAL. */
int run_isolation_flag(struct cli_ctx *ctx, int key, const char *value, struct snap_container_spec *spec);

#endif
