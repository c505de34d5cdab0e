/* SPDX-License-Identifier: Apache-2.0 */
/* The command table of snapctl-layers: the commands that read or write
 * layer tars (see cmd-helper.c). */
#include "cli.h"
#include "commands.h"
#include "pending-trees.h"
#include "spec/specs.h"

const struct cli_command cli_commands[] = {
	{ &cli_spec_snapshot, cmd_snapshot_layers },
	{ &cli_spec_diff, cmd_diff },
	{ &cli_spec_commit, cmd_commit },
	{ &cli_spec_import, cmd_import },
	{ &cli_spec_import_rootfs, cmd_import_rootfs },
	{ &cli_spec_export, cmd_export },
	{ &cli_spec_verify, cmd_verify },
	{ &cli_spec_check, cmd_check },
	{ &cli_spec_gc, cmd_gc },
	{ NULL, NULL },
};

/* This executable has the layer engine: its writers recover the layer
 * trees an earlier boot left unsynced when they open the root
 * (core/pending-trees.c), and `check` and `gc` run here for that. */
__attribute__((constructor)) static void register_pending_recover(void)
{
	snap_core_set_pending_recover(snap_pending_recover);
}
