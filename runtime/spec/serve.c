/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "address", .key = 'a', .short_opt = true, .arg = "PATH", .complete = CLI_COMPLETE_FILE,
	  .help = "unix socket to listen on (default /run/snapctl/snapctl.sock)" },
	{ .name = "workers", .key = 'w', .short_opt = true, .arg = "N", .help = "writer threads, each with its own database connection; as many reader threads answer Stat, Usage, Mounts and List beside them (default 4)" },
	{ .name = "grace", .key = 'g', .short_opt = true, .arg = "SECONDS",
	  .help = "on SIGTERM, how long calls in flight may take to finish (default 3)" },
	{ 0 },
};

const struct cli_spec cli_spec_serve = {
	.name = "serve",
	.summary = "containerd snapshots.v1 gRPC service on a unix socket",
	.description = "Serve containerd's snapshots.v1 API on a unix socket, in the foreground until SIGTERM "
		       "or SIGINT, for containerd's proxy plugin:\n\n"
		       "  [proxy_plugins.snapctl]\n"
		       "    type = \"snapshot\"\n"
		       "    address = \"/run/snapctl/snapctl.sock\"",
	.examples = "snapctl --root /var/lib/snapctl serve --address /run/snapctl/snapctl.sock",
	.flags = flags,
};
