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

static int do_mount(const char *source, int target_fd, const char *fstype, unsigned long flags,
		    const char *data, const char *what, struct snap_error *err)
{
	char buf[FD_PATH_MAX];
	if (mount(source, fd_path(buf, target_fd), fstype, flags, data) < 0)
		return snap_error_set(err, negative_errno(), "mount %s: %m", what);
	return 0;
}

/* Remount a bind mount read-only; the flags the kernel keeps on the mount
 * (nosuid, nodev, noexec) must be repeated or the remount fails with EPERM. */
static int bind_readonly(int target_fd, const char *what, struct snap_error *err)
{
	char buf[FD_PATH_MAX];
	unsigned long keep = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(NULL, fd_path(buf, target_fd), NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
		return snap_error_set(err, negative_errno(), "remount %s read-only: %m", what);
	return 0;
}

/* Docker's masked and read-only /proc paths: kernel memory and keys hidden,
 * sysctls and triggers read-only.  Paths absent on this kernel are skipped. */
static int proc_protect(int procfd, struct snap_error *err)
{
	static const char *const masked[] = { "kcore", "keys", "timer_list", "sched_debug" };
	static const char *const readonly[] = { "sys", "sysrq-trigger", "irq", "bus", "fs" };
	for (size_t i = 0; i < ELEMENTSOF(masked); i++) {
		_cleanup_close_ int fd = openat(procfd, masked[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		char what[64];
		snprintf(what, sizeof(what), "/dev/null on /proc/%s", masked[i]);
		int r = do_mount("/dev/null", fd, NULL, MS_BIND, NULL, what, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(readonly); i++) {
		_cleanup_close_ int fd = openat(procfd, readonly[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		char what[64];
		snprintf(what, sizeof(what), "/proc/%s", readonly[i]);
		/* bind the container's own /proc/X on itself, then make it ro */
		char src[FD_PATH_MAX];
		int r = do_mount(fd_path(src, fd), fd, NULL, MS_BIND | MS_REC, NULL, what, err);
		if (r < 0)
			return r;
		/* the fd names the directory under the new mount: reopen */
		_cleanup_close_ int top = openat(procfd, readonly[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (top < 0)
			return snap_error_set(err, negative_errno(), "open %s: %m", what);
		r = bind_readonly(top, what, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int setup_proc(int rootfd, struct snap_error *err)
{
	_cleanup_close_ int target = open_dir_in_root(rootfd, "/proc", err);
	if (target < 0)
		return target;
	int r = do_mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "proc on /proc", err);
	if (r < 0)
		return r;
	/* Reopen: the fd from before the mount names the directory below it. */
	_cleanup_close_ int procfd = snap_openat_in_root(rootfd, "/proc", O_PATH | O_DIRECTORY, 0);
	if (procfd < 0)
		return snap_error_set(err, procfd, "open /proc: %s", strerror(-procfd));
	return proc_protect(procfd, err);
}

static int setup_dev(int rootfd, struct snap_error *err)
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

	_cleanup_close_ int target = open_dir_in_root(rootfd, "/dev", err);
	if (target < 0)
		return target;
	int r = do_mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
			 "tmpfs on /dev", err);
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
		r = do_mount(src, fd, NULL, MS_BIND, NULL, what, err);
		if (r < 0)
			return r;
	}

	static const struct {
		const char *name, *fstype, *data;
		unsigned long flags;
		bool optional; /* a kernel without it still runs containers */
	} fs[] = {
		/* newinstance: the container's ptys are its own, not the host's */
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
		r = do_mount(fs[i].fstype, fd, fs[i].fstype, fs[i].flags, fs[i].data, what, err);
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

static int setup_sys(int rootfd, struct snap_error *err)
{
	_cleanup_close_ int target = open_dir_in_root(rootfd, "/sys", err);
	if (target < 0)
		return target;
	return do_mount("sysfs", target, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			"sysfs on /sys", err);
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

	int r = setup_proc(rootfd, err);
	if (r >= 0)
		r = setup_dev(rootfd, err);
	if (r >= 0)
		r = setup_sys(rootfd, err);
	if (r >= 0)
		r = container_etc_setup(rootfd, spec, err);
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
