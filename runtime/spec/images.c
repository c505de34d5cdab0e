/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "json", .key = 'j', .help = "print a JSON array (same as the global --json)" },
	{ .name = "no-trunc", .key = 'T', .help = "print full image IDs" },
	{ .name = "quiet", .key = 'q', .short_opt = true, .help = "print the image IDs only, each once" },
	{ 0 },
};

const struct cli_spec cli_spec_images = {
	.name = "images",
	.args = "[REPOSITORY[:TAG]]",
	.summary = "list images: NAME:TAG ID LAYERS SIZE CREATED",
	.description = "List the images, one line per tag, or those of REPOSITORY (any tag) or "
		       "REPOSITORY:TAG; untagged (dangling) images show as <none>:<none>.  Names are shown "
		       "the short way docker shows them: docker.io/library/busybox:latest is busybox:latest.",
	.examples = "snapctl images\n"
		    "snapctl images busybox\n"
		    "snapctl rmi $(snapctl images -q)",
	.flags = flags,
	.max_args = 1,
	.complete_args = CLI_COMPLETE_IMAGE,
};
