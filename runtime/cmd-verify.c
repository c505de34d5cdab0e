/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl verify [--all] [--json] [IMAGE...]: re-derive diff IDs from disk,
 * check blob digests; exit 1 on any mismatch. */
#include <jansson.h>
#include <string.h>

#include "commands.h"
#include "image/image.h"
#include "snapshot-output.h"
#include "spec/specs.h"

struct verify_out {
	json_t *arr;
	const char *last_image; /* header printed for it */
	size_t n_items;
	size_t n_images;
};

static json_t *drift_json(const struct snap_layer_verify *lv)
{
	json_t *a = json_array();
	for (size_t i = 0; lv && i < lv->n_drift; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "path", lv->drift[i].path, "what",
						   lv->drift[i].what));
	return a;
}

static void report(const struct snap_verify_item *it, void *userdata)
{
	struct verify_out *o = userdata;
	o->n_items++;
	const struct snap_layer_verify *lv = it->layer;
	if (o->arr) {
		json_t *j = json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:b, s:s}", "kind",
				      it->kind == SNAP_VERIFY_LAYER ? "layer" : "blob", "image", it->image_id,
				      "name", it->image_name, "role", it->role, "digest", it->digest, "ok",
				      it->ok, "message", it->message);
		if (it->layer_index)
			json_object_set_new(j, "layer", json_pack("[I, I]", (json_int_t)it->layer_index,
								  (json_int_t)it->n_layers));
		if (it->kind == SNAP_VERIFY_LAYER) {
			json_object_set_new(j, "chain_id", json_string(it->chain_id));
			if (lv && lv->disk_diff_id[0])
				json_object_set_new(j, "disk_diff_id", json_string(lv->disk_diff_id));
			json_object_set_new(j, "drift", drift_json(lv));
			json_object_set_new(j, "drift_total", json_integer(lv ? (json_int_t)lv->n_drift_total : 0));
		}
		json_array_append_new(o->arr, j);
		return;
	}
	const char *img = it->image_id ? it->image_id : "";
	if (!o->last_image || strcmp(o->last_image, img) != 0) {
		if (it->image_id) {
			printf("%s %s\n", it->image_name ? it->image_name : "<untagged>", it->image_id);
			o->n_images++;
		} else {
			printf("blobs no image references\n");
		}
		free((char *)o->last_image);
		o->last_image = strdup(img);
	}
	char what[32];
	if (it->layer_index)
		snprintf(what, sizeof(what), "layer %zu/%zu %s", it->layer_index, it->n_layers,
			 it->kind == SNAP_VERIFY_LAYER ? "disk" : "blob");
	else
		snprintf(what, sizeof(what), "%s", it->role);
	printf("  %-16s %s  %s: %s\n", what, it->digest, it->ok ? "ok" : "FAILED", it->message);
	for (size_t i = 0; lv && i < lv->n_drift; i++)
		printf("      %s: %s\n", lv->drift[i].path, lv->drift[i].what);
	if (lv && lv->n_drift_total > lv->n_drift)
		printf("      ... and %zu more\n", lv->n_drift_total - lv->n_drift);
}

int cmd_verify(struct cli_ctx *ctx, int argc, char **argv)
{
	bool all = false;
	struct cli_parser p = { .spec = &cli_spec_verify };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		if (c == 'a')
			all = true;
		else if (c == 'j')
			ctx->json = true;
	}
	if (c < 0)
		return cli_flags_exit(c);
	if (all == (optind < argc))
		return cli_spec_usage_error(ctx, &cli_spec_verify,
					    all ? "--all takes no IMAGE" : "no IMAGE given (or --all)");
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct verify_out o = { .arr = ctx->json ? json_array() : NULL };
	struct snap_error err = { 0 };
	size_t failed = 0;
	int r = snap_image_verify(core, (const char *const *)argv + optind, (size_t)(argc - optind), report,
				  &o, &failed, &err);
	free((char *)o.last_image);
	if (r < 0) {
		json_decref(o.arr);
		return cli_fail(ctx, &err);
	}
	if (o.arr)
		print_json(json_pack("{s:b, s:I, s:I, s:o}", "ok", failed == 0, "checked",
				     (json_int_t)o.n_items, "failed", (json_int_t)failed, "items", o.arr),
			   JSON_INDENT(2));
	else
		printf("%zu check%s, %zu failed\n", o.n_items, o.n_items == 1 ? "" : "s", failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
