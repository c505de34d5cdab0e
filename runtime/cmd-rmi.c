/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl rmi [-f] IMAGE...: untag, and delete images no tag is left on. */

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"
#include "snapshot-output.h"
#include "spec/specs.h"
#include "util/macro.h"

int cmd_rmi(struct cli_ctx *ctx, int argc, char **argv)
{
	unsigned flags = 0;
	struct cli_parser p = { .spec = &cli_spec_rmi };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'f':
			flags |= SNAP_RMI_FORCE;
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	int ret = EXIT_SUCCESS;
	/* --json: one array of what was untagged and deleted; failures are on
	 * stderr and in the exit status as without it */
	_cleanup_(json_decrefp) json_t *out = ctx->json ? json_array() : NULL;
	for (int i = optind; i < argc; i++) {
		struct snap_error err = { 0 };
		struct snap_image img = { 0 };
		/* Resolve first to say what is untagged, as docker does. */
		if (snap_image_resolve(core, argv[i], &img, &err) < 0) {
			ret = cli_fail(ctx, &err);
			continue;
		}
		/* By ID, every tag goes with the image: list them first. */
		struct snap_image_list tags = { 0 };
		if (!img.name && snap_image_list(core, &tags, &err) < 0) {
			ret = cli_fail(ctx, &err);
			snap_image_done(&img);
			continue;
		}
		char removed[SNAP_DIGEST_MAX] = "";
		if (snap_image_remove(core, argv[i], flags, removed, &err) < 0) {
			ret = cli_fail(ctx, &err);
		} else if (out) {
			json_t *untagged = json_array();
			if (img.name)
				json_array_append_new(untagged, json_string(snap_image_ref_familiar(img.name)));
			for (size_t k = 0; k < tags.n; k++)
				if (tags.v[k].name && strcmp(tags.v[k].id, img.id) == 0)
					json_array_append_new(untagged,
							      json_string(snap_image_ref_familiar(tags.v[k].name)));
			json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:s?}", "image", argv[i], "id", img.id,
							     "untagged", untagged, "deleted",
							     *removed ? removed : NULL));
		} else {
			if (img.name)
				printf("Untagged: %s\n", snap_image_ref_familiar(img.name));
			for (size_t k = 0; k < tags.n; k++)
				if (tags.v[k].name && strcmp(tags.v[k].id, img.id) == 0)
					printf("Untagged: %s\n", snap_image_ref_familiar(tags.v[k].name));
			if (*removed)
				printf("Deleted: %s\n", removed);
		}
		snap_image_list_done(&tags);
		snap_image_done(&img);
	}
	if (out)
		print_json(json_incref(out), JSON_INDENT(2));
	return ret;
}
