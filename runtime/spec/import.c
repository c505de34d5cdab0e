/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "name", .key = 'n', .short_opt = true, .arg = "NAME[:TAG]",
	  .help = "tag the image NAME:TAG instead of the name the archive carries" },
	{ .name = "json", .key = 'j', .help = "print the result as JSON: id, name, layers, new_layers" },
	{ 0 },
};

const struct cli_spec cli_spec_import = {
	.name = "import",
	.args = "PATH",
	.summary = "import an OCI layout, OCI archive or docker-save tar",
	.description = "Import the image at PATH: an OCI image layout directory, an OCI archive (a tar of "
		       "one) or a docker-save tar (what `docker save` and `podman save` write).  Layers "
		       "already present are shared, not unpacked again.",
	.examples = "snapctl import busybox.tar\n"
		    "snapctl import --name mybox:1 ./oci-layout",
	.flags = flags,
	.min_args = 1, .max_args = 1,
	.complete_args = CLI_COMPLETE_FILE,
};
