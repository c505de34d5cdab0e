/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's mount tree, built by init inside its new mount namespace.
 *
 * Every mount target inside the rootfs is resolved with
 * snap_openat_in_root (the image decides where /dev or /proc lead, but never
 * outside itself) and mounted on through its /proc/self/fd/N magic link, so
 * the path the kernel mounts on is the one that was checked (the way runc
 * does it).  Sources (/dev/null, ...) come from the host before pivot_root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

#define FD_PATH_MAX 32

static const char *fd_path(char buf[static FD_PATH_MAX], int fd)
{
	snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

/* O_PATH fd of directory `path` inside the rootfs, created (0755) when
 * missing, like runc does for mount points the image lacks. */
static int open_dir_in_root(int rootfd, const char *path, struct snap_error *err)
{
	int fd = snap_openat_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0);
	if (fd == -ENOENT) {
		_cleanup_free_ char *name = NULL;
		_cleanup_close_ int parent = snap_open_parent_in_root(rootfd, path, &name);
		if (parent < 0)
			return snap_error_set(err, parent, "mount point %s in the rootfs: %s", path,
					      strerror(-parent));
		if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
			return snap_error_set(err, negative_errno(),
					      "create mount point %s in the rootfs: %m", path);
		fd = snap_openat_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0);
	}
	if (fd < 0)
		return snap_error_set(err, fd, "mount point %s in the rootfs: %s", path, strerror(-fd));
	return fd;
}

int container_mount_fd(const char *source, int target_fd, const char *fstype, unsigned long flags,
		       const char *data, const char *what, struct snap_error *err)
{
	char buf[FD_PATH_MAX];
	if (mount(source, fd_path(buf, target_fd), fstype, flags, data) < 0)
		return snap_error_set(err, negative_errno(), "mount %s: %m", what);
	return 0;
}

/* Remount a mount read-only; the flags the kernel keeps on the mount
 * (nosuid, nodev, noexec) must be repeated or the remount fails with EPERM. */
int container_remount_ro_fd(int target_fd, unsigned long keep_flags, const char *what,
			    struct snap_error *err)
{
	char buf[FD_PATH_MAX];
	if (mount(NULL, fd_path(buf, target_fd), NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep_flags,
		  NULL) < 0)
		return snap_error_set(err, negative_errno(), "remount %s read-only: %m", what);
	return 0;
}

static int setup_proc(int rootfd, struct snap_error *err)
{
	_cleanup_close_ int target = open_dir_in_root(rootfd, "/proc", err);
	if (target < 0)
		return target;
	return container_mount_fd("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
				  "proc on /proc", err);
}

static int setup_sys(int rootfd, const struct snap_container_spec *spec, struct snap_error *err)
{
	_cleanup_close_ int target = open_dir_in_root(rootfd, "/sys", err);
	if (target < 0)
		return target;
	/* sysfs needs a network namespace owned by the mounter's user namespace */
	if (spec->userns && spec->net == SNAP_NET_HOST)
		return container_userns_bind_sys(target, err);
	return container_mount_fd("sysfs", target, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			"sysfs on /sys", err);
}

/* Masks and read-only paths go on the freshly mounted /proc and /sys:
 * reopened, since the fds from before their mounts name what is below. */
static int protect_paths(int rootfd, struct snap_error *err)
{
	_cleanup_close_ int procfd = snap_openat_in_root(rootfd, "/proc", O_PATH | O_DIRECTORY, 0);
	if (procfd < 0)
		return snap_error_set(err, procfd, "open /proc: %s", strerror(-procfd));
	_cleanup_close_ int sysfd = snap_openat_in_root(rootfd, "/sys", O_PATH | O_DIRECTORY, 0);
	if (sysfd < 0)
		return snap_error_set(err, sysfd, "open /sys: %s", strerror(-sysfd));
	return container_masks_apply(procfd, sysfd, err);
}

int container_mounts_setup(const struct snap_container_spec *spec, struct snap_error *err)
{
	/* Nothing below may propagate to the mount namespace we came from (and
	 * pivot_root refuses a shared parent mount). */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return snap_error_set(err, negative_errno(), "make the mount tree private: %m");

	/* pivot_root needs the new root to be a mount point: bind the rootfs
	 * on itself (recursive, so mounts below it come along). */
	if (mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return snap_error_set(err, negative_errno(), "bind the rootfs %s: %m", spec->rootfs);
	_cleanup_close_ int rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return snap_error_set(err, negative_errno(), "open the rootfs %s: %m", spec->rootfs);

	int r = container_devices_rootfs_nodev(spec->rootfs, err);
	/* In a user namespace, the host paths above are reachable as the
	 * host's root alone (owner of the 0700 state directory); from here
	 * on everything goes through rootfd, and what is created gets ids
	 * of the namespace. */
	if (r >= 0 && spec->userns)
		r = container_userns_become_root(err);
	if (r >= 0)
		r = setup_proc(rootfd, err);
	if (r >= 0)
		r = container_devices_setup(rootfd, err);
	if (r >= 0)
		r = setup_sys(rootfd, spec, err);
	if (r >= 0)
		r = protect_paths(rootfd, err);
	if (r >= 0)
		r = container_etc_setup(rootfd, spec, err);
	if (r >= 0)
		r = container_volumes_mount(rootfd, spec, err);
	if (r < 0)
		return r;

	/* pivot_root(".", "."): the old root ends up stacked on the new one and
	 * is detached right away, so no host path stays reachable and no
	 * directory in the image is needed to park it. */
	if (fchdir(rootfd) < 0)
		return snap_error_set(err, negative_errno(), "enter the rootfs %s: %m", spec->rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return snap_error_set(err, negative_errno(), "pivot_root into %s: %m", spec->rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return snap_error_set(err, negative_errno(), "detach the host's root: %m");
	if (chdir("/") < 0)
		return snap_error_set(err, negative_errno(), "chdir /: %m");
	return 0;
}
