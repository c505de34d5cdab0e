/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "quick", .key = 'q', .help = "one backing filesystem (ext4), the default feature set, the new mount API (CI)" },
	{ .name = "scenario", .key = 's', .arg = "GLOB", .help = "run only the scenarios whose name matches GLOB (e.g. 'rename/*')" },
	{ .name = "drivers", .key = 'd', .arg = "LIST",
	  .help = "comma-separated drivers (default vfs,overlay,btrfs and every plugin of --plugin-dir)" },
	{ .name = "feature-sets", .key = 'f', .arg = "LIST", .help = "overlay feature sets to run (default all; see --list)" },
	{ .name = "backing", .key = 'b', .arg = "LIST", .complete = CLI_COMPLETE_WORDS, .words = "ext4 xfs btrfs tmpfs",
	  .help = "backing filesystems of the roots (default ext4,xfs,btrfs,tmpfs)" },
	{ .name = "mount-path", .key = 'm', .arg = "LIST", .complete = CLI_COMPLETE_WORDS, .words = "fsopen mount2",
	  .help = "overlay mount paths: fsopen (new mount API), mount2 (legacy mount(2)); default both" },
	{ .name = "jobs", .key = 'J', .arg = "N", .help = "configurations run at once (default 2)" },
	{ .name = "keep", .key = 'k',
	  .help = "leave failing configurations mounted and wait (Ctrl-C cleans up) for inspection with nsenter" },
	{ .name = "workdir", .key = 'D', .arg = "DIR", .complete = CLI_COMPLETE_DIR,
	  .help = "where images and mount points are made (default /var/tmp)" },
	{ .name = "json", .key = 'j', .arg = "FILE", .complete = CLI_COMPLETE_FILE,
	  .help = "write the report as JSON to FILE (schema: docs/fstest.schema.json)" },
	{ .name = "svg", .key = 'g', .arg = "FILE", .complete = CLI_COMPLETE_FILE, .help = "write a heatmap (scenario family x configuration) as SVG" },
	{ .name = "png", .key = 'p', .arg = "FILE", .complete = CLI_COMPLETE_FILE, .help = "write the heatmap as PNG" },
	{ .name = "verbose-diffs", .key = 'V', .help = "list expected differences too, not only unexpected ones" },
	{ .name = "list", .key = 'l', .help = "list scenarios and feature sets and exit" },
	{ 0 },
};

const struct cli_spec cli_spec_fstest = {
	.name = "fstest",
	.summary = "differential filesystem tests across drivers, overlay features and backing filesystems",
	.description =
		"Run the same scenarios (open, link, rename, unlink, metadata, inode identity, persistence) on every "
		"configuration of a matrix: driver x overlay feature set x backing filesystem (ext4, xfs, btrfs made on "
		"loop devices, or tmpfs) x mount path (new mount API, mount(2)). Each scenario records what a process "
		"observes after each step, after a remount, in a view of the commit, and in the committed layer; every "
		"configuration is compared with the vfs driver on the same backing filesystem.\n\n"
		"Differences listed in docs/fstest.md (documented kernel semantics) are expected; any other is "
		"unexpected and makes the exit status 1. Feature sets the kernel refuses are reported as skipped with its "
		"reason. Everything runs in a private mount namespace and is removed on exit and on Ctrl-C. Needs root.",
	.examples = "snapctl fstest --quick\n"
		    "snapctl fstest --scenario 'rename/*' --feature-sets plain,redirect_dir --backing ext4\n"
		    "snapctl fstest --json fstest.json --svg fstest.svg",
	.flags = flags,
};
