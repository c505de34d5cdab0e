/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot-output.h"

#include <stdio.h>

json_t *snap_info_to_json(const struct snap_info *info)
{
	char created[48], updated[48];
	cli_format_time(created, sizeof(created), info->created_ns);
	cli_format_time(updated, sizeof(updated), info->updated_ns);
	json_t *labels = json_object();
	for (size_t i = 0; i < info->labels.n; i++)
		json_object_set_new(labels, info->labels.v[i].key, json_string(info->labels.v[i].value));
	return json_pack("{s:s, s:s?, s:s, s:o, s:s, s:s}",
			 "name", info->key,
			 "parent", info->parent,
			 "kind", snap_kind_name(info->kind),
			 "labels", labels,
			 "created", created,
			 "updated", updated);
}

json_t *snap_mounts_to_json(const struct snap_mounts *m)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < m->n; i++) {
		json_t *opts = json_array();
		for (size_t j = 0; j < m->v[i].n_options; j++)
			json_array_append_new(opts, json_string(m->v[i].options[j]));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "type", m->v[i].type,
						     "source", m->v[i].source, "options", opts));
	}
	return arr;
}

void print_mounts(struct cli_ctx *ctx, const struct snap_mounts *m)
{
	if (ctx->json) {
		print_json(snap_mounts_to_json(m), JSON_COMPACT);
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		printf("%s %s ", m->v[i].type, m->v[i].source);
		for (size_t j = 0; j < m->v[i].n_options; j++)
			printf("%s%s", j ? "," : "", m->v[i].options[j]);
		putchar('\n');
	}
}

int print_json(json_t *v, size_t flags)
{
	if (!v)
		return -1;
	int r = json_dumpf(v, stdout, flags | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(v);
	return r;
}
