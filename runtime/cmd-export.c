/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl export IMAGE PATH: an OCI layout directory, or an OCI archive for *.tar. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"

#define USAGE "export IMAGE PATH"

int cmd_export(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: snapctl %s\n", USAGE);
		return EXIT_SUCCESS;
	}
	if (argc != 3)
		return cli_usage_error(ctx, USAGE, "expected IMAGE and PATH");
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct image_progress prog = { .ctx = ctx };
	struct snap_error err = { 0 };
	int r = snap_image_export(core, argv[1], argv[2],
				  image_progress_wanted(ctx) ? image_progress_fn : NULL, &prog, &err);
	image_progress_done(&prog);
	if (r < 0)
		return cli_fail(ctx, &err);
	return EXIT_SUCCESS;
}
