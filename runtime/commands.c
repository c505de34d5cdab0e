/* SPDX-License-Identifier: Apache-2.0 */
/* The command table: one line per command; each lives in runtime/cmd-*.c. */
#include "cli.h"
#include "commands.h"

const struct cli_command cli_commands[] = {
	{ "snapshot", cmd_snapshot, "snapshot COMMAND ...", "manage snapshots (containerd semantics)" },
	{ "info", cmd_info, "info", "driver, kernel features, root and counts" },
	{ "check", cmd_check, "check [--repair]", "metadata against disk: orphans, missing dirs, stale mounts" },
	{ "gc", cmd_gc, "gc", "remove unreferenced snapshots, layers and content" },
	{ "serve", cmd_serve, "serve --address PATH", "containerd snapshots.v1 gRPC service on a unix socket" },
	{ "bench", cmd_bench, "bench [--drivers LIST] [--workload NAME]... [--json FILE] [--svg FILE]", "measure and compare the drivers on the same work" },
	{ NULL, NULL, NULL, NULL },
};
