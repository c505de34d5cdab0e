/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's user namespace (spec->userns).
 *
 * The host clones init with CLONE_NEWUSER along with the other namespaces,
 * so the mount, pid, ipc, uts and (with --net none) network namespaces are
 * owned by the new user namespace: init may mount proc, sysfs, mqueue,
 * devpts and tmpfs there, the host's mounts it inherited are locked, and
 * its capabilities count in the new namespace only.  Init's ids mean
 * nothing there until the host (root in the initial namespace, so
 * /proc/PID/setgroups stays "allow") has written uid_map and gid_map: init
 * waits on a pipe for that first, as runc's and crun's children do.  It
 * keeps the host root's ids (unmapped inside) while it binds the rootfs by
 * its host path, whose 0700 ancestors only their owner may cross, then
 * becomes uid/gid 0 of the namespace, the mapped unprivileged host id
 * outside, before it creates anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "container-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

static int write_map(pid_t pid, const char *which, uint32_t host, uint32_t size, struct snap_error *err)
{
	char path[64], line[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
	int n = snprintf(line, sizeof(line), "0 %" PRIu32 " %" PRIu32 "\n", host, size);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "open %s: %m", path);
	/* the kernel takes the whole map in one write */
	if (write(fd, line, (size_t)n) != n)
		return snap_error_set(err, negative_errno(), "write \"0 %" PRIu32 " %" PRIu32 "\" to %s: %m",
				      host, size, path);
	return 0;
}

int container_userns_write_maps(pid_t pid, const struct snap_container_spec *spec, struct snap_error *err)
{
	int r = write_map(pid, "uid_map", spec->userns_uid, spec->userns_size, err);
	if (r >= 0)
		r = write_map(pid, "gid_map", spec->userns_gid, spec->userns_size, err);
	return r;
}

int container_userns_wait(int wait_fd, struct snap_error *err)
{
	char c;
	ssize_t n;
	while ((n = read(wait_fd, &c, 1)) < 0 && errno == EINTR)
		;
	close(wait_fd);
	if (n != 1)
		return snap_error_set(err, -ECANCELED, "the host did not map the user namespace's ids");
	return 0;
}

int container_userns_become_root(struct snap_error *err)
{
	/* the host's supplementary groups are not mapped here */
	if (setgroups(0, NULL) < 0)
		return snap_error_set(err, negative_errno(), "user namespace: setgroups: %m");
	if (setresgid(0, 0, 0) < 0)
		return snap_error_set(err, negative_errno(), "user namespace: become gid 0: %m");
	if (setresuid(0, 0, 0) < 0)
		return snap_error_set(err, negative_errno(), "user namespace: become uid 0: %m");
	return 0;
}

int container_userns_bind_sys(int target_fd, struct snap_error *err)
{
	/* a detached recursive clone made read-only as a whole, then moved on
	 * the target: every mount below /sys read-only, no window without */
	_cleanup_close_ int tree = open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return snap_error_set(err, negative_errno(), "clone the host's /sys: %m");
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
	};
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return snap_error_set(err, negative_errno(), "make the host's /sys read-only: %m");
	if (move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return snap_error_set(err, negative_errno(), "mount the host's /sys on /sys: %m");
	return 0;
}
