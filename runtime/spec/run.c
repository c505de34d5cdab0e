/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl run: the flags of a new container, one entry each. */
#include "specs.h"
#include "../run-flags.h"

static const struct cli_flag flags[] = {
	{ .name = "rm", .key = RUN_FLAG_RM,
	  .help = "remove the container and its snapshot when it exits" },
	{ .name = "name", .key = RUN_FLAG_NAME, .arg = "NAME",
	  .help = "name the container (default: a generated adjective_name)" },
	{ .name = "env", .key = 'e', .short_opt = true, .arg = "K=V", .flags = CLI_FLAG_MULTI,
	  .help = "set an environment variable (K alone: its value in snapctl's environment, if any)" },
	{ .name = "secret-env", .key = RUN_FLAG_SECRET_ENV, .arg = "NAME=VALUE", .flags = CLI_FLAG_MULTI,
	  .help = "set an environment variable of the command that is written nowhere: not in the container's "
		  "record, a committed image or its history (NAME alone: its value in snapctl's environment, "
		  "which keeps it off snapctl's command line too)" },
	{ .name = "entrypoint", .key = RUN_FLAG_ENTRYPOINT, .arg = "CMD",
	  .help = "run CMD instead of the image's Entrypoint, with the arguments after IMAGE (not the image's "
		  "Cmd); \"\" clears the Entrypoint" },
	{ .name = "volume", .key = 'v', .short_opt = true, .arg = "HOST:CTR[:ro]", .flags = CLI_FLAG_MULTI,
	  .complete = CLI_COMPLETE_FILE,
	  .help = "bind the host file or directory HOST (absolute, existing) on CTR in the container, "
		  "recursively, nodev, read-only with :ro (CTR is resolved inside the container's tree; "
		  "a missing CTR is created in the container's init layer, out of diff and commit)" },
	{ .name = "workdir", .key = 'w', .short_opt = true, .arg = "DIR", .help = "working directory inside the container (absolute)" },
	{ .name = "user", .key = 'u', .short_opt = true, .arg = "USER[:GROUP]",
	  .help = "user (name or UID) and group to run as, looked up in the image's /etc/passwd and /etc/group" },
	{ .name = "hostname", .key = RUN_FLAG_HOSTNAME, .arg = "NAME",
	  .help = "the container's host name (default: the short container ID)" },
	{ .name = "net", .key = RUN_FLAG_NET, .arg = "MODE", .complete = CLI_COMPLETE_WORDS, .words = "none host",
	  .help = "network: none (the default: a private network namespace with lo only) or host (the host's)" },
	{ .name = "network", .key = RUN_FLAG_NET, .arg = "MODE", .flags = CLI_FLAG_HIDDEN,
	  .complete = CLI_COMPLETE_WORDS, .words = "none host", .help = "same as --net" },
	{ .name = "pids-limit", .key = RUN_FLAG_PIDS_LIMIT, .arg = "N",
	  .help = "at most N processes in the container (default 4096; -1: no limit)" },
	{ .name = "memory", .key = RUN_FLAG_MEMORY, .arg = "SIZE",
	  .help = "memory limit: bytes, or with a unit: 512m, 1g (at least 6m)" },
	{ .name = "cpus", .key = RUN_FLAG_CPUS, .arg = "N", .help = "CPU quota in CPUs: 0.5, 2" },
	{ .name = "storage-opt", .key = RUN_FLAG_STORAGE_OPT, .arg = "size=SIZE",
	  .help = "limit the container's writable layer to SIZE (512m, 10g): btrfs (a qgroup limit), "
		  "overlay and vfs on XFS/ext4 mounted with prjquota (a project quota); "
		  "elsewhere run refuses it (snapctl info: size-limits)" },
	{ .name = "userns", .key = RUN_FLAG_USERNS, .arg = "MODE", .complete = CLI_COMPLETE_WORDS,
	  .words = "host auto",
	  .help = "user namespace: host (the default: none), auto (65536 ids no other container uses, from "
		  "the \"containers\" ranges of /etc/subuid and /etc/subgid, else from [2^30, 2^31)) or "
		  "0:HOST_ID:SIZE (container ids 0..SIZE-1 are host uids and gids HOST_ID..); root inside is "
		  "that unprivileged host id outside, on an idmapped rootfs, so files keep the ids as inside "
		  "on disk and commit gives the same layer" },
	{ .name = "security-opt", .key = RUN_FLAG_SECURITY_OPT, .arg = "OPT", .flags = CLI_FLAG_MULTI,
	  .complete = CLI_COMPLETE_WORDS, .words = "seccomp=unconfined",
	  .help = "seccomp=unconfined: no seccomp profile (default: docker's default profile)" },
	{ .name = "interactive", .key = 'i', .short_opt = true, .help = "keep standard input open to the container" },
	{ .name = "tty", .key = 't', .short_opt = true, .help = "give the container a pseudo-terminal" },
	{ 0 },
};

const struct cli_spec cli_spec_run = {
	.name = "run",
	.args = "IMAGE [CMD [ARG...]]",
	.summary = "run a command in a new container",
	.description =
		"Create a container on IMAGE (an active snapshot on the image's top layer), run CMD in it "
		"(default: the image's Entrypoint and Cmd, as docker merges them) and exit with its status: 125 when the container "
		"could not start, 128+N when it was killed by signal N.\n\n"
		"Without --rm the container is kept, stopped, for diff, commit and rm.\n\n"
		"The container gets a private network namespace with lo only, a cgroup of its own with a "
		"pids limit, docker's default seccomp profile, no device but null, zero, full, random, urandom, "
		"tty and its own ptys, moby's masked paths and a fresh session keyring (docs/runtime.md).",
	.examples = "snapctl run --rm busybox echo hello\n"
		    "snapctl run --name build -e CFLAGS=-O2 -w /src busybox make\n"
		    "snapctl run -it busybox sh\n"
		    "snapctl run --rm --entrypoint /bin/ls busybox -l /\n"
		    "snapctl run --rm --secret-env TOKEN busybox printenv TOKEN\n"
		    "snapctl run --rm --userns=auto busybox id",
	.flags = flags,
	.min_args = 1, .max_args = -1,
	.complete_args = CLI_COMPLETE_IMAGE,
};
