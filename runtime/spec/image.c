/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag prune_flags[] = {
	{ .name = "all", .key = 'a', .short_opt = true, .help = "remove every image no container uses, not only dangling ones" },
	{ .name = "force", .key = 'f', .short_opt = true, .help = "accepted for docker's habit: snapctl does not ask" },
	{ 0 },
};

const struct cli_spec cli_spec_image_prune = {
	.name = "prune",
	.summary = "remove dangling images",
	.description = "Remove the dangling images: those without a name (<none>:<none> in snapctl images), "
		       "which re-tagging or re-committing a name leaves behind.  Images a container uses stay. "
		       "Their layers and blobs go with them when no other image shares them.",
	.examples = "snapctl image prune\n"
		    "snapctl image prune -a",
	.flags = prune_flags,
	.parent = &cli_spec_image,
};

static const struct cli_spec *const subcommands[] = {
	&cli_spec_image_prune,
	NULL,
};

const struct cli_spec cli_spec_image = {
	.name = "image",
	.args = "COMMAND",
	.summary = "manage images (image prune)",
	.subcommands = subcommands,
	.min_args = 1, .max_args = -1,
};
