/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "all", .key = 'a', .short_opt = true, .help = "show all containers (default: running only)" },
	{ .name = "quiet", .key = 'q', .short_opt = true, .help = "print the container IDs only" },
	{ .name = "no-trunc", .key = 'T', .help = "do not cut IDs and commands short" },
	{ 0 },
};

const struct cli_spec cli_spec_ps = {
	.name = "ps",
	.summary = "list containers",
	.description = "List containers: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, NAMES, like docker ps.",
	.examples = "snapctl ps -a",
	.flags = flags,
};
