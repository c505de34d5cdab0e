/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

const struct cli_spec cli_spec_tag = {
	.name = "tag",
	.args = "SOURCE TARGET",
	.summary = "give an image another name",
	.description = "Make TARGET (NAME[:TAG], :latest when no tag) name the image SOURCE (a name, an ID "
		       "or an ID prefix), like docker tag.  An image TARGET named before keeps its other "
		       "names, or is left untagged (<none>:<none>) for snapctl image prune.",
	.examples = "snapctl tag busybox:latest registry.example.com/tools/busybox:1.36",
	.min_args = 2, .max_args = 2,
	.complete_args = CLI_COMPLETE_IMAGE,
};
