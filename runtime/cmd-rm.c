/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl rm [-f] CONTAINER...: remove containers and their snapshots. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "container-cli.h"
#include "container-store.h"
#include "snapshot-output.h"
#include "spec/specs.h"
#include "util/macro.h"


static int remove_one(struct cli_ctx *ctx, struct snap_core *core, const char *ref, bool force, json_t *out)
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
	if (out)
		json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "container", ref, "id", rec.id, "name",
						     rec.name));
	else
		printf("%s\n", ref);
	return EXIT_SUCCESS;
}

int cmd_rm(struct cli_ctx *ctx, int argc, char **argv)
{
	bool force = false;
	struct cli_parser p = { .spec = &cli_spec_rm };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'f':
			force = true;
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	int ret = EXIT_SUCCESS;
	/* --json: one array of the containers removed; failures are on
	 * stderr and in the exit status as without it */
	json_t *out = ctx->json ? json_array() : NULL;
	for (int i = optind; i < argc; i++)
		if (remove_one(ctx, core, argv[i], force, out) != EXIT_SUCCESS)
			ret = EXIT_FAILURE;
	if (out)
		print_json(out, JSON_INDENT(2));
	return ret;
}
