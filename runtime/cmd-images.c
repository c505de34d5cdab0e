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

/* docker images [REPOSITORY[:TAG]]: with a tag the name must match, without
 * one any tag of the repository does. */
static bool matches(const char *name, const char *want, bool with_tag)
{
	if (!want)
		return true;
	if (!name)
		return false;
	if (with_tag)
		return strcmp(name, want) == 0;
	size_t repo = (size_t)(strrchr(want, ':') - want);
	return strncmp(name, want, repo) == 0 && name[repo] == ':';
}

int cmd_images(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = ctx->json, no_trunc = false, quiet = false;
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
		case 'q':
			quiet = true;
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	_cleanup_free_ char *want = NULL;
	bool with_tag = false;
	if (optind < argc) {
		struct snap_error err = { 0 };
		if (snap_image_ref_normalize(argv[optind], &want, &err) < 0)
			return cli_spec_usage_error(ctx, &cli_spec_images, "%s", err.message);
		const char *last = strrchr(argv[optind], '/');
		with_tag = strchr(last ? last : argv[optind], ':') != NULL;
	}
	struct snap_core *core = cli_core_reader(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_image_list l = { 0 };
	struct snap_error err = { 0 };
	if (snap_image_list(core, &l, &err) < 0)
		return cli_fail(ctx, &err);
	if (quiet) {
		/* docker images -q: the IDs, each once */
		for (size_t i = 0; i < l.n; i++) {
			bool seen = false;
			for (size_t k = 0; k < i && !seen; k++)
				seen = strcmp(l.v[k].id, l.v[i].id) == 0 && matches(l.v[k].name, want, with_tag);
			if (seen || !matches(l.v[i].name, want, with_tag))
				continue;
			char id[80];
			if (no_trunc)
				snprintf(id, sizeof(id), "%s", l.v[i].id);
			else
				image_short_id(id, sizeof(id), l.v[i].id);
			puts(id);
		}
		snap_image_list_done(&l);
		return EXIT_SUCCESS;
	}
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < l.n; i++) {
			if (!matches(l.v[i].name, want, with_tag))
				continue;
			char created[64] = "";
			if (l.v[i].created_ns)
				cli_format_time(created, sizeof(created), l.v[i].created_ns);
			json_array_append_new(a, json_pack("{s:s?, s:s?, s:s, s:I, s:I, s:s?}", "name",
							   snap_image_ref_familiar(l.v[i].name), "reference",
							   l.v[i].name, "id", l.v[i].id, "layers",
							   (json_int_t)l.v[i].n_layers, "size", (json_int_t)l.v[i].size,
							   "created", *created ? created : NULL));
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
		if (!matches(l.v[i].name, want, with_tag))
			continue;
		char id[80], layers[24], size[32], created[64] = "N/A";
		if (no_trunc)
			snprintf(id, sizeof(id), "%s", l.v[i].id);
		else
			image_short_id(id, sizeof(id), l.v[i].id);
		snprintf(layers, sizeof(layers), "%zu", l.v[i].n_layers);
		cli_format_size(size, sizeof(size), (int64_t)l.v[i].size);
		if (l.v[i].created_ns)
			cli_format_ago(created, sizeof(created), l.v[i].created_ns);
		const char *name = l.v[i].name ? snap_image_ref_familiar(l.v[i].name) : "<none>:<none>";
		const char *row[] = { name, id, layers, size, created };
		cli_table_add(t, row);
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	snap_image_list_done(&l);
	return EXIT_SUCCESS;
}
