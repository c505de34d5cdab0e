/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl images: NAME:TAG  ID  LAYERS  SIZE  CREATED (or --json). */
#include <jansson.h>
#include <string.h>

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"
#include "spec/specs.h"
#include "util/macro.h"

int cmd_images(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = ctx->json, no_trunc = false;
	struct cli_parser p = { .spec = &cli_spec_images };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'T':
			no_trunc = true;
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core_reader(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_image_list l = { 0 };
	struct snap_error err = { 0 };
	if (snap_image_list(core, &l, &err) < 0)
		return cli_fail(ctx, &err);
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < l.n; i++) {
			char created[64] = "";
			if (l.v[i].created_ns)
				cli_format_time(created, sizeof(created), l.v[i].created_ns);
			json_array_append_new(a, json_pack("{s:s?, s:s, s:I, s:I, s:s?}", "name", l.v[i].name,
							   "id", l.v[i].id, "layers", (json_int_t)l.v[i].n_layers,
							   "size", (json_int_t)l.v[i].size, "created",
							   *created ? created : NULL));
		}
		char *s = json_dumps(a, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
		json_decref(a);
		snap_image_list_done(&l);
		return EXIT_SUCCESS;
	}
	static const char *const headers[] = { "NAME:TAG", "ID", "LAYERS", "SIZE", "CREATED" };
	struct cli_table *t = cli_table_new(ELEMENTSOF(headers), headers);
	if (!t) {
		snap_image_list_done(&l);
		return cli_failf(ctx, "images: out of memory");
	}
	for (size_t i = 0; i < l.n; i++) {
		char id[80], layers[24], size[32], created[64] = "N/A";
		if (no_trunc)
			snprintf(id, sizeof(id), "%s", l.v[i].id);
		else
			image_short_id(id, sizeof(id), l.v[i].id);
		snprintf(layers, sizeof(layers), "%zu", l.v[i].n_layers);
		cli_format_size(size, sizeof(size), (int64_t)l.v[i].size);
		if (l.v[i].created_ns)
			cli_format_ago(created, sizeof(created), l.v[i].created_ns);
		const char *row[] = { l.v[i].name ? l.v[i].name : "<none>:<none>", id, layers, size, created };
		cli_table_add(t, row);
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	snap_image_list_done(&l);
	return EXIT_SUCCESS;
}
