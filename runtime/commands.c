/* SPDX-License-Identifier: Apache-2.0 */
/* The command table: one line per command; each lives in runtime/cmd-*.c. */
#include "cli.h"
#include "commands.h"

const struct cli_command cli_commands[] = {
	{ "snapshot", cmd_snapshot, "snapshot COMMAND ...", "manage snapshots (containerd semantics)" },
	{ "info", cmd_info, "info", "driver, kernel features, root and counts" },
	{ "check", cmd_check, "check [--repair]", "metadata against disk: orphans, missing dirs, stale mounts" },
	{ "gc", cmd_gc, "gc", "remove unreferenced snapshots, layers and content" },
	{ "run", cmd_run, "run [--rm] [--name N] [-e K=V] [-w DIR] [--hostname H] [--net host|none] [-u USER] [-i] [-t] IMAGE [CMD [ARG...]]", "run a command in a new container" },
	{ "ps", cmd_ps, "ps [-a] [-q] [--no-trunc]", "list containers" },
	{ "diff", cmd_diff, "diff CONTAINER", "changes in a container's filesystem" },
	{ "commit", cmd_commit, "commit [-m MSG] [-a AUTHOR] [-c CHANGE]... CONTAINER NAME:TAG", "make an image from a container's changes" },
	{ "rm", cmd_rm, "rm [-f] CONTAINER...", "remove containers and their snapshots" },
	{ "import", cmd_import, "import [--name NAME:TAG] PATH", "import an OCI layout, OCI archive or docker-save tar" },
	{ "import-rootfs", cmd_import_rootfs, "import-rootfs DIR|TAR NAME:TAG", "make a one-layer image from a directory or a tar" },
	{ "images", cmd_images, "images [--json] [--no-trunc]", "list images: NAME:TAG ID LAYERS SIZE CREATED" },
	{ "history", cmd_history, "history [--no-trunc] [-H] [--json] IMAGE", "show how an image was built" },
	{ "export", cmd_export, "export IMAGE PATH", "write an image as an OCI layout dir (or an OCI archive: *.tar)" },
	{ "rmi", cmd_rmi, "rmi [-f] IMAGE...", "remove images" },
	{ "verify", cmd_verify, "verify [--json] IMAGE...|--all", "check images against disk: diff IDs re-derived from the snapshots, blob digests" },
	{ "serve", cmd_exec_helper, "serve [--address PATH] [--workers N] [--grace SECONDS]", "containerd snapshots.v1 gRPC service on a unix socket" },
	{ "bench", cmd_exec_helper, "bench [--drivers LIST] [--workload NAME]... [--json FILE] [--svg FILE]", "measure and compare the drivers on the same work" },
	{ NULL, NULL, NULL, NULL },
};
