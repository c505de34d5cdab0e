/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the launcher's files, one per concern:
 * container.c (host side), container-init.c (pid 1 and the command),
 * container-mounts.c (rootfs, /proc, /sys, pivot_root),
 * container-devices.c (/dev and the device policy), container-volumes.c
 * (bind mounts of host paths, mount points), container-masks.c
 * (masked and read-only paths), container-etc.c (hostname, hosts,
 * resolv.conf), container-net.c (loopback), container-keyring.c,
 * container-seccomp.c (the profile), container-userns.c (user
 * namespace), container-cgroup.c with cgroup-v1.c and cgroup-v2.c,
 * container-user.c (passwd/group), container-pty.c (terminal), and
 * container-sync.c (messages to the host). */
#ifndef SNAP_CONTAINER_INTERNAL_H
#define SNAP_CONTAINER_INTERNAL_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "container-cgroup.h"
#include "container.h"

/* The command's credentials, resolved on the host before the clone. */
struct container_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups */
	size_t n_groups;
	char *home;    /* from passwd; "/" when unknown (docker) */
};
void container_user_done(struct container_user *u);

/* Resolve "uid[:gid]" / "name[:group]" against rootfd's /etc/passwd and
 * /etc/group, read with snap_openat_in_root so that a symlink in the image
 * never leads out of it.  NULL or "" means root.  Docker's rules: a numeric
 * uid need not exist in passwd (gid 0, home "/"), a name must; supplementary
 * groups are those of /etc/group listing the user's name. */
int container_user_resolve(int rootfd, const char *user, struct container_user *ret,
			   struct snap_error *err);

/* Everything init and the command need, prepared before the clone so that
 * the children only do system calls on memory they inherited. */
struct container_launch {
	const struct snap_container_spec *spec;
	struct container_user user;
	char **env;            /* final environment, NULL-terminated */
	int sock;              /* the container's end of the sync socket */
	bool have_winsize;
	struct winsize winsize;
	struct container_cgroup *cgroup; /* NULL: the caller's cgroups */
	void *seccomp;         /* scmp_filter_ctx, NULL when unconfined */
	int hidden_fd;         /* the command: EOF once init's cmdline is clean */
	int userns_fd;         /* init: a byte once the id maps are written, or -EBADF */
};

/* Run as pid 1 in the new namespaces; never returns. */
_Noreturn void container_init_main(struct container_launch *l);

/* Inside the new mount namespace: make the tree private, bind the rootfs,
 * mount /proc, /dev (+pts, shm, mqueue), /sys read-only, then pivot_root
 * into it.  On return "/" is the container's root. */
int container_mounts_setup(const struct snap_container_spec *spec, struct snap_error *err);

/* Bind runtime-written /etc/hostname, /etc/hosts and /etc/resolv.conf over
 * the image's own (only where the image has them), before pivot_root. */
int container_etc_setup(int rootfd, const struct snap_container_spec *spec, struct snap_error *err);

/* O_PATH fd of mount point `path` in the rootfs (resolved in it), a
 * directory or (dir false) a file, created with its missing parents when
 * absent; an existing one of the other type is an error. */
int container_mountpoint_open(int rootfd, const char *path, bool dir, struct snap_error *err);
/* Bind spec->volumes (nodev, private, recursive; :ro read-only). */
int container_volumes_mount(int rootfd, const struct snap_container_spec *spec, struct snap_error *err);

/* The device policy: make every mount of the (bound) rootfs nodev, so that
 * a device node the image ships or the container creates cannot be opened. */
int container_devices_rootfs_nodev(const char *rootfs, struct snap_error *err);
/* A nodev tmpfs on the rootfs' /dev holding only the allowed devices, bound
 * from the host's (null, zero, full, random, urandom, tty), its own devpts
 * instance (ptmx), shm and mqueue. */
int container_devices_setup(int rootfd, struct snap_error *err);

/* moby's masked paths (an empty read-only tmpfs over a directory, /dev/null
 * over a file) and read-only paths, in the container's /proc and /sys. */
int container_masks_apply(int procfd, int sysfd, struct snap_error *err);

/* Mount helpers on a target opened O_PATH (through /proc/self/fd/N, so the
 * path mounted on is the one that was checked). */
int container_mount_fd(const char *source, int target_fd, const char *fstype, unsigned long flags,
		       const char *data, const char *what, struct snap_error *err);
int container_remount_ro_fd(int target_fd, unsigned long keep_flags, const char *what,
			    struct snap_error *err);

/* The user namespace (spec->userns), container-userns.c.  Host side,
 * between the clone and letting init go on: write init's uid_map and
 * gid_map.  Init, first thing: wait for that (EOF on `wait_fd` without a
 * byte: the host gave up, exit), then become root of the namespace. */
int container_userns_write_maps(pid_t pid, const struct snap_container_spec *spec, struct snap_error *err);
int container_userns_wait(int wait_fd, struct snap_error *err);
int container_userns_become_root(struct snap_error *err);
/* /sys where sysfs cannot be mounted: in a user namespace that does not own
 * the network namespace (--net host), a read-only recursive bind of the
 * host's, as runc does. */
int container_userns_bind_sys(int target_fd, struct snap_error *err);

/* Bring lo up in the container's own network namespace. */
int container_net_setup(const struct snap_container_spec *spec, struct snap_error *err);

/* A fresh, anonymous session keyring (the caller's keys stay out). */
int container_keyring_new(struct snap_error *err);

/* Compile docker's default seccomp profile for this architecture (host
 * side, before the clone); load it in the command (it needs CAP_SYS_ADMIN,
 * no no_new_privs, so setuid binaries keep working as under docker). */
int container_seccomp_prepare(void **ret, struct snap_error *err);
int container_seccomp_load(void *filter, struct snap_error *err);
void container_seccomp_free(void *filter);

/* Sync messages, container -> host, on a SOCK_SEQPACKET pair.  The host
 * reads until EOF: EOF without an error message means the command was
 * exec'd (every copy of the container's end is CLOEXEC or closed). */
enum {
	CONTAINER_MSG_ERROR = 1, /* code + text: the container could not start */
	CONTAINER_MSG_PTY = 2,   /* carries the pty master as SCM_RIGHTS */
};
struct container_msg {
	int32_t type;
	int32_t code;
	char text[SNAP_ERROR_MSG_MAX];
};
int container_send_error(int sock, const struct snap_error *err);
int container_send_fd(int sock, int type, int fd);
/* Returns 1 with a message (and *ret_fd >= 0 when one came along), 0 at
 * EOF, or -errno. */
int container_recv(int sock, struct container_msg *msg, int *ret_fd);

/* Open a pty pair on the container's /dev/ptmx (its devpts instance) with
 * the given window size (may be NULL). */
int container_pty_open(const struct winsize *ws, int *ret_master, int *ret_slave,
		       struct snap_error *err);

#endif
