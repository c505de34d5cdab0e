/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "format", .key = 'F', .arg = "FORMAT", .complete = CLI_COMPLETE_WORDS, .words = "oci docker-archive",
	  .help = "oci (default: a layout directory, or an OCI archive when PATH ends in .tar) or docker-archive "
		  "(the tar docker save writes)" },
	{ .name = "output", .key = 'o', .short_opt = true, .arg = "PATH", .complete = CLI_COMPLETE_FILE,
	  .help = "where to write, instead of the PATH argument (docker save -o)" },
	{ 0 },
};

const struct cli_spec cli_spec_export = {
	.name = "export",
	.args = "IMAGE PATH",
	.summary = "write an image as an OCI layout, an OCI archive or a docker archive",
	.description = "Write IMAGE as an OCI image layout directory at PATH, or as an OCI archive when "
		       "PATH ends in .tar; skopeo, umoci and ctr read both.\n\n"
		       "--format docker-archive writes the tar docker save writes (manifest.json, "
		       "repositories, the config and each layer uncompressed) for docker load, podman load "
		       "and skopeo's docker-archive: transport; snapctl import reads it back.  The config "
		       "is copied byte for byte, so the image ID survives the round trip.",
	.examples = "snapctl export busybox ./busybox-oci\n"
		    "snapctl export busybox busybox.tar\n"
		    "snapctl export --format docker-archive busybox -o busybox-docker.tar",
	.flags = flags,
	.min_args = 1, .max_args = 2,
	.complete_args = CLI_COMPLETE_IMAGE,
};
