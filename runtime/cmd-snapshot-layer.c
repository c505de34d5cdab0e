/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl snapshot diff / apply: OCI layer tars out of and into snapshots. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "layer/layer.h"
#include "util/macro.h"
#include "snapshot-cmds.h"
#include "spec/specs.h"

int sc_diff(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_spec *spec = &cli_spec_snapshot_diff;
	const char *output = NULL;
	struct snap_diff_opts opts = { .compression = SNAP_COMPRESS_NONE };
	struct cli_parser p = { .spec = spec };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'c':
			if (strcmp(optarg, "gzip") == 0)
				opts.compression = SNAP_COMPRESS_GZIP;
			else if (strcmp(optarg, "zstd") == 0)
				opts.compression = SNAP_COMPRESS_ZSTD;
			else if (strcmp(optarg, "none") != 0)
				return cli_spec_usage_error(ctx, spec, "unknown compression '%s'", optarg);
			break;
		case 'g':
			/* Ignore the driver's fast path: for comparing drivers. */
			opts.flags |= SNAP_DIFF_GENERIC;
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	const char *key = argv[optind];
	if (!output && isatty(STDOUT_FILENO))
		return cli_spec_usage_error(ctx, spec, "refusing to write a tar to a terminal: use -o FILE or a pipe");

	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;

	/* Write next to the output and rename into place last, so a failed
	 * diff never leaves a truncated FILE behind. */
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	if (output) {
		if (asprintf(&tmp, "%s.tmp-%d", output, (int)getpid()) < 0)
			return cli_failf(ctx, "diff %s: out of memory", key);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return cli_failf(ctx, "diff %s: create %s: %m", key, tmp);
	}
	struct snap_error err = { 0 };
	struct snap_layer_digests d = { 0 };
	int r = snap_layer_diff_fd(core, key, output ? fd : STDOUT_FILENO, &opts, &d, &err);
	if (r >= 0 && output && fsync(fd) < 0)
		r = snap_error_set(&err, negative_errno(), "diff %s: fsync %s: %m", key, tmp);
	if (r >= 0 && output && rename(tmp, output) < 0)
		r = snap_error_set(&err, negative_errno(), "diff %s: rename to %s: %m", key, output);
	if (r < 0) {
		if (output)
			unlink(tmp);
		return cli_fail(ctx, &err);
	}
	cli_verbose(ctx, "diff %s: %llu entries, diff ID %s", key, (unsigned long long)d.entries, d.diff_id);
	return EXIT_SUCCESS;
}

int sc_apply(struct cli_ctx *ctx, int argc, char **argv)
{
	int c = cli_parse_plain(ctx, &cli_spec_snapshot_apply, argc, argv);
	if (c < 0)
		return cli_flags_exit(c);
	const char *key = argv[optind];
	const char *file = argc - optind == 2 ? argv[optind + 1] : "-";
	_cleanup_close_ int fd = -EBADF;
	if (strcmp(file, "-") != 0) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cli_failf(ctx, "apply to %s: open %s: %m", key, file);
	} else if (isatty(STDIN_FILENO)) {
		return cli_spec_usage_error(ctx, &cli_spec_snapshot_apply,
					    "refusing to read a tar from a terminal: give FILE or a pipe");
	}
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_error err = { 0 };
	struct snap_layer_digests d = { 0 };
	if (snap_layer_apply_fd(core, key, fd >= 0 ? fd : STDIN_FILENO, &d, &err) < 0)
		return cli_fail(ctx, &err);
	if (ctx->json)
		printf("{\"diff_id\":\"%s\",\"digest\":\"%s\",\"size\":%llu,\"entries\":%llu}\n", d.diff_id,
		       d.blob_digest, (unsigned long long)d.blob_size, (unsigned long long)d.entries);
	else
		cli_verbose(ctx, "applied %llu entries to %s (diff ID %s)", (unsigned long long)d.entries, key, d.diff_id);
	return EXIT_SUCCESS;
}

/* snapctl-layers' `snapshot` command: the same dispatch as cmd_snapshot
 * (cmd-snapshot.c), over the two subcommands that move layer tars. */
int cmd_snapshot_layers(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_command layer_commands[] = {
		{ &cli_spec_snapshot_diff, sc_diff },
		{ &cli_spec_snapshot_apply, sc_apply },
		{ NULL, NULL },
	};
	struct cli_parser p = { .spec = &cli_spec_snapshot };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0)
		;
	if (c < 0)
		return cli_flags_exit(c);
	for (const struct cli_command *sc = layer_commands; sc->spec; sc++)
		if (strcmp(sc->spec->name, argv[optind]) == 0)
			return sc->fn(ctx, argc - optind, argv + optind);
	return cli_spec_usage_error(ctx, &cli_spec_snapshot, "'snapshot %s' is not a layer command", argv[optind]);
}
