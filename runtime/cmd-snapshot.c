/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl snapshot ...: containerd snapshotter semantics on the command line. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "util/macro.h"
#include "snapshot-cmds.h"
#include "snapshot-output.h"
#include "spec/specs.h"

/* Parse [--label K=V]... and check the number of arguments against spec.
 * Returns 0, or the exit code (after --help or a usage error) plus one so
 * that 0 means "go on" (ARGS_OR_RETURN). */
static int parse_labels_args(struct cli_ctx *ctx, int argc, char **argv, const struct cli_spec *spec,
			     struct snap_labels *labels)
{
	struct cli_parser p = { .spec = spec };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0)
		if (c == 'l' && labels && snap_labels_parse_kv(labels, optarg) < 0)
			return cli_spec_usage_error(ctx, spec, "invalid label '%s': expected K=V", optarg) + 1;
	return c < 0 ? cli_flags_exit(c) + 1 : 0;
}

/* A plain argument check for commands without options. */
static int plain_args(struct cli_ctx *ctx, int argc, char **argv, const struct cli_spec *spec)
{
	return parse_labels_args(ctx, argc, argv, spec, NULL);
}

#define ARGS_OR_RETURN(r) \
	do { \
		if ((r) != 0) \
			return (r) - 1; \
	} while (0)

static int do_prepare_view(struct cli_ctx *ctx, int argc, char **argv, bool view)
{
	struct snap_labels labels = { 0 };
	int r = parse_labels_args(ctx, argc, argv, view ? &cli_spec_snapshot_view : &cli_spec_snapshot_prepare,
				  &labels);
	if (r != 0) {
		snap_labels_done(&labels);
		return r - 1;
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
	struct snap_labels labels = { 0 };
	int r = parse_labels_args(ctx, argc, argv, &cli_spec_snapshot_commit, &labels);
	if (r != 0) {
		snap_labels_done(&labels);
		return r - 1;
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
	int r = plain_args(ctx, argc, argv, &cli_spec_snapshot_rm);
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
	_cleanup_free_ const char **filters = calloc((size_t)argc + 1, sizeof(char *));
	if (!filters)
		return cli_failf(ctx, "snapshot ls: out of memory");
	size_t nf = 0;
	struct cli_parser p = { .spec = &cli_spec_snapshot_ls };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0)
		if (c == 'f')
			filters[nf++] = optarg;
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core_reader(ctx);
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
	int r = plain_args(ctx, argc, argv, &cli_spec_snapshot_info);
	ARGS_OR_RETURN(r);
	struct snap_core *core = cli_core_reader(ctx);
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
	int r = plain_args(ctx, argc, argv, &cli_spec_snapshot_label);
	ARGS_OR_RETURN(r);
	struct snap_labels edits = { 0 };
	for (int i = optind + 1; i < argc; i++)
		if (snap_labels_parse_kv(&edits, argv[i]) < 0) {
			snap_labels_done(&edits);
			return cli_spec_usage_error(ctx, &cli_spec_snapshot_label,
						    "invalid label '%s': expected K=V (K= removes K)", argv[i]);
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
	/* the writable layer's limit is its snapctl.size label (the core
	 * refused the prepare where the driver could not enforce it) */
	const char *limit = NULL;
	for (size_t i = 0; i < info->labels.n; i++)
		if (strcmp(info->labels.v[i].key, SNAP_LABEL_SIZE) == 0)
			limit = info->labels.v[i].value;
	long long limit_bytes = limit ? strtoll(limit, NULL, 10) : 0;
	if (s->arr) {
		json_t *o = json_pack("{s:s, s:I, s:I}", "name", info->key, "size", (json_int_t)u.size,
				      "inodes", (json_int_t)u.inodes);
		if (o && limit)
			json_object_set_new(o, "limit", json_integer(limit_bytes));
		/* jansson's -1 is not an errno: out of memory is its only cause here */
		return json_array_append_new(s->arr, o) < 0 ? -ENOMEM : 0;
	}
	char size[32], inodes[32], lim[32] = "-";
	cli_format_size(size, sizeof(size), u.size);
	snprintf(inodes, sizeof(inodes), "%lld", (long long)u.inodes);
	if (limit)
		cli_format_size(lim, sizeof(lim), limit_bytes);
	const char *cells[] = { info->key, size, inodes, lim };
	return cli_table_add(s->table, cells);
}

static int sc_usage(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = plain_args(ctx, argc, argv, &cli_spec_snapshot_usage);
	ARGS_OR_RETURN(r);
	struct snap_core *core = cli_core_reader(ctx);
	if (!core)
		return EXIT_FAILURE;
	static const char *const headers[] = { "KEY", "SIZE", "INODES", "LIMIT" };
	struct snap_error err = { 0 };
	struct usage_state s = { .core = core, .err = &err };
	if (ctx->json)
		s.arr = json_array();
	else
		s.table = cli_table_new(4, headers);
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
	int r = plain_args(ctx, argc, argv, &cli_spec_snapshot_mounts);
	ARGS_OR_RETURN(r);
	struct snap_core *core = cli_core_reader(ctx);
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
	int r = plain_args(ctx, argc, argv, &cli_spec_snapshot_mount);
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
	int r = plain_args(ctx, argc, argv, &cli_spec_snapshot_unmount);
	ARGS_OR_RETURN(r);
	struct snap_error err = { 0 };
	if (snap_unmount_at(argv[optind], &err) < 0)
		return cli_fail(ctx, &err);
	return EXIT_SUCCESS;
}

static const struct cli_command snapshot_commands[] = {
	{ &cli_spec_snapshot_prepare, sc_prepare },
	{ &cli_spec_snapshot_view, sc_view },
	{ &cli_spec_snapshot_commit, sc_commit },
	{ &cli_spec_snapshot_rm, sc_rm },
	{ &cli_spec_snapshot_ls, sc_ls },
	{ &cli_spec_snapshot_info, sc_info },
	{ &cli_spec_snapshot_label, sc_label },
	{ &cli_spec_snapshot_usage, sc_usage },
	{ &cli_spec_snapshot_tree, sc_tree },
	{ &cli_spec_snapshot_mounts, sc_mounts },
	{ &cli_spec_snapshot_mount, sc_mount },
	{ &cli_spec_snapshot_unmount, sc_unmount },
	{ &cli_spec_snapshot_diff, cmd_exec_layers },
	{ &cli_spec_snapshot_apply, cmd_exec_layers },
	{ NULL, NULL },
};

int cmd_snapshot(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_parser p = { .spec = &cli_spec_snapshot };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0)
		;
	if (c < 0)
		return cli_flags_exit(c);
	for (const struct cli_command *sc = snapshot_commands; sc->spec; sc++) {
		if (strcmp(sc->spec->name, argv[optind]) != 0)
			continue;
		/* Like ctr's CONTAINERD_NAMESPACE: the snapshots of serve's
		 * clients live in their containerd namespace; the CLI's own
		 * (images, containers) in ''. */
		ctx->ns = getenv("SNAPCTL_NAMESPACE");
		return sc->fn(ctx, argc - optind, argv + optind);
	}
	return cli_spec_usage_error(ctx, &cli_spec_snapshot, "unknown command '%s'", argv[optind]);
}
