/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl import [--name NAME:TAG] PATH: OCI layout dir, OCI archive, docker-save tar. */
#include <jansson.h>

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"
#include "spec/specs.h"
#include "util/macro.h"

int cmd_import(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *name = NULL;
	bool json = ctx->json;
	struct cli_parser p = { .spec = &cli_spec_import };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'j':
			json = true;
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
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
		json_t *doc = json_pack("{s:s, s:s?, s:I, s:I}", "id", res.id, "name", snap_image_ref_familiar(res.name), "layers",
					(json_int_t)res.n_layers, "new_layers", (json_int_t)res.n_layers_new);
		char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(doc);
	} else {
		if (res.name)
			printf("Loaded image: %s\n", snap_image_ref_familiar(res.name));
		else
			printf("Loaded image ID: %s\n", res.id);
		cli_verbose(ctx, "%zu layers, %zu unpacked, %zu shared", res.n_layers, res.n_layers_new,
			    res.n_layers - res.n_layers_new);
	}
	snap_import_result_done(&res);
	return EXIT_SUCCESS;
}
