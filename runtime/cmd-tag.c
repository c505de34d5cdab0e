/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl tag SOURCE TARGET: another name for an image, like docker tag. */
#include <stdlib.h>

#include "commands.h"
#include "image/image.h"
#include "spec/specs.h"
#include "util/macro.h"

int cmd_tag(struct cli_ctx *ctx, int argc, char **argv)
{
	int c = cli_parse_plain(ctx, &cli_spec_tag, argc, argv);
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_error err = { 0 };
	_cleanup_free_ char *name = NULL;
	if (snap_image_tag(core, argv[optind], argv[optind + 1], &name, &err) < 0)
		return cli_fail(ctx, &err);
	if (ctx->json)
		printf("{\"name\":\"%s\",\"reference\":\"%s\"}\n", snap_image_ref_familiar(name), name);
	return EXIT_SUCCESS;
}
