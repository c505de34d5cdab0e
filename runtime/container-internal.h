/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the launcher's files: container.c (host side),
 * container-init.c (pid 1 and the command), container-mounts.c (rootfs),
 * container-etc.c (hostname, hosts, resolv.conf),
 * container-user.c (passwd/group), container-pty.c (terminal), and
 * container-sync.c (messages from the container to the host). */
#ifndef SNAP_CONTAINER_INTERNAL_H
#define SNAP_CONTAINER_INTERNAL_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

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
