/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "format", .key = 'f', .short_opt = true, .arg = "TEMPLATE",
	  .help = "print TEMPLATE per object instead of the JSON array: docker's {{.Field.Sub}} and "
		  "{{json .Field}} (other template actions are refused)" },
	{ .name = "type", .key = 't', .arg = "TYPE", .complete = CLI_COMPLETE_WORDS, .words = "image container",
	  .help = "look NAME up only as an image or only as a container (default: container, then image)" },
	{ .name = "size", .key = 's', .short_opt = true, .help = "accepted for docker's habit: sizes are always shown" },
	{ 0 },
};

const struct cli_spec cli_spec_inspect = {
	.name = "inspect",
	.args = "NAME [NAME...]",
	.summary = "show images and containers in detail (JSON)",
	.description = "Print a JSON array with one object per NAME, like docker inspect.  A container "
		       "(a name, an ID or an ID prefix) shows its image, its run configuration (Config: "
		       "Env, Entrypoint, Cmd, WorkingDir, User), its state, its driver and its snapshot "
		       "with the mounts that make its root filesystem.  An image (NAME[:TAG], an ID or an "
		       "ID prefix) shows its config, its manifest digest, its tags, its layers "
		       "(RootFS.Layers: the diff IDs), its history and its size.\n\n"
		       "A NAME that is neither is reported on stderr and makes the exit status 1; the "
		       "others are still printed.",
	.examples = "snapctl inspect busybox\n"
		    "snapctl inspect -f '{{.Config.Env}}' mycontainer\n"
		    "snapctl inspect -f '{{json .RootFS.Layers}}' busybox",
	.flags = flags,
	.min_args = 1, .max_args = -1,
	.complete_args = CLI_COMPLETE_IMAGE,
};
