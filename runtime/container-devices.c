/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device policy: inside a container only null, zero, full, random,
 * urandom, tty, its own devpts instance (ptmx and its ptys, the console of
 * -t among them) can be opened.
 *
 * It does not depend on cgroups (docs/runtime.md says why): every mount the
 * container can write to or create nodes on is nodev -- the bound rootfs
 * with all mounts below it, the /dev tmpfs, /dev/shm, mqueue, and /proc
 * and /sys, which are nodev by themselves.  The allowed devices are bind
 * mounts of the host's nodes: a bind mount keeps its source mount's flags,
 * so these alone stay openable.  A node the image ships or that the
 * container makes with mknod (CAP_MKNOD is in docker's default set) opens
 * with EACCES.  Where the cgroup v1 devices controller exists the
 * container's cgroup also carries the same allowlist (cgroup-v1.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

int container_devices_rootfs_nodev(const char *rootfs, struct snap_error *err)
{
	/* AT_RECURSIVE: mounts already below the rootfs (volumes, a driver's
	 * own submounts) become nodev too; mount_setattr needs 5.12. */
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NODEV };
	if (mount_setattr(AT_FDCWD, rootfs, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return snap_error_set(err, negative_errno(), "make the rootfs %s nodev: %m", rootfs);
	if (mount(NULL, rootfs, NULL, MS_BIND | MS_REMOUNT | MS_NODEV, NULL) < 0)
		return snap_error_set(err, negative_errno(), "make the rootfs %s nodev: %m", rootfs);
	return 0;
}

/* An empty regular file in directory `dirfd`, as a bind mount target. */
static int create_file_at(int dirfd, const char *name, const char *what, struct snap_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "create %s: %m", what);
	int r = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (r < 0)
		return snap_error_set(err, negative_errno(), "open %s: %m", what);
	return r;
}

int container_devices_setup(int rootfd, struct snap_error *err)
{
	static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const struct {
		const char *name, *target;
	} links[] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
		{ "ptmx", "pts/ptmx" },
	};

	_cleanup_close_ int target = snap_openat_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
	if (target == -ENOENT) {
		if (mkdirat(rootfd, "dev", 0755) < 0 && errno != EEXIST)
			return snap_error_set(err, negative_errno(), "create /dev in the rootfs: %m");
		target = snap_openat_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
	}
	if (target < 0)
		return snap_error_set(err, target, "mount point /dev in the rootfs: %s", strerror(-target));
	int r = container_mount_fd("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME,
				   "mode=755,size=65536k", "tmpfs on /dev", err);
	if (r < 0)
		return r;
	_cleanup_close_ int dev = snap_openat_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
	if (dev < 0)
		return snap_error_set(err, dev, "open /dev: %s", strerror(-dev));

	for (size_t i = 0; i < ELEMENTSOF(devices); i++) {
		char what[64], src[32];
		snprintf(what, sizeof(what), "/dev/%s", devices[i]);
		snprintf(src, sizeof(src), "/dev/%s", devices[i]);
		_cleanup_close_ int fd = create_file_at(dev, devices[i], what, err);
		if (fd < 0)
			return fd;
		r = container_mount_fd(src, fd, NULL, MS_BIND, NULL, what, err);
		if (r < 0)
			return r;
	}

	static const struct {
		const char *name, *fstype, *data;
		unsigned long flags;
		bool optional; /* a kernel without it still runs containers */
	} fs[] = {
		/* newinstance: the container's ptys are its own, not the host's;
		 * devpts cannot hold other nodes, so it alone is not nodev */
		{ "pts", "devpts", "newinstance,ptmxmode=0666,mode=0620,gid=5", MS_NOSUID | MS_NOEXEC, false },
		{ "shm", "tmpfs", "mode=1777,size=65536k", MS_NOSUID | MS_NODEV | MS_NOEXEC, false },
		{ "mqueue", "mqueue", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, true },
	};
	for (size_t i = 0; i < ELEMENTSOF(fs); i++) {
		char what[64];
		snprintf(what, sizeof(what), "%s on /dev/%s", fs[i].fstype, fs[i].name);
		if (mkdirat(dev, fs[i].name, 0755) < 0)
			return snap_error_set(err, negative_errno(), "create /dev/%s: %m", fs[i].name);
		_cleanup_close_ int fd = openat(dev, fs[i].name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return snap_error_set(err, negative_errno(), "open /dev/%s: %m", fs[i].name);
		r = container_mount_fd(fs[i].fstype, fd, fs[i].fstype, fs[i].flags, fs[i].data, what, err);
		if (r == -ENODEV && fs[i].optional) {
			snap_error_clear(err);
			continue;
		}
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < ELEMENTSOF(links); i++)
		if (symlinkat(links[i].target, dev, links[i].name) < 0)
			return snap_error_set(err, negative_errno(), "create /dev/%s: %m", links[i].name);
	return 0;
}
