/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "force", .key = 'f', .short_opt = true,
	  .help = "remove the image even when containers use it, and every tag of an image given by ID" },
	{ 0 },
};

const struct cli_spec cli_spec_rmi = {
	.name = "rmi",
	.args = "IMAGE...",
	.summary = "remove images",
	.description = "Untag each IMAGE, and delete the image when no tag is left on it.  Layers and "
		       "snapshots no image uses any more go with it.  With the global --json, one array of "
		       "{image, id, untagged, deleted}.",
	.flags = flags,
	.min_args = 1, .max_args = -1,
	.complete_args = CLI_COMPLETE_IMAGE,
};
