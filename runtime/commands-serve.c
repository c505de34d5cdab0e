/* SPDX-License-Identifier: Apache-2.0 */
/* The command table of snapctl-serve (see cmd-helper.c). */
#include "cli.h"
#include "commands.h"

const struct cli_command cli_commands[] = {
	{ "serve", cmd_serve, "serve --address PATH", "containerd snapshots.v1 gRPC service on a unix socket" },
	{ NULL, NULL, NULL, NULL },
};
