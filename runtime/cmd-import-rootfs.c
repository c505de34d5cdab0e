/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl import-rootfs DIR|TAR NAME:TAG: a one-layer image, like docker import. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"
#include "spec/specs.h"


int cmd_import_rootfs(struct cli_ctx *ctx, int argc, char **argv)
{
	int c = cli_parse_plain(ctx, &cli_spec_import_rootfs, argc, argv);
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_import_opts opts = { .name = argv[optind + 1] };
	struct snap_import_result res = { 0 };
	struct snap_error err = { 0 };
	if (snap_image_import_rootfs(core, argv[optind], &opts, &res, &err) < 0)
		return cli_fail(ctx, &err);
	if (ctx->json)
		printf("{\"id\":\"%s\",\"name\":\"%s\"}\n", res.id, snap_image_ref_familiar(res.name));
	else
		printf("%s\n", res.id);
	snap_import_result_done(&res);
	return EXIT_SUCCESS;
}
