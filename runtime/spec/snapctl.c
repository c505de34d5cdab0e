/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl's global options and its commands, in the order help lists them. */
#include <string.h>

#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "root", .key = GLOBAL_ROOT, .arg = "DIR", .complete = CLI_COMPLETE_DIR,
	  .help = "state directory: metadata database, layers, content store (SNAPCTL_ROOT, default /var/lib/snapctl)" },
	{ .name = "driver", .key = GLOBAL_DRIVER, .arg = "NAME", .complete = CLI_COMPLETE_WORDS,
	  .words = "auto overlay btrfs vfs",
	  .help = "overlay, btrfs, vfs, a plugin's name, or auto: overlay where the kernel allows it, else vfs "
		  "(SNAPCTL_DRIVER); a root keeps the driver it was created with" },
	{ .name = "btrfs-size", .key = GLOBAL_BTRFS_SIZE, .arg = "SIZE",
	  .help = "size of the loopback btrfs image the btrfs driver creates when the root is not on btrfs "
		  "(SNAPCTL_BTRFS_SIZE, default 16G)" },
	{ .name = "plugin-dir", .key = GLOBAL_PLUGIN_DIR, .arg = "DIR", .complete = CLI_COMPLETE_DIR,
	  .help = "where driver plugins (.so) are loaded from (SNAPCTL_PLUGIN_PATH)" },
	{ .name = "sync", .key = GLOBAL_SYNC, .arg = "MODE", .complete = CLI_COMPLETE_WORDS,
	  .words = "blob full none",
	  .help = "blob: import and commit return with the layer blobs and the metadata on disk, the unpacked "
		  "trees unsynced and checked (rebuilt from their blob if damaged) after a reboot; snapshot apply "
		  "syncs its tree; full: also every unpacked tree is on disk on return (syncfs of its filesystem, "
		  "which waits for other processes' writes there too); none: nothing is flushed, for scratch roots "
		  "a power loss may lose (SNAPCTL_SYNC, default blob)" },
	{ .name = "json", .key = GLOBAL_JSON, .help = "machine-readable output: one JSON document, or one per line for streams" },
	{ .name = "quiet", .key = 'q', .short_opt = true, .help = "print less on standard error" },
	{ .name = "verbose", .key = 'v', .short_opt = true, .help = "print more on standard error" },
	{ .name = "version", .key = GLOBAL_VERSION, .help = "print the version and exit" },
	{ 0 },
};

static const struct cli_spec *const commands[] = {
	&cli_spec_run,
	&cli_spec_ps,
	&cli_spec_diff,
	&cli_spec_commit,
	&cli_spec_rm,
	&cli_spec_images,
	&cli_spec_import,
	&cli_spec_import_rootfs,
	&cli_spec_history,
	&cli_spec_export,
	&cli_spec_rmi,
	&cli_spec_tag,
	&cli_spec_inspect,
	&cli_spec_image,
	&cli_spec_verify,
	&cli_spec_snapshot,
	&cli_spec_info,
	&cli_spec_check,
	&cli_spec_gc,
	&cli_spec_serve,
	&cli_spec_bench,
	&cli_spec_fstest,
	&cli_spec_help,
	NULL,
};

const struct cli_spec cli_spec_snapctl = {
	.name = "snapctl",
	.args = "COMMAND [ARG...]",
	.summary = "container snapshots and images on overlayfs, btrfs or plain copies",
	.description =
		"snapctl keeps container filesystems as snapshots with containerd's snapshotter semantics, "
		"on overlayfs, btrfs subvolumes or plain copies (vfs), or a driver plugin. On top of the "
		"snapshots it imports, runs, commits and exports OCI images the way docker and podman do, "
		"and serves the snapshots to containerd as a proxy snapshotter plugin.\n\n"
		"Global options go before the command; each command has its own options after it. "
		"Exit status: 0 success, 1 the operation failed (the message on standard error says what, "
		"on which object and why), 2 usage error, 125 run could not start the container; "
		"otherwise run exits with the container's status (128+N when killed by signal N).\n\n"
		"Environment: SNAPCTL_ROOT, SNAPCTL_DRIVER, SNAPCTL_BTRFS_SIZE, SNAPCTL_PLUGIN_PATH and "
		"SNAPCTL_SYNC are the defaults of --root, --driver, --btrfs-size, --plugin-dir and --sync "
		"(SNAPCTL_PLUGIN_PATH may list several directories separated by ':'); SNAPCTL_NAMESPACE "
		"is the containerd namespace of the snapshot commands (see snapctl help snapshot); "
		"SNAPCTL_NO_OPENAT2=1 "
		"resolves paths without openat2(2) (for testing the fallback); TMPDIR is where info probes "
		"kernel features when no root is open.\n\n"
		"Helper executables: the commands that read or write layer tars (import, import-rootfs, "
		"export, commit, diff, verify, snapshot diff and apply) run in snapctl-layers, serve in "
		"snapctl-serve, bench in snapctl-bench and fstest in snapctl-fstest, so that the other "
		"commands do not load their libraries.  snapctl runs them from its own directory, else "
		"from PREFIX/libexec/snapctl; they take the same "
		"arguments and are not meant to be run by hand.",
	.examples = "snapctl import busybox.tar\n"
		    "snapctl run --rm busybox echo hello\n"
		    "snapctl --driver btrfs --root /srv/snapctl images\n"
		    "snapctl help run",
	.flags = flags,
	.subcommands = commands,
	.max_args = -1,
};

const struct cli_spec *cli_spec_find(const struct cli_spec *parent, const char *name)
{
	for (const struct cli_spec *const *c = parent->subcommands; c && *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}
