/* SPDX-License-Identifier: Apache-2.0 */
/* Entry points of the commands, one per runtime/cmd-*.c file. */
#ifndef SNAP_COMMANDS_H
#define SNAP_COMMANDS_H

#include "cli.h"

int cmd_snapshot(struct cli_ctx *ctx, int argc, char **argv);
int cmd_info(struct cli_ctx *ctx, int argc, char **argv);
int cmd_check(struct cli_ctx *ctx, int argc, char **argv);
int cmd_gc(struct cli_ctx *ctx, int argc, char **argv);
int cmd_run(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ps(struct cli_ctx *ctx, int argc, char **argv);
int cmd_diff(struct cli_ctx *ctx, int argc, char **argv);
int cmd_commit(struct cli_ctx *ctx, int argc, char **argv);
int cmd_rm(struct cli_ctx *ctx, int argc, char **argv);
int cmd_import(struct cli_ctx *ctx, int argc, char **argv);
int cmd_import_rootfs(struct cli_ctx *ctx, int argc, char **argv);
int cmd_images(struct cli_ctx *ctx, int argc, char **argv);
int cmd_history(struct cli_ctx *ctx, int argc, char **argv);
int cmd_export(struct cli_ctx *ctx, int argc, char **argv);
int cmd_rmi(struct cli_ctx *ctx, int argc, char **argv);
int cmd_tag(struct cli_ctx *ctx, int argc, char **argv);
int cmd_inspect(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image(struct cli_ctx *ctx, int argc, char **argv);
int cmd_verify(struct cli_ctx *ctx, int argc, char **argv);
int cmd_serve(struct cli_ctx *ctx, int argc, char **argv);
/* Exec snapctl-<argv[0]> with the whole command line (cmd-helper.c). */
int cmd_exec_helper(struct cli_ctx *ctx, int argc, char **argv);
/* Exec snapctl-layers with the whole command line (cmd-helper.c). */
int cmd_exec_layers(struct cli_ctx *ctx, int argc, char **argv);
/* snapctl-layers' `snapshot`: diff and apply only (cmd-snapshot-layer.c). */
int cmd_snapshot_layers(struct cli_ctx *ctx, int argc, char **argv);
int cmd_help(struct cli_ctx *ctx, int argc, char **argv);
int cmd_bench(struct cli_ctx *ctx, int argc, char **argv);
int cmd_fstest(struct cli_ctx *ctx, int argc, char **argv);

#endif
