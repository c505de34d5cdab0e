/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl import-rootfs DIR|TAR NAME:TAG: a one-layer image, like docker import. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"

#define USAGE "import-rootfs DIR|TAR NAME:TAG"

int cmd_import_rootfs(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: snapctl %s\n", USAGE);
		return EXIT_SUCCESS;
	}
	if (argc != 3)
		return cli_usage_error(ctx, USAGE, "expected DIR|TAR and NAME:TAG");
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_import_opts opts = { .name = argv[2] };
	struct snap_import_result res = { 0 };
	struct snap_error err = { 0 };
	if (snap_image_import_rootfs(core, argv[1], &opts, &res, &err) < 0)
		return cli_fail(ctx, &err);
	if (ctx->json)
		printf("{\"id\":\"%s\",\"name\":\"%s\"}\n", res.id, res.name);
	else
		printf("%s\n", res.id);
	snap_import_result_done(&res);
	return EXIT_SUCCESS;
}
