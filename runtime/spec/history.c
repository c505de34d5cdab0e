/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "no-trunc", .key = 'T', .help = "do not cut IDs and commands short" },
	{ .name = "human", .key = 'H', .short_opt = true, .arg = "BOOL", .flags = CLI_FLAG_OPTARG,
	  .complete = CLI_COMPLETE_WORDS, .words = "true false",
	  .help = "sizes and dates in human-readable form (default true; -H=false for bytes and RFC 3339)" },
	{ .name = "quiet", .key = 'q', .short_opt = true, .help = "print the layer IDs only" },
	{ .name = "json", .key = 'j', .help = "print a JSON array (same as the global --json)" },
	{ 0 },
};

const struct cli_spec cli_spec_history = {
	.name = "history",
	.args = "IMAGE",
	.summary = "show how an image was built",
	.description = "Show the image's history, newest first, like docker history: ID, CREATED, "
		       "CREATED BY, SIZE, COMMENT.",
	.flags = flags,
	.min_args = 1, .max_args = 1,
	.complete_args = CLI_COMPLETE_IMAGE,
};
