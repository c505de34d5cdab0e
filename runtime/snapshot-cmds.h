/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot subcommands that live in their own files. */
#ifndef SNAP_SNAPSHOT_CMDS_H
#define SNAP_SNAPSHOT_CMDS_H

#include "cli.h"

int sc_tree(struct cli_ctx *ctx, int argc, char **argv);  /* cmd-snapshot-tree.c */
int sc_diff(struct cli_ctx *ctx, int argc, char **argv);  /* cmd-snapshot-layer.c */
int sc_apply(struct cli_ctx *ctx, int argc, char **argv); /* cmd-snapshot-layer.c */

#endif
