/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl import [--name NAME:TAG] PATH: OCI layout dir, OCI archive, docker-save tar. */
#include <getopt.h>
#include <jansson.h>

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"
#include "util/macro.h"

#define USAGE "import [--name NAME:TAG] PATH"

int cmd_import(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *name = NULL;
	bool json = ctx->json;
	int c;
	while ((c = getopt_long(argc, argv, "+n:h", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: snapctl %s\n", USAGE);
			return EXIT_SUCCESS;
		default:
			return cli_usage_error(ctx, USAGE, "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(ctx, USAGE, "expected one PATH");
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct image_progress prog = { .ctx = ctx };
	struct snap_import_opts opts = {
		.name = name,
		.progress = image_progress_wanted(ctx) ? image_progress_fn : NULL,
		.progress_ctx = &prog,
	};
	struct snap_import_result res = { 0 };
	struct snap_error err = { 0 };
	int r = snap_image_import(core, argv[optind], &opts, &res, &err);
	image_progress_done(&prog);
	if (r < 0)
		return cli_fail(ctx, &err);
	if (json) {
		json_t *doc = json_pack("{s:s, s:s?, s:I, s:I}", "id", res.id, "name", res.name, "layers",
					(json_int_t)res.n_layers, "new_layers", (json_int_t)res.n_layers_new);
		char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(doc);
	} else {
		if (res.name)
			printf("Loaded image: %s\n", res.name);
		else
			printf("Loaded image ID: %s\n", res.id);
		cli_verbose(ctx, "%zu layers, %zu unpacked, %zu shared", res.n_layers, res.n_layers_new,
			    res.n_layers - res.n_layers_new);
	}
	snap_import_result_done(&res);
	return EXIT_SUCCESS;
}
