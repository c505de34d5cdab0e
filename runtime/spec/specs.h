/* SPDX-License-Identifier: Apache-2.0 */
/* The command tables (one file each in this directory), for the dispatch
 * tables of the binaries (runtime/commands*.c) and the generator. */
#ifndef SNAP_SPECS_H
#define SNAP_SPECS_H

#include "cli-spec.h"

/* The keys of the global options (spec/snapctl.c, main.c). */
enum {
	GLOBAL_ROOT = 0x100,
	GLOBAL_DRIVER,
	GLOBAL_BTRFS_SIZE,
	GLOBAL_PLUGIN_DIR,
	GLOBAL_JSON,
	GLOBAL_VERSION,
	GLOBAL_SYNC,
};

extern const struct cli_spec cli_spec_snapshot;
extern const struct cli_spec cli_spec_snapshot_prepare;
extern const struct cli_spec cli_spec_snapshot_view;
extern const struct cli_spec cli_spec_snapshot_commit;
extern const struct cli_spec cli_spec_snapshot_rm;
extern const struct cli_spec cli_spec_snapshot_ls;
extern const struct cli_spec cli_spec_snapshot_info;
extern const struct cli_spec cli_spec_snapshot_label;
extern const struct cli_spec cli_spec_snapshot_usage;
extern const struct cli_spec cli_spec_snapshot_tree;
extern const struct cli_spec cli_spec_snapshot_mounts;
extern const struct cli_spec cli_spec_snapshot_mount;
extern const struct cli_spec cli_spec_snapshot_unmount;
extern const struct cli_spec cli_spec_snapshot_diff;
extern const struct cli_spec cli_spec_snapshot_apply;
extern const struct cli_spec cli_spec_info;
extern const struct cli_spec cli_spec_check;
extern const struct cli_spec cli_spec_gc;
extern const struct cli_spec cli_spec_run;
extern const struct cli_spec cli_spec_ps;
extern const struct cli_spec cli_spec_diff;
extern const struct cli_spec cli_spec_commit;
extern const struct cli_spec cli_spec_rm;
extern const struct cli_spec cli_spec_import;
extern const struct cli_spec cli_spec_import_rootfs;
extern const struct cli_spec cli_spec_images;
extern const struct cli_spec cli_spec_history;
extern const struct cli_spec cli_spec_export;
extern const struct cli_spec cli_spec_rmi;
extern const struct cli_spec cli_spec_tag;
extern const struct cli_spec cli_spec_inspect;
extern const struct cli_spec cli_spec_image;
extern const struct cli_spec cli_spec_image_prune;
extern const struct cli_spec cli_spec_verify;
extern const struct cli_spec cli_spec_serve;
extern const struct cli_spec cli_spec_bench;
extern const struct cli_spec cli_spec_fstest;
extern const struct cli_spec cli_spec_help;

#endif
