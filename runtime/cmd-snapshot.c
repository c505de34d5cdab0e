/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl snapshot ...: containerd snapshotter semantics on the command line. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "util/macro.h"
#include "snapshot-cmds.h"
#include "snapshot-output.h"

/* Parse [--label K=V]... then exactly min..max positional arguments. */
static int parse_labels_args(struct cli_ctx *ctx, int argc, char **argv, const char *usage,
			     int min, int max, struct snap_labels *labels)
{
	static const struct option options[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+l:h", options, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (snap_labels_parse_kv(labels, optarg) < 0)
				return cli_usage_error(ctx, usage, "invalid label '%s': expected K=V", optarg);
			break;
		case 'h':
			printf("usage: snapctl %s\n", usage);
			return -1;
		default:
			return cli_usage_error(ctx, usage, "bad option");
		}
	}
	int n = argc - optind;
	if (n < min || n > max)
		return cli_usage_error(ctx, usage, "expected %d%s argument%s, got %d", min,
				       max > min ? " or more" : "", max == 1 && min == 1 ? "" : "s", n);
	return 0;
}

/* A plain argument check for commands without options. */
static int plain_args(struct cli_ctx *ctx, int argc, char **argv, const char *usage, int min, int max)
{
	struct snap_labels none = { 0 };
	int r = parse_labels_args(ctx, argc, argv, usage, min, max, &none);
	if (r == 0 && none.n > 0)
		r = cli_usage_error(ctx, usage, "--label is not accepted here");
	snap_labels_done(&none);
	return r;
}

#define ARGS_OR_RETURN(r) \
	do { \
		if ((r) != 0) \
			return (r) < 0 ? EXIT_SUCCESS : (r); \
	} while (0)

static int do_prepare_view(struct cli_ctx *ctx, int argc, char **argv, bool view)
{
	const char *usage = view ? "snapshot view [--label K=V]... KEY PARENT"
				 : "snapshot prepare [--label K=V]... KEY [PARENT]";
	struct snap_labels labels = { 0 };
	int r = parse_labels_args(ctx, argc, argv, usage, view ? 2 : 1, 2, &labels);
	if (r != 0) {
		snap_labels_done(&labels);
		return r < 0 ? EXIT_SUCCESS : r;
	}
	const char *key = argv[optind], *parent = optind + 1 < argc ? argv[optind + 1] : NULL;
	struct snap_core *core = cli_core(ctx);
	if (!core) {
		snap_labels_done(&labels);
		return EXIT_FAILURE;
	}
	struct snap_error err = { 0 };
	struct snap_mounts m = { 0 };
	r = view ? snap_view(core, key, parent, &labels, &m, &err)
		 : snap_prepare(core, key, parent, &labels, &m, &err);
	snap_labels_done(&labels);
	if (r < 0)
		return cli_fail(ctx, &err);
	print_mounts(ctx, &m);
	snap_mounts_done(&m);
	return EXIT_SUCCESS;
}

static int sc_prepare(struct cli_ctx *ctx, int argc, char **argv)
{
	return do_prepare_view(ctx, argc, argv, false);
}

static int sc_view(struct cli_ctx *ctx, int argc, char **argv)
{
	return do_prepare_view(ctx, argc, argv, true);
}

static int sc_commit(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *usage = "snapshot commit [--label K=V]... NAME KEY";
	struct snap_labels labels = { 0 };
	int r = parse_labels_args(ctx, argc, argv, usage, 2, 2, &labels);
	if (r != 0) {
		snap_labels_done(&labels);
		return r < 0 ? EXIT_SUCCESS : r;
	}
	struct snap_core *core = cli_core(ctx);
	struct snap_error err = { 0 };
	r = core ? snap_commit(core, argv[optind], argv[optind + 1], &labels, &err) : -EIO;
	snap_labels_done(&labels);
	if (!core)
		return EXIT_FAILURE;
	return r < 0 ? cli_fail(ctx, &err) : EXIT_SUCCESS;
}

static int sc_rm(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = plain_args(ctx, argc, argv, "snapshot rm KEY...", 1, 1 << 20);
	ARGS_OR_RETURN(r);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	int ret = EXIT_SUCCESS;
	for (int i = optind; i < argc; i++) {
		struct snap_error err = { 0 };
		if (snap_remove(core, argv[i], &err) < 0)
			ret = cli_fail(ctx, &err);
	}
	return ret;
}

