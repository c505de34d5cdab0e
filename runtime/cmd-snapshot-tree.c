/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl snapshot tree: parents above their children, like `ctr snapshot tree`. */
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "snapshot-cmds.h"
#include "snapshot-output.h"
#include "spec/specs.h"

struct node {
	char *key;
	char *parent;
	int kind;
};

struct nodes {
	struct node *v;
	size_t n;
};

static int collect(const struct snap_info *info, void *userdata)
{
	struct nodes *ns = userdata;
	struct node *nv = realloc(ns->v, (ns->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	ns->v = nv;
	nv[ns->n] = (struct node){ strdup(info->key), info->parent ? strdup(info->parent) : NULL, info->kind };
	if (!nv[ns->n].key || (info->parent && !nv[ns->n].parent))
		return -ENOMEM;
	ns->n++;
	return 0;
}

static json_t *subtree_json(const struct nodes *ns, const char *parent)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < ns->n; i++) {
		const struct node *n = &ns->v[i];
		if ((parent == NULL) != (n->parent == NULL) || (parent && strcmp(parent, n->parent) != 0))
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "name", n->key, "kind",
						     snap_kind_name(n->kind), "children",
						     subtree_json(ns, n->key)));
	}
	return arr;
}

/* Walk order is by key, so siblings print sorted.  Recursion depth is the
 * chain length (≤ 500 for overlay), fine for the stack. */
static void print_subtree(const struct nodes *ns, const char *parent, int depth)
{
	for (size_t i = 0; i < ns->n; i++) {
		const struct node *n = &ns->v[i];
		if ((parent == NULL) != (n->parent == NULL) || (parent && strcmp(parent, n->parent) != 0))
			continue;
		if (depth == 0)
			printf("%s", n->key);
		else
			printf("%*s\\_ %s", (depth - 1) * 3, "", n->key);
		printf(n->kind == SNAP_KIND_COMMITTED ? "\n" : " (%s)\n", snap_kind_name(n->kind));
		print_subtree(ns, n->key, depth + 1);
	}
}

int sc_tree(struct cli_ctx *ctx, int argc, char **argv)
{
	int c = cli_parse_plain(ctx, &cli_spec_snapshot_tree, argc, argv);
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core_reader(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct nodes ns = { 0 };
	struct snap_error err = { 0 };
	int r = snap_walk(core, NULL, 0, collect, &ns, &err);
	if (r >= 0) {
		if (ctx->json)
			print_json(subtree_json(&ns, NULL), JSON_INDENT(2));
		else
			print_subtree(&ns, NULL, 0);
	}
	for (size_t i = 0; i < ns.n; i++) {
		free(ns.v[i].key);
		free(ns.v[i].parent);
	}
	free(ns.v);
	if (r < 0)
		return err.code ? cli_fail(ctx, &err) : cli_failf(ctx, "snapshot tree: %s", strerror(-r));
	return EXIT_SUCCESS;
}
