/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "all", .key = 'a', .help = "verify every image (and the blobs no image references)" },
	{ .name = "json", .key = 'j', .help = "print the findings as JSON (same as the global --json)" },
	{ 0 },
};

const struct cli_spec cli_spec_verify = {
	.name = "verify",
	.args = "[IMAGE...]",
	.summary = "check images against disk: diff IDs re-derived from the snapshots, blob digests",
	.description = "Re-derive each layer's diff ID from its snapshot on disk (the canonical diff, hashed, "
		       "never stored) and check every blob's digest; a layer that drifted is told apart from one "
		       "that was never canonical by comparing the tree with the layer blob entry by entry. "
		       "Exits 1 on any mismatch.",
	.examples = "snapctl verify busybox\n"
		    "snapctl verify --all --json",
	.flags = flags,
	.max_args = -1,
	.complete_args = CLI_COMPLETE_IMAGE,
};
