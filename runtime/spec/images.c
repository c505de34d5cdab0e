/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "json", .key = 'j', .help = "print a JSON array (same as the global --json)" },
	{ .name = "no-trunc", .key = 'T', .help = "print full image IDs" },
	{ 0 },
};

const struct cli_spec cli_spec_images = {
	.name = "images",
	.summary = "list images: NAME:TAG ID LAYERS SIZE CREATED",
	.description = "List the images, one line per tag; untagged images show as <none>:<none>.",
	.flags = flags,
};
