/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl rmi [-f] IMAGE...: untag, and delete images no tag is left on. */

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"
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
		} else {
			if (img.name)
				printf("Untagged: %s\n", img.name);
			for (size_t k = 0; k < tags.n; k++)
				if (tags.v[k].name && strcmp(tags.v[k].id, img.id) == 0)
					printf("Untagged: %s\n", tags.v[k].name);
			if (*removed)
				printf("Deleted: %s\n", removed);
		}
		snap_image_list_done(&tags);
		snap_image_done(&img);
	}
	return ret;
}
