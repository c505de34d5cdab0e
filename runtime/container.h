/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container launcher: run one command in new mount, pid, uts, ipc and
 * network namespaces (and a user namespace with spec->userns) (the host's network with SNAP_NET_HOST), a cgroup of
 * its own, a fresh session keyring and docker's default seccomp profile, on
 * a root filesystem that is already mounted (or a plain directory).
 * docs/runtime.md describes the isolation and why it is built this way.
 *
 * Process layout:
 *
 *   snapctl (host)                 waits, forwards signals, proxies the pty
 *     `- init (pid 1 inside)       sets up mounts, pivot_root, hostname,
 *          |                       then reaps zombies and forwards signals
 *          `- command (pid 2)      user, groups, cwd, env, stdio, exec
 *
 * Init is a forked copy of snapctl, not a separate binary.  Errors before the
 * command's exec (a mount that fails, a missing binary) travel back to the
 * caller through a CLOEXEC socket: its peer closes without a message when
 * exec succeeds.  Everything the container mounts lives in its own mount
 * namespace and disappears with it.
 *
 * Functions return 0 or a negative errno and fill *err; they never print.
 */
#ifndef SNAP_CONTAINER_H
#define SNAP_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>
#include <snapctl/driver.h>

enum snap_net_mode {
	SNAP_NET_HOST = 0, /* share the host's network namespace */
	SNAP_NET_NONE = 1, /* a new network namespace with only lo, up (the default) */
};

/* The container's cgroup limits; 0 in a field means "no limit". */
struct snap_container_limits {
	int64_t pids;      /* pids.max; snap_container_spec_init: SNAP_CONTAINER_PIDS_DEFAULT */
	int64_t memory;    /* bytes (memory.limit_in_bytes / memory.max) */
	int64_t cpu_milli; /* thousandths of a CPU (--cpus 1.5 = 1500) */
};
/* podman's default pids limit (docker has none by default). */
#define SNAP_CONTAINER_PIDS_DEFAULT 4096

/* A host path bound into the container (run -v HOST:CTR[:ro]). */
struct snap_container_volume {
	const char *source; /* absolute host path: a directory or a file */
	const char *target; /* absolute path inside the container, resolved in the rootfs */
	bool readonly;      /* read-only, recursively */
};

struct snap_container_spec {
	const char *rootfs;     /* absolute path of the root filesystem (host side) */
	char *const *argv;      /* the command; argv[0] is looked up in the container's PATH */
	char *const *env;       /* "K=V", NULL-terminated, may be NULL; PATH, HOME,
				 * HOSTNAME (and TERM with a tty) are added when missing */
	const char *cwd;        /* NULL or "": "/"; created when missing, like docker */
	const char *user;       /* "uid[:gid]" or "name[:group]" (names from the image's
				 * /etc/passwd and /etc/group); NULL or "": root */
	const char *hostname;   /* NULL: keep the host's name in the new uts namespace */
	int net;                /* enum snap_net_mode */
	bool stdin_open;        /* -i: the command reads our stdin (else /dev/null) */
	bool tty;               /* -t: a pseudo-terminal from the container's /dev/pts */
	int stdio[3];           /* fds handed to the command without a tty
				 * (snap_container_spec_init: 0, 1, 2) */
	const char *cgroup;     /* NULL: stay in the caller's cgroups; else the name
				 * of the container's own cgroup (its id) below
				 * "snapctl/" in every hierarchy, removed at the end */
	struct snap_container_limits limits;
	bool seccomp_unconfined; /* --security-opt seccomp=unconfined */
	const struct snap_container_volume *volumes; /* bound after /proc, /dev, /sys */
	size_t n_volumes;
	bool userns;            /* a new user namespace: container ids 0..userns_size-1 are
				 * host uids userns_uid.. and gids userns_gid.. (written
				 * by the host before init goes on; container-userns.c) */
	uint32_t userns_uid, userns_gid, userns_size;
	uint64_t reserved[4];
};

void snap_container_spec_init(struct snap_container_spec *spec);

struct snap_container;

/* Create the mount points the container's tree needs in the directory
 * `rootfs` where they are missing: /proc, /sys, /dev and the volumes'
 * targets (a directory, or an empty file for a file), each resolved inside
 * rootfs.  `run` does it in the container's init layer, so that they stay
 * out of the container's own layer (diff, commit); the launcher creates
 * whatever is still missing itself. */
int snap_container_mountpoints_make(const char *rootfs, const struct snap_container_spec *spec,
				    struct snap_error *err);
/* Whether any of those is missing in `rootfs`. */
int snap_container_mountpoints_missing(const char *rootfs, const struct snap_container_spec *spec,
				       bool *ret, struct snap_error *err);

/* Clone the container and wait until its command has been exec'd.  On
 * failure (mount, user lookup, exec) nothing is left running, *err says
 * why, and the return value is negative. */
int snap_container_start(const struct snap_container_spec *spec, struct snap_container **ret,
			 struct snap_error *err);

/* Host pid of the container's init. */
pid_t snap_container_pid(const struct snap_container *c);

/* Wait for the container to exit while forwarding SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT, SIGUSR1 and SIGUSR2 to it and, with a tty, copying stdin/stdout
 * through the pty and passing window size changes on.  *ret_status is the
 * command's exit code, or 128+N when it was killed by signal N. */
int snap_container_wait(struct snap_container *c, int *ret_status, struct snap_error *err);

/* Kill (SIGKILL) a container still running and release the handle. */
void snap_container_free(struct snap_container *c);
static inline void snap_container_freep(struct snap_container **c)
{
	if (*c)
		snap_container_free(*c);
}

/* One line on the seccomp profile containers get (libseccomp version,
 * architectures), for `snapctl info`. */
void snap_container_seccomp_describe(char *buf, size_t len);

/* Move the calling process into a new mount namespace whose mounts do not
 * propagate back to the host (slave): a rootfs mounted afterwards is seen by
 * the containers cloned from here and vanishes when the process exits, so
 * no mount can leak even when the process is killed. */
int snap_container_private_mounts(struct snap_error *err);

#endif
