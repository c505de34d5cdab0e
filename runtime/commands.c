/* SPDX-License-Identifier: Apache-2.0 */
/* The commands of snapctl: each one's table (spec/NAME.c) and code
 * (cmd-NAME.c).  serve, bench, fstest and the commands that read or write
 * layer tars run in helper executables (cmd-helper.c). */
#include "cli.h"
#include "commands.h"
#include "spec/specs.h"

const struct cli_command cli_commands[] = {
	{ &cli_spec_snapshot, cmd_snapshot },
	{ &cli_spec_info, cmd_info },
	{ &cli_spec_check, cmd_exec_layers },
	{ &cli_spec_gc, cmd_exec_layers },
	{ &cli_spec_run, cmd_run },
	{ &cli_spec_ps, cmd_ps },
	{ &cli_spec_diff, cmd_exec_layers },
	{ &cli_spec_commit, cmd_exec_layers },
	{ &cli_spec_rm, cmd_rm },
	{ &cli_spec_import, cmd_exec_layers },
	{ &cli_spec_import_rootfs, cmd_exec_layers },
	{ &cli_spec_images, cmd_images },
	{ &cli_spec_history, cmd_history },
	{ &cli_spec_export, cmd_exec_layers },
	{ &cli_spec_rmi, cmd_rmi },
	{ &cli_spec_tag, cmd_tag },
	{ &cli_spec_inspect, cmd_inspect },
	{ &cli_spec_image, cmd_image },
	{ &cli_spec_verify, cmd_exec_layers },
	{ &cli_spec_serve, cmd_exec_helper },
	{ &cli_spec_bench, cmd_exec_helper },
	{ &cli_spec_fstest, cmd_exec_helper },
	{ &cli_spec_help, cmd_help },
	{ NULL, NULL },
};
