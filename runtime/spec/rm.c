/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "force", .key = 'f', .short_opt = true, .help = "stop (SIGKILL) a running container first" },
	{ 0 },
};

const struct cli_spec cli_spec_rm = {
	.name = "rm",
	.args = "CONTAINER...",
	.summary = "remove containers and their snapshots",
	.description = "Remove containers (by name, ID or ID prefix) with their snapshots.  Prints each "
		       "one removed; with the global --json, one array of {container, id, name}.",
	.flags = flags,
	.min_args = 1, .max_args = -1,
	.complete_args = CLI_COMPLETE_CONTAINER,
};
