/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl export IMAGE PATH: an OCI layout directory, or an OCI archive for *.tar. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"
#include "spec/specs.h"

int cmd_export(struct cli_ctx *ctx, int argc, char **argv)
{
	int c = cli_parse_plain(ctx, &cli_spec_export, argc, argv);
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct image_progress prog = { .ctx = ctx };
	struct snap_error err = { 0 };
	int r = snap_image_export(core, argv[optind], argv[optind + 1],
				  image_progress_wanted(ctx) ? image_progress_fn : NULL, &prog, &err);
	image_progress_done(&prog);
	if (r < 0)
		return cli_fail(ctx, &err);
	return EXIT_SUCCESS;
}
