/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

const struct cli_spec cli_spec_export = {
	.name = "export",
	.args = "IMAGE PATH",
	.summary = "write an image as an OCI layout directory or archive",
	.description = "Write IMAGE as an OCI image layout directory at PATH, or as an OCI archive when "
		       "PATH ends in .tar; skopeo, umoci and ctr read both.",
	.examples = "snapctl export busybox ./busybox-oci\n"
		    "snapctl export busybox busybox.tar",
	.min_args = 2, .max_args = 2,
	.complete_args = CLI_COMPLETE_IMAGE,
};
