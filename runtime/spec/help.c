/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

const struct cli_spec cli_spec_help = {
	.name = "help",
	.args = "[COMMAND [SUBCOMMAND]]",
	.summary = "help about a command",
	.description = "Print the help of COMMAND (the same as COMMAND --help), or of snapctl itself.",
	.examples = "snapctl help run\n"
		    "snapctl help snapshot prepare",
	.max_args = 2,
	.complete_args = CLI_COMPLETE_COMMAND,
};
