/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl export [--format oci|docker-archive] IMAGE PATH (or -o PATH): an
 * OCI layout directory, an OCI archive for *.tar, or docker save's tar. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"
#include "spec/specs.h"

int cmd_export(struct cli_ctx *ctx, int argc, char **argv)
{
	enum snap_export_format format = SNAP_EXPORT_OCI;
	const char *output = NULL;
	struct cli_parser p = { .spec = &cli_spec_export };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'F':
			if (strcmp(optarg, "oci") == 0)
				format = SNAP_EXPORT_OCI;
			else if (strcmp(optarg, "docker-archive") == 0)
				format = SNAP_EXPORT_DOCKER_ARCHIVE;
			else
				return cli_spec_usage_error(ctx, &cli_spec_export,
							    "--format takes oci or docker-archive, not '%s'", optarg);
			break;
		case 'o':
			output = optarg;
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	/* PATH, or -o PATH as docker save and podman save take it */
	if ((argc - optind == 2) == (output != NULL))
		return cli_spec_usage_error(ctx, &cli_spec_export, "give the output PATH once: as an argument or as -o PATH");
	const char *path = output ? output : argv[optind + 1];
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct image_progress prog = { .ctx = ctx };
	struct snap_error err = { 0 };
	int r = snap_image_export(core, argv[optind], path, format,
				  image_progress_wanted(ctx) ? image_progress_fn : NULL, &prog, &err);
	image_progress_done(&prog);
	if (r < 0)
		return cli_fail(ctx, &err);
	return EXIT_SUCCESS;
}
