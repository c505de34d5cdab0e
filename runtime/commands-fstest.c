/* SPDX-License-Identifier: Apache-2.0 */
/* The command table of snapctl-fstest (see cmd-helper.c). */
#include "cli.h"
#include "commands.h"
#include "spec/specs.h"

const struct cli_command cli_commands[] = {
	{ &cli_spec_fstest, cmd_fstest },
	{ NULL, NULL },
};
