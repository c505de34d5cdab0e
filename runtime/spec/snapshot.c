/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl snapshot ...: containerd's snapshotter calls on the command line. */
#include "specs.h"

static const struct cli_flag label_flags[] = {
	{ .name = "label", .key = 'l', .arg = "K=V", .flags = CLI_FLAG_MULTI,
	  .help = "set label K to V on the new snapshot" },
	{ 0 },
};

const struct cli_spec cli_spec_snapshot_prepare = {
	.name = "prepare",
	.args = "KEY [PARENT]",
	.summary = "new active (writable) snapshot on PARENT; prints its mounts",
	.description = "Create the active snapshot KEY, empty or on the committed snapshot PARENT, "
		       "and print the mounts that make its filesystem (mount them, or use snapshot mount).",
	.examples = "snapctl snapshot prepare --label app=web work base",
	.flags = label_flags,
	.min_args = 1, .max_args = 2,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_view = {
	.name = "view",
	.args = "KEY PARENT",
	.summary = "new read-only view of a committed snapshot",
	.description = "Create KEY, a read-only view of the committed snapshot PARENT, and print its mounts.",
	.flags = label_flags,
	.min_args = 2, .max_args = 2,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_commit = {
	.name = "commit",
	.args = "NAME KEY",
	.summary = "commit the active snapshot KEY as NAME",
	.description = "Make the active snapshot KEY the committed (read-only) snapshot NAME; KEY is gone "
		       "afterwards and NAME can be the parent of new snapshots.",
	.flags = label_flags,
	.min_args = 2, .max_args = 2,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_rm = {
	.name = "rm",
	.args = "KEY...",
	.summary = "remove snapshots that have no children",
	.min_args = 1, .max_args = -1,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

static const struct cli_flag ls_flags[] = {
	{ .name = "filter", .key = 'f', .short_opt = true, .arg = "FILTER", .flags = CLI_FLAG_MULTI,
	  .help = "only snapshots matching a containerd filter, e.g. 'kind==active' or 'labels.\"app\"==web'" },
	{ 0 },
};

const struct cli_spec cli_spec_snapshot_ls = {
	.name = "ls",
	.summary = "list snapshots: KEY PARENT KIND",
	.flags = ls_flags,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_info = {
	.name = "info",
	.args = "KEY",
	.summary = "a snapshot as JSON: name, parent, kind, labels, created, updated",
	.min_args = 1, .max_args = 1,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_label = {
	.name = "label",
	.args = "KEY K=V...",
	.summary = "set labels on a snapshot (K= removes label K)",
	.min_args = 2, .max_args = -1,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_usage = {
	.name = "usage",
	.args = "[KEY]",
	.summary = "disk usage of one snapshot or all: bytes and inodes",
	.max_args = 1,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_tree = {
	.name = "tree",
	.summary = "snapshots as a tree of parents and children",
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_mounts = {
	.name = "mounts",
	.args = "KEY",
	.summary = "the mount list of a snapshot (type, source, options)",
	.min_args = 1, .max_args = 1,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_mount = {
	.name = "mount",
	.args = "KEY TARGET",
	.summary = "mount a snapshot on the directory TARGET",
	.min_args = 2, .max_args = 2,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_unmount = {
	.name = "unmount",
	.args = "TARGET",
	.summary = "unmount a snapshot mounted on TARGET",
	.min_args = 1, .max_args = 1,
	.complete_args = CLI_COMPLETE_DIR,
	.parent = &cli_spec_snapshot,
};

static const struct cli_flag diff_flags[] = {
	{ .name = "output", .key = 'o', .short_opt = true, .arg = "FILE", .complete = CLI_COMPLETE_FILE,
	  .help = "write the tar to FILE (made under a temporary name, renamed when complete) instead of "
		  "standard output" },
	{ .name = "compression", .key = 'c', .arg = "ALGO", .complete = CLI_COMPLETE_WORDS, .words = "none gzip zstd",
	  .help = "compress the tar with none (default), gzip (on every core, pigz-style) or zstd (libzstd's "
		  "workers), as commit --compression does" },
	{ .name = "compress", .key = 'c', .arg = "ALGO", .complete = CLI_COMPLETE_WORDS, .words = "none gzip zstd",
	  .help = "the same as --compression" },
	{ .name = "generic", .key = 'g',
	  .help = "compare the trees file by file instead of the driver's fast path (to compare drivers)" },
	{ 0 },
};

const struct cli_spec cli_spec_snapshot_diff = {
	.name = "diff",
	.args = "KEY",
	.summary = "OCI layer tar of KEY against its parent",
	.description = "Write the changes of snapshot KEY against its parent as an OCI layer tar "
		       "(whiteouts for deletions), uncompressed unless --compress says otherwise.",
	.examples = "snapctl snapshot diff -o layer.tar work",
	.flags = diff_flags,
	.min_args = 1, .max_args = 1,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

const struct cli_spec cli_spec_snapshot_apply = {
	.name = "apply",
	.args = "KEY [FILE|-]",
	.summary = "apply an OCI layer tar (plain, gzip or zstd) to the active snapshot KEY",
	.description = "Unpack an OCI layer tar from FILE, or standard input when FILE is - or missing, "
		       "into the active snapshot KEY: whiteouts delete, opaque directories hide the parent's "
		       "entries.  With --json, prints the layer's diff ID, digest, size and entry count.",
	.examples = "snapctl snapshot apply work layer.tar.gz",
	.min_args = 1, .max_args = 2,
	.complete_args = CLI_COMPLETE_SNAPSHOT,
	.parent = &cli_spec_snapshot,
};

static const struct cli_spec *const subcommands[] = {
	&cli_spec_snapshot_prepare,
	&cli_spec_snapshot_view,
	&cli_spec_snapshot_commit,
	&cli_spec_snapshot_rm,
	&cli_spec_snapshot_ls,
	&cli_spec_snapshot_info,
	&cli_spec_snapshot_label,
	&cli_spec_snapshot_usage,
	&cli_spec_snapshot_tree,
	&cli_spec_snapshot_mounts,
	&cli_spec_snapshot_mount,
	&cli_spec_snapshot_unmount,
	&cli_spec_snapshot_diff,
	&cli_spec_snapshot_apply,
	NULL,
};

const struct cli_spec cli_spec_snapshot = {
	.name = "snapshot",
	.args = "COMMAND",
	.summary = "manage snapshots (containerd snapshotter semantics)",
	.description = "Snapshots are the filesystems of containers and image layers: committed snapshots are "
		       "read-only and can be parents; active ones are writable; views are read-only children. "
		       "These commands are containerd's snapshots API: prepare, view, commit, remove, stat, "
		       "list, usage, mounts.\n\n"
		       "They work in the containerd namespace named by the environment variable "
		       "SNAPCTL_NAMESPACE (like ctr's CONTAINERD_NAMESPACE): the snapshots serve's clients made "
		       "in that namespace.  Unset or empty, they see the namespace '' of snapctl's own images "
		       "and containers.",
	.examples = "snapctl snapshot ls\n"
		    "SNAPCTL_NAMESPACE=k8s.io snapctl snapshot ls",
	.subcommands = subcommands,
	.min_args = 1, .max_args = -1,
};
