/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "repair", .key = 'r', .help = "repair what can be repaired (orphans, missing directories, stale mounts)" },
	{ 0 },
};

const struct cli_spec cli_spec_check = {
	.name = "check",
	.summary = "metadata against disk: orphans, missing dirs, stale mounts",
	.description = "Compare the metadata database with the driver's directories and the mount table. "
		       "Exits 1 while findings are left unrepaired.",
	.flags = flags,
};
