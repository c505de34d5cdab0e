/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

const struct cli_spec cli_spec_diff = {
	.name = "diff",
	.args = "CONTAINER",
	.summary = "changes in a container's filesystem",
	.description = "Print the changes of the container's snapshot against its image as lines "
		       "\"A /path\" (added), \"C /path\" (changed) and \"D /path\" (deleted), sorted by path, "
		       "like docker diff.  With --json, one object per line.",
	.min_args = 1, .max_args = 1,
	.complete_args = CLI_COMPLETE_CONTAINER,
};
