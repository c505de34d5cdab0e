/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl diff CONTAINER: "A /path", "C /path", "D /path" sorted by path,
 * like docker diff, from the layer engine (the driver's fast diff where it
 * has one). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "container-store.h"
#include "layer/layer.h"
#include "spec/specs.h"
#include "util/macro.h"

static char change_letter(int kind)
{
	switch (kind) {
	case SNAP_CHANGE_ADD:
		return 'A';
	case SNAP_CHANGE_DELETE:
		return 'D';
	default:
		return 'C';
	}
}

int cmd_diff(struct cli_ctx *ctx, int argc, char **argv)
{
	int c = cli_parse_plain(ctx, &cli_spec_diff, argc, argv);
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;

	struct snap_error err = { 0 };
	_cleanup_(snap_container_rec_done) struct snap_container_rec rec = { 0 };
	if (snap_container_store_get(core, argv[optind], &rec, &err) < 0)
		return cli_fail(ctx, &err);
	_cleanup_(snap_changes_done) struct snap_changes changes = { 0 };
	if (snap_layer_changes(core, rec.snapshot, 0, &changes, &err) < 0)
		return cli_fail(ctx, &err);
	for (size_t i = 0; i < changes.n; i++) {
		char kind[2] = { change_letter(changes.v[i].kind), 0 };
		if (ctx->json) {
			json_t *o = json_pack("{s:s, s:s}", "kind", kind, "path", changes.v[i].path);
			char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
			json_decref(o);
			if (!s)
				return cli_failf(ctx, "diff: out of memory");
			puts(s);
			free(s);
		} else {
			printf("%s %s\n", kind, changes.v[i].path);
		}
	}
	return EXIT_SUCCESS;
}
