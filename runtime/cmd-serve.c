/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl serve: containerd's snapshots.v1 gRPC service on a unix socket,
 * in the foreground until SIGTERM or SIGINT. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "util/macro.h"
#include "serve.h"
#include "spec/specs.h"

#define SERVE_DEFAULT_ADDRESS "/run/snapctl/snapctl.sock"

static void serve_notice(void *userdata, const char *message)
{
	struct cli_ctx *ctx = userdata;
	cli_notice(ctx, "%s", message);
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int cmd_serve(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *address = SERVE_DEFAULT_ADDRESS;
	unsigned workers = 0, grace_s = 3;
	struct cli_parser p = { .spec = &cli_spec_serve };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'a':
			address = optarg;
			break;
		case 'w':
			if (parse_uint(optarg, SNAP_SERVE_MAX_WORKERS, &workers) < 0 || workers == 0)
				return cli_spec_usage_error(ctx, &cli_spec_serve, "--workers: expected 1..%u, got '%s'",
						       SNAP_SERVE_MAX_WORKERS, optarg);
			break;
		case 'g':
			if (parse_uint(optarg, 3600, &grace_s) < 0)
				return cli_spec_usage_error(ctx, &cli_spec_serve, "--grace: expected seconds, got '%s'",
						       optarg);
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);

	/* Blocked before any thread exists, so gRPC's threads and the workers
	 * inherit the mask and only sigwait() below sees these signals.
	 * SIGPIPE: a client that hangs up must not kill the server. */
	sigset_t stop_set, old_set;
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGHUP);
	sigaddset(&stop_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &stop_set, &old_set);

	/* Every call allocates and frees on a worker's malloc arena; glibc
	 * hands a thread arena's free top back with madvise(MADV_DONTNEED)
	 * once it passes the trim threshold, and on 2 cores under 64 clients
	 * those madvise calls (a TLB shootdown each) were a tenth of the
	 * server's CPU.  A long-lived server keeps its peak instead. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);

	struct snap_serve_opts opts = {
		.address = address,
		.core = {
			.root = ctx->root,
			.driver = ctx->driver,
			.plugin_dir = ctx->plugin_dir,
			.btrfs_size = ctx->btrfs_size,
			.notice = serve_notice,
			.notice_ctx = ctx,
		},
		.workers = workers,
	};
	struct snap_error err = { 0 };
	_cleanup_(snap_serve_freep) struct snap_serve *srv = NULL;
	if (snap_serve_start(&opts, &srv, &err) < 0) {
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
		return cli_fail(ctx, &err);
	}
	cli_notice(ctx, "serving containerd snapshots.v1 on %s (root %s, %u writers, as many readers)",
		   snap_serve_address(srv), ctx->root, workers ? workers : SNAP_SERVE_DEFAULT_WORKERS);

	int sig = 0;
	do {
		if (sigwait(&stop_set, &sig) != 0)
			sig = SIGTERM;
	} while (sig == SIGPIPE);
	cli_verbose(ctx, "%s: stopping, answering calls in flight", strsignal(sig));
	if (snap_serve_stop(srv, grace_s * 1000u) > 0)
		cli_notice(ctx, "calls still running after %us were cancelled", grace_s);
	return EXIT_SUCCESS;
}