struct ls_state {
	struct cli_ctx *ctx;
	struct cli_table *table;
	json_t *arr;
};

static int ls_one(const struct snap_info *info, void *userdata)
{
	struct ls_state *s = userdata;
	if (s->arr)
		return json_array_append_new(s->arr, snap_info_to_json(info)) < 0 ? -ENOMEM : 0;
	const char *cells[] = { info->key, info->parent ? info->parent : "", snap_kind_name(info->kind) };
	return cli_table_add(s->table, cells);
}

static int sc_ls(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {
		{ "filter", required_argument, NULL, 'f' },
		{ 0 },
	};
	const char *usage = "snapshot ls [--filter FILTER]...";
	_cleanup_free_ const char **filters = calloc((size_t)argc + 1, sizeof(char *));
	size_t nf = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+f:", options, NULL)) != -1) {
		if (c != 'f')
			return cli_usage_error(ctx, usage, "bad option");
		filters[nf++] = optarg;
	}
	if (optind != argc)
		return cli_usage_error(ctx, usage, "unexpected argument '%s'", argv[optind]);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	static const char *const headers[] = { "KEY", "PARENT", "KIND" };
	struct ls_state s = { .ctx = ctx };
	if (ctx->json)
		s.arr = json_array();
	else
		s.table = cli_table_new(3, headers);
	struct snap_error err = { 0 };
	int r = snap_walk(core, filters, nf, ls_one, &s, &err);
	if (r < 0) {
		json_decref(s.arr);
		cli_table_free(s.table);
		return cli_fail(ctx, &err);
	}
	if (s.arr)
		print_json(s.arr, JSON_INDENT(2));
	else
		cli_table_print(s.table, stdout);
	cli_table_free(s.table);
	return EXIT_SUCCESS;
}

static int sc_info(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = plain_args(ctx, argc, argv, "snapshot info KEY", 1, 1);
	ARGS_OR_RETURN(r);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_info info = { 0 };
	struct snap_error err = { 0 };
	if (snap_stat(core, argv[optind], &info, &err) < 0)
		return cli_fail(ctx, &err);
	print_json(snap_info_to_json(&info), JSON_INDENT(2));
	snap_info_done(&info);
	return EXIT_SUCCESS;
}

static int sc_label(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *usage = "snapshot label KEY K=V...";
	int r = plain_args(ctx, argc, argv, usage, 2, 1 << 20);
	ARGS_OR_RETURN(r);
	struct snap_labels edits = { 0 };
	for (int i = optind + 1; i < argc; i++)
		if (snap_labels_parse_kv(&edits, argv[i]) < 0) {
			snap_labels_done(&edits);
			return cli_usage_error(ctx, usage, "invalid label '%s': expected K=V (K= removes K)", argv[i]);
		}
	struct snap_core *core = cli_core(ctx);
	struct snap_error err = { 0 };
	r = core ? snap_label_edit(core, argv[optind], &edits, &err) : -EIO;
	snap_labels_done(&edits);
	if (!core)
		return EXIT_FAILURE;
	return r < 0 ? cli_fail(ctx, &err) : EXIT_SUCCESS;
}

struct usage_state {
	struct snap_core *core;
	struct cli_table *table;
	json_t *arr;
	struct snap_error *err;
};

static int usage_one(const struct snap_info *info, void *userdata)
{
	struct usage_state *s = userdata;
	struct snap_usage u = { 0 };
	int r = snap_usage_get(s->core, info->key, &u, s->err);
	if (r < 0)
		return r;
	if (s->arr)
		return json_array_append_new(s->arr, json_pack("{s:s, s:I, s:I}", "name", info->key,
							       "size", (json_int_t)u.size,
							       "inodes", (json_int_t)u.inodes));
	char size[32], inodes[32];
	cli_format_size(size, sizeof(size), u.size);
	snprintf(inodes, sizeof(inodes), "%lld", (long long)u.inodes);
	const char *cells[] = { info->key, size, inodes };
	return cli_table_add(s->table, cells);
}

