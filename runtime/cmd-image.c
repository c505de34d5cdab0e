/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl image prune [-a]: remove dangling images (untagged: what
 * re-tagging or re-committing a name leaves), or with -a every image no
 * container uses, like docker image prune. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image/image.h"
#include "snapshot-output.h"
#include "spec/specs.h"
#include "util/macro.h"

static int image_prune(struct cli_ctx *ctx, int argc, char **argv)
{
	bool all = false;
	struct cli_parser p = { .spec = &cli_spec_image_prune };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0)
		if (c == 'a')
			all = true;
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_image_list l = { 0 };
	struct snap_error err = { 0 };
	if (snap_image_list(core, &l, &err) < 0)
		return cli_fail(ctx, &err);
	_cleanup_(json_decrefp) json_t *deleted = json_array(), *untagged = json_array();
	int ret = EXIT_SUCCESS;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].name && !all)
			continue;
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(l.v[k].id, l.v[i].id) == 0;
		if (seen)
			continue;
		char removed[SNAP_DIGEST_MAX] = "";
		snap_error_clear(&err);
		if (snap_image_remove(core, l.v[i].id, SNAP_RMI_ALL_TAGS, removed, &err) < 0) {
			if (err.code == -EBUSY) /* a container uses it: not prunable */
				continue;
			ret = cli_fail(ctx, &err);
			continue;
		}
		for (size_t k = i; k < l.n; k++)
			if (l.v[k].name && strcmp(l.v[k].id, l.v[i].id) == 0)
				json_array_append_new(untagged, json_string(snap_image_ref_familiar(l.v[k].name)));
		if (*removed)
			json_array_append_new(deleted, json_string(removed));
	}
	snap_image_list_done(&l);
	if (ctx->json) {
		print_json(json_pack("{s:O, s:O}", "deleted", deleted, "untagged", untagged), JSON_INDENT(2));
		return ret;
	}
	if (json_array_size(deleted) || json_array_size(untagged)) {
		printf("Deleted Images:\n");
		size_t k;
		json_t *v;
		json_array_foreach(untagged, k, v)
			printf("untagged: %s\n", json_string_value(v));
		json_array_foreach(deleted, k, v)
			printf("deleted: %s\n", json_string_value(v));
	} else {
		printf("No images to remove\n");
	}
	return ret;
}

static const struct cli_command image_commands[] = {
	{ &cli_spec_image_prune, image_prune },
	{ NULL, NULL },
};

int cmd_image(struct cli_ctx *ctx, int argc, char **argv)
{
	int c = cli_parse_plain(ctx, &cli_spec_image, argc, argv);
	if (c < 0)
		return cli_flags_exit(c);
	for (const struct cli_command *sc = image_commands; sc->spec; sc++)
		if (strcmp(sc->spec->name, argv[optind]) == 0)
			return sc->fn(ctx, argc - optind, argv + optind);
	return cli_spec_usage_error(ctx, &cli_spec_image, "unknown command '%s'", argv[optind]);
}
