/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl rm [-f] CONTAINER...: remove containers and their snapshots. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "container-cli.h"
#include "container-store.h"
#include "util/macro.h"

static const char usage[] = "rm [-f] CONTAINER...";

static int remove_one(struct cli_ctx *ctx, struct snap_core *core, const char *ref, bool force)
{
	struct snap_error err = { 0 };
	_cleanup_(snap_container_rec_done) struct snap_container_rec rec = { 0 };
	if (snap_container_store_get(core, ref, &rec, &err) < 0)
		return cli_fail(ctx, &err);
	if (container_is_running(&rec)) {
		if (!force)
			return cli_failf(ctx, "cannot remove container %s: it is running (stop it or use -f)", ref);
		/* Kill the `snapctl run` holding the container: its init
		 * follows (PDEATHSIG), and its mount namespace with the
		 * rootfs mount goes with it.  Wait for that before removing
		 * the snapshot under it. */
		if (kill((pid_t)rec.pid, SIGKILL) < 0 && errno != ESRCH)
			return cli_failf(ctx, "kill container %s: %s", ref, strerror(errno));
		int64_t start;
		for (int i = 0; i < 1000 && container_pid_start((pid_t)rec.pid, &start) == 0 &&
				start == rec.pid_start;
		     i++)
			usleep(10000);
	}
	if (container_remove(core, &rec, &err) < 0)
		return cli_fail(ctx, &err);
	printf("%s\n", ref);
	return EXIT_SUCCESS;
}

int cmd_rm(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool force = false;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+fh", options, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			printf("usage: snapctl %s\n", usage);
			return EXIT_SUCCESS;
		default:
			return cli_usage_error(ctx, usage, "rm: unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error(ctx, usage, "rm: expected at least one CONTAINER");
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	int ret = EXIT_SUCCESS;
	for (int i = optind; i < argc; i++)
		if (remove_one(ctx, core, argv[i], force) != EXIT_SUCCESS)
			ret = EXIT_FAILURE;
	return ret;
}