static int sc_usage(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = plain_args(ctx, argc, argv, "snapshot usage [KEY]", 0, 1);
	ARGS_OR_RETURN(r);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	static const char *const headers[] = { "KEY", "SIZE", "INODES" };
	struct snap_error err = { 0 };
	struct usage_state s = { .core = core, .err = &err };
	if (ctx->json)
		s.arr = json_array();
	else
		s.table = cli_table_new(3, headers);
	if (optind < argc) {
		struct snap_info info = { 0 };
		r = snap_stat(core, argv[optind], &info, &err);
		if (r >= 0)
			r = usage_one(&info, &s);
		snap_info_done(&info);
	} else {
		r = snap_walk(core, NULL, 0, usage_one, &s, &err);
	}
	if (r < 0) {
		json_decref(s.arr);
		cli_table_free(s.table);
		return cli_fail(ctx, &err);
	}
	if (s.arr)
		print_json(s.arr, JSON_INDENT(2));
	else
		cli_table_print(s.table, stdout);
	cli_table_free(s.table);
	return EXIT_SUCCESS;
}

static int sc_mounts(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = plain_args(ctx, argc, argv, "snapshot mounts KEY", 1, 1);
	ARGS_OR_RETURN(r);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_mounts m = { 0 };
	struct snap_error err = { 0 };
	if (snap_mounts_get(core, argv[optind], &m, &err) < 0)
		return cli_fail(ctx, &err);
	print_mounts(ctx, &m);
	snap_mounts_done(&m);
	return EXIT_SUCCESS;
}

static int sc_mount(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = plain_args(ctx, argc, argv, "snapshot mount KEY TARGET", 2, 2);
	ARGS_OR_RETURN(r);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_error err = { 0 };
	if (snap_mount_at(core, argv[optind], argv[optind + 1], 0, &err) < 0)
		return cli_fail(ctx, &err);
	return EXIT_SUCCESS;
}

static int sc_unmount(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = plain_args(ctx, argc, argv, "snapshot unmount TARGET", 1, 1);
	ARGS_OR_RETURN(r);
	struct snap_error err = { 0 };
	if (snap_unmount_at(argv[optind], &err) < 0)
		return cli_fail(ctx, &err);
	return EXIT_SUCCESS;
}

static const struct cli_command snapshot_commands[] = {
	{ "prepare", sc_prepare, "snapshot prepare [--label K=V]... KEY [PARENT]", "new active (writable) snapshot; prints its mounts" },
	{ "view", sc_view, "snapshot view [--label K=V]... KEY PARENT", "new read-only view of a committed snapshot" },
	{ "commit", sc_commit, "snapshot commit [--label K=V]... NAME KEY", "commit active KEY as NAME" },
	{ "rm", sc_rm, "snapshot rm KEY...", "remove snapshots without children" },
	{ "ls", sc_ls, "snapshot ls [--filter F]...", "list snapshots: KEY PARENT KIND" },
	{ "info", sc_info, "snapshot info KEY", "JSON: name, parent, kind, labels, created, updated" },
	{ "label", sc_label, "snapshot label KEY K=V...", "set labels (K= removes K)" },
	{ "usage", sc_usage, "snapshot usage [KEY]", "disk usage: bytes and inodes" },
	{ "tree", sc_tree, "snapshot tree", "snapshots as a tree of parents and children" },
	{ "mounts", sc_mounts, "snapshot mounts KEY", "the mount list (type, source, options)" },
	{ "mount", sc_mount, "snapshot mount KEY TARGET", "mount a snapshot on TARGET" },
	{ "unmount", sc_unmount, "snapshot unmount TARGET", "unmount TARGET" },
	{ "diff", sc_diff, "snapshot diff [-o FILE] KEY", "OCI layer tar of KEY against its parent" },
	{ "apply", sc_apply, "snapshot apply KEY [FILE|-]", "apply an OCI layer tar to active KEY" },
	{ NULL, NULL, NULL, NULL },
};

int cmd_snapshot(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		FILE *out = argc < 2 ? stderr : stdout;
		fprintf(out, "usage: snapctl snapshot COMMAND [ARGS]\n\nCommands:\n");
		for (const struct cli_command *c = snapshot_commands; c->name; c++)
			fprintf(out, "  %-8s %s\n", c->name, c->summary);
		return argc < 2 ? EXIT_USAGE : EXIT_SUCCESS;
	}
	for (const struct cli_command *c = snapshot_commands; c->name; c++) {
		if (strcmp(c->name, argv[1]) != 0)
			continue;
		optind = 0;
		return c->fn(ctx, argc - 1, argv + 1);
	}
	return cli_usage_error(ctx, "snapshot COMMAND ...", "unknown snapshot command '%s'", argv[1]);
}
