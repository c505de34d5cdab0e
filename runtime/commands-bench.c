/* SPDX-License-Identifier: Apache-2.0 */
/* The command table of snapctl-bench (see cmd-helper.c). */
#include "cli.h"
#include "commands.h"

const struct cli_command cli_commands[] = {
	{ "bench", cmd_bench, "bench [--drivers LIST] [--workload NAME]... [--json FILE] [--svg FILE]", "measure and compare the drivers on the same work" },
	{ NULL, NULL, NULL, NULL },
};
