/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

const struct cli_spec cli_spec_import_rootfs = {
	.name = "import-rootfs",
	.args = "DIR|TAR NAME[:TAG]",
	.summary = "make a one-layer image from a directory or a tar",
	.description = "Make an image of one layer holding the tree DIR, or the contents of TAR, as "
		       "docker import does, and tag it NAME:TAG.  Prints the image ID.",
	.examples = "snapctl import-rootfs ./rootfs mybase:1",
	.min_args = 2, .max_args = 2,
	.complete_args = CLI_COMPLETE_FILE,
};
