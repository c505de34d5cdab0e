/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "message", .key = 'm', .short_opt = true, .arg = "MSG", .help = "commit message, recorded in the image's history" },
	{ .name = "author", .key = 'a', .short_opt = true, .arg = "AUTHOR", .help = "author of the image, e.g. \"Name <mail>\"" },
	{ .name = "change", .key = 'c', .short_opt = true, .arg = "CHANGE", .flags = CLI_FLAG_MULTI,
	  .help = "apply a Dockerfile instruction to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
		  "USER, VOLUME, WORKDIR, STOPSIGNAL" },
	{ .name = "pause", .key = 'p', .arg = "BOOL", .flags = CLI_FLAG_OPTARG, .complete = CLI_COMPLETE_WORDS,
	  .words = "true false",
	  .help = "freeze a running container while its layer is read (default true; --pause=false reads it live)" },
	{ .name = "compression", .key = 'z', .arg = "ALGO", .complete = CLI_COMPLETE_WORDS, .words = "gzip zstd",
	  .help = "compression of the new layer: gzip (default; on every core, pigz-style) or zstd "
		  "(application/vnd.oci.image.layer.v1.tar+zstd, with libzstd's workers)" },
	{ 0 },
};

const struct cli_spec cli_spec_commit = {
	.name = "commit",
	.args = "CONTAINER NAME[:TAG]",
	.summary = "make an image from a container's changes",
	.description = "Make the container's changes a new layer on its image and tag the result NAME:TAG. "
		       "The container stays as it is and can be committed again. A running container is "
		       "paused (its cgroup frozen) while its layer is read.",
	.examples = "snapctl commit -m 'add curl' -c 'CMD [\"sh\"]' build myimage:1",
	.flags = flags,
	.min_args = 2, .max_args = 2,
	.complete_args = CLI_COMPLETE_CONTAINER,
};
