/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl commit [-m MSG] [-a AUTHOR] [-c CHANGE]... [--pause=false] [--compression gzip|zstd]
 *                CONTAINER NAME:TAG
 *
 * The container's changes become a new layer on its image (the image
 * store's commit: layer tar from the layer engine into the content store,
 * a committed snapshot of the new chain ID, config + manifest with a
 * history entry).  As with docker, the container stays as it is: its
 * active snapshot is only read, never consumed by a snapshot commit, so
 * it can be committed again, diffed or run on.
 *
 * A running container is paused (its cgroup frozen) while its layer is
 * read, as `docker commit` does by default, so that the layer is one
 * moment of its tree; --pause=false reads it live (the tar writer then
 * refuses an entry that changed type or identity under it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "container-cgroup.h"
#include "container-cli.h"
#include "container-store.h"
#include "image/image.h"
#include "spec/specs.h"
#include "util/macro.h"

/* --pause, --pause=true, --pause=false */
static int parse_pause(const char *arg, bool *ret)
{
	if (!arg || strcmp(arg, "true") == 0)
		*ret = true;
	else if (strcmp(arg, "false") == 0)
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

int cmd_commit(struct cli_ctx *ctx, int argc, char **argv)
{
	struct snap_image_commit_opts opts = { .compression = SNAP_COMPRESS_GZIP };
	_cleanup_free_ const char **changes = NULL;
	bool pause = true;
	struct cli_parser p = { .spec = &cli_spec_commit };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'm':
			opts.comment = optarg;
			break;
		case 'a':
			opts.author = optarg;
			break;
		case 'c': {
			const char **v = reallocarray(changes, opts.n_changes + 1, sizeof(char *));
			if (!v)
				return cli_failf(ctx, "commit: %s", strerror(ENOMEM));
			changes = v;
			changes[opts.n_changes++] = optarg;
			break;
		}
		case 'z':
			if (strcmp(optarg, "gzip") == 0)
				opts.compression = SNAP_COMPRESS_GZIP;
			else if (strcmp(optarg, "zstd") == 0)
				opts.compression = SNAP_COMPRESS_ZSTD;
			else
				return cli_spec_usage_error(ctx, &cli_spec_commit, "--compression is gzip or zstd, not \"%s\"",
							    optarg);
			break;
		case 'p':
			if (parse_pause(optarg, &pause) < 0)
				return cli_spec_usage_error(ctx, &cli_spec_commit, "--pause is true or false, not \"%s\"",
							    optarg);
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	opts.changes = changes;

	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_error err = { 0 };
	_cleanup_(snap_container_rec_done) struct snap_container_rec rec = { 0 };
	if (snap_container_store_get(core, argv[optind], &rec, &err) < 0)
		return cli_fail(ctx, &err);
	_cleanup_free_ char *created_by = container_command_display(rec.command);
	if (!created_by)
		return cli_failf(ctx, "commit: %s", strerror(ENOMEM));

	opts.snapshot_key = rec.snapshot;
	opts.base = rec.image_id;
	opts.name = argv[optind + 1];
	opts.created_by = created_by;
	opts.container_config = rec.config;
	_cleanup_(snap_image_done) struct snap_image img = { 0 };
	bool frozen = false;
	if (pause && container_is_running(&rec)) {
		int r = snap_cgroup_freeze(rec.id, true, &err);
		if (r == -EOPNOTSUPP || r == -ENOENT)
			cli_notice(ctx, "warning: commit of %s without pausing it: %s", rec.name, err.message);
		else if (r < 0)
			return cli_fail(ctx, &err);
		frozen = r == 0;
		snap_error_clear(&err);
	}
	int r = snap_image_commit(core, &opts, &img, &err);
	struct snap_error thaw_err = { 0 };
	if (frozen && snap_cgroup_freeze(rec.id, false, &thaw_err) < 0)
		cli_notice(ctx, "warning: resume %s: %s", rec.name, thaw_err.message);
	if (r < 0)
		return cli_fail(ctx, &err);
	if (ctx->json)
		printf("{\"id\":\"%s\",\"name\":\"%s\"}\n", img.id, img.name ? snap_image_ref_familiar(img.name) : "");
	else
		printf("%s\n", img.id);
	return EXIT_SUCCESS;
}
