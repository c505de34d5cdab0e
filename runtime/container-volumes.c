/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bind mounts of host paths into the container (run -v HOST:CTR[:ro]), and
 * the mount points the container's tree needs (/proc, /sys, /dev and the
 * volumes' targets), which `run` creates in the container's init layer.
 *
 * A volume is what docker's default bind is: recursive ("rbind") and
 * private ("rprivate"), suid kept, read-only recursively with :ro.  One
 * difference: it is nodev, recursively, because snapctl's device policy is
 * nodev mounts rather than a devices cgroup (container-devices.c): a host
 * directory on a mount without nodev would otherwise let the container
 * mknod a usable node in it.
 *
 * The target is resolved inside the rootfs with snap_openat_in_root (the
 * image's symlinks never lead out of it) after /proc, /sys and /dev are
 * mounted, so a target below /dev lands on the container's own /dev; a
 * target that resolves into procfs is refused (runc refuses mounts over
 * /proc: they could hide its masks).  The bind is attached to the resolved
 * fd, never to a path looked up again.  With the new mount API (5.12:
 * open_tree, mount_setattr, move_mount) the attributes are set on the
 * detached copy before it appears in the container; on older kernels a
 * mount(2) bind and a remount, whose read-only is then not recursive.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "container-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

/*
 * mkdir -p of `path` inside the rootfs, as docker's securejoin + MkdirAll:
 * components are taken one at a time below a prefix known to be real
 * directories; a symlink is replaced by its target (an absolute one from
 * the rootfs, never from the host's root), so a dangling link of the image
 * gets its directory made where it points inside the rootfs; ".." is
 * lexical on that symlink-free prefix and stops at the rootfs.
 */
static int mkdir_in_root(int rootfd, const char *path, struct snap_error *err)
{
	/* resolved: a prefix of real directories; remaining: the components
	 * still to walk below it (normalized, no leading '/') */
	_cleanup_free_ char *resolved = strdup("");
	_cleanup_free_ char *remaining = snap_path_normalize(path);
	int links = 0;
	if (!resolved || !remaining)
		return snap_error_set(err, -ENOMEM, "mount point %s: %s", path, strerror(ENOMEM));
	while (*remaining) {
		char *slash = strchr(remaining, '/');
		if (slash)
			*slash = '\0';
		const char *comp = remaining, *rest = slash ? slash + 1 : "";
		_cleanup_free_ char *next = NULL;
		if (asprintf(&next, "%s%s%s", resolved, *resolved ? "/" : "", comp) < 0)
			return snap_error_set(err, -ENOMEM, "mount point %s: %s", path, strerror(ENOMEM));
		_cleanup_close_ int parent = snap_openat_in_root(rootfd, resolved, O_PATH | O_DIRECTORY, 0);
		if (parent < 0)
			return snap_error_set(err, parent, "mount point %s: /%s: %s", path, resolved, strerror(-parent));
		struct stat st;
		char *then; /* what `remaining` becomes */
		if (fstatat(parent, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return snap_error_set(err, negative_errno(), "mount point %s: /%s: %m", path, next);
			if (mkdirat(parent, comp, 0755) < 0 && errno != EEXIST)
				return snap_error_set(err, negative_errno(), "create mount point %s: /%s: %m", path, next);
			then = strdup(rest);
		} else if (S_ISLNK(st.st_mode)) {
			/* The link is replaced by its target, taken from the rootfs
			 * (absolute) or from `resolved` (relative), and the walk
			 * starts again from the rootfs. */
			if (++links > 40)
				return snap_error_set(err, -ELOOP, "mount point %s: %s", path, strerror(ELOOP));
			char target[4096];
			ssize_t n = readlinkat(parent, comp, target, sizeof(target) - 1);
			if (n < 0)
				return snap_error_set(err, negative_errno(), "mount point %s: /%s: %m", path, next);
			target[n] = '\0';
			_cleanup_free_ char *joined = NULL;
			if (asprintf(&joined, "%s/%s/%s", target[0] == '/' ? "" : resolved, target, rest) < 0)
				return snap_error_set(err, -ENOMEM, "mount point %s: %s", path, strerror(ENOMEM));
			then = snap_path_normalize(joined);
			free(next);
			next = strdup("");
		} else if (S_ISDIR(st.st_mode)) {
			then = strdup(rest);
		} else {
			return snap_error_set(err, -ENOTDIR, "mount point %s: /%s: %s", path, next, strerror(ENOTDIR));
		}
		if (!then || !next) {
			free(then);
			return snap_error_set(err, -ENOMEM, "mount point %s: %s", path, strerror(ENOMEM));
		}
		free(resolved);
		resolved = TAKE_PTR(next);
		free(remaining);
		remaining = then;
	}
	return 0;
}

int container_mountpoint_open(int rootfd, const char *path, bool dir, struct snap_error *err)
{
	int fd = snap_openat_in_root(rootfd, path, O_PATH, 0);
	if (fd == -ENOENT && dir) {
		int r = mkdir_in_root(rootfd, path, err);
		if (r < 0)
			return r;
		fd = snap_openat_in_root(rootfd, path, O_PATH, 0);
	} else if (fd == -ENOENT) {
		_cleanup_free_ char *parent_path = strdup(path);
		if (!parent_path)
			return snap_error_set(err, -ENOMEM, "mount point %s: %s", path, strerror(ENOMEM));
		char *slash = strrchr(parent_path, '/');
		if (slash)
			*slash = '\0';
		int r = mkdir_in_root(rootfd, parent_path, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *name = NULL;
		_cleanup_close_ int parent = snap_open_parent_in_root(rootfd, path, &name);
		if (parent < 0)
			return snap_error_set(err, parent, "mount point %s in the rootfs: %s", path, strerror(-parent));
		/* O_NOFOLLOW: a dangling symlink there is an error, not followed */
		r = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (r < 0 && errno != EEXIST)
			return snap_error_set(err, negative_errno(), "create mount point %s in the rootfs: %m", path);
		if (r >= 0)
			close(r);
		fd = snap_openat_in_root(rootfd, path, O_PATH, 0);
	}
	if (fd < 0)
		return snap_error_set(err, fd, "mount point %s in the rootfs: %s", path, strerror(-fd));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = snap_error_set(err, negative_errno(), "mount point %s: %m", path);
		close(fd);
		return r;
	}
	if (S_ISDIR(st.st_mode) != dir) {
		close(fd);
		return snap_error_set(err, dir ? -ENOTDIR : -EISDIR, "mount point %s in the rootfs is %sa directory",
				      path, dir ? "not " : "");
	}
	return fd;
}

/* Visit the mount points of spec: /proc, /sys, /dev, the volumes' targets.
 * With `create` each missing one is made; otherwise *ret_missing says
 * whether any is missing. */
static int mountpoints_walk(const char *rootfs, const struct snap_container_spec *spec, bool create,
			    bool *ret_missing, struct snap_error *err)
{
	static const char *const runtime_dirs[] = { "/proc", "/sys", "/dev" };
	_cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return snap_error_set(err, negative_errno(), "open the rootfs %s: %m", rootfs);
	size_t n = ELEMENTSOF(runtime_dirs) + spec->n_volumes;
	for (size_t i = 0; i < n; i++) {
		const struct snap_container_volume *v =
			i < ELEMENTSOF(runtime_dirs) ? NULL : &spec->volumes[i - ELEMENTSOF(runtime_dirs)];
		const char *path = v ? v->target : runtime_dirs[i];
		if (!create) {
			int fd = snap_openat_in_root(rootfd, path, O_PATH, 0);
			if (fd >= 0)
				close(fd);
			if (fd == -ENOENT) {
				*ret_missing = true;
				return 0;
			}
			continue; /* another error: the launcher will name it */
		}
		struct stat st;
		if (v && stat(v->source, &st) < 0)
			return snap_error_set(err, negative_errno(), "volume %s: %m", v->source);
		int fd = container_mountpoint_open(rootfd, path, !v || S_ISDIR(st.st_mode), err);
		if (fd < 0)
			return v ? snap_error_prefix(err, "volume %s:%s", v->source, v->target) : fd;
		close(fd);
	}
	if (ret_missing)
		*ret_missing = false;
	return 0;
}

int snap_container_mountpoints_make(const char *rootfs, const struct snap_container_spec *spec,
				    struct snap_error *err)
{
	return mountpoints_walk(rootfs, spec, true, NULL, err);
}

int snap_container_mountpoints_missing(const char *rootfs, const struct snap_container_spec *spec,
				       bool *ret, struct snap_error *err)
{
	return mountpoints_walk(rootfs, spec, false, ret, err);
}

/* The flags a remount must repeat (the kernel refuses to clear locked ones). */
static unsigned long kept_flags(int fd)
{
	struct statvfs sv;
	unsigned long flags = 0;
	if (fstatvfs(fd, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		flags |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		flags |= MS_RELATIME;
	return flags;
}

/* Kernels without mount_setattr: bind, then remount the top mount. */
static int bind_legacy(int rootfd, const struct snap_container_volume *v, int target,
		       struct snap_error *err)
{
	char t[32];
	snprintf(t, sizeof(t), "/proc/self/fd/%d", target);
	if (mount(v->source, t, NULL, MS_BIND | MS_REC, NULL) < 0)
		return snap_error_set(err, negative_errno(), "bind %s on %s: %m", v->source, v->target);
	/* the new mount: the target resolved again, now that it is covered */
	_cleanup_close_ int top = snap_openat_in_root(rootfd, v->target, O_PATH, 0);
	if (top < 0)
		return snap_error_set(err, top, "reopen %s: %s", v->target, strerror(-top));
	snprintf(t, sizeof(t), "/proc/self/fd/%d", top);
	if (mount(NULL, t, NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return snap_error_set(err, negative_errno(), "make %s private: %m", v->target);
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_NODEV | kept_flags(top) | (v->readonly ? MS_RDONLY : 0);
	if (mount(NULL, t, NULL, flags, NULL) < 0)
		return snap_error_set(err, negative_errno(), "remount %s nodev%s: %m", v->target,
				      v->readonly ? ",ro" : "");
	return 0;
}

static int bind_one(int rootfd, const struct snap_container_volume *v, struct snap_error *err)
{
	struct stat st;
	if (stat(v->source, &st) < 0)
		return snap_error_set(err, negative_errno(), "volume %s: %m", v->source);
	_cleanup_close_ int target = container_mountpoint_open(rootfd, v->target, S_ISDIR(st.st_mode), err);
	if (target < 0)
		return snap_error_prefix(err, "volume %s:%s", v->source, v->target);
	struct statfs sf;
	if (fstatfs(target, &sf) < 0)
		return snap_error_set(err, negative_errno(), "volume target %s: %m", v->target);
	if (sf.f_type == PROC_SUPER_MAGIC)
		return snap_error_set(err, -EPERM, "volume target %s is in /proc: refused", v->target);

	_cleanup_close_ int tree = (int)open_tree(AT_FDCWD, v->source,
						  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0 && errno == ENOSYS)
		return bind_legacy(rootfd, v, target, err);
	if (tree < 0)
		return snap_error_set(err, negative_errno(), "volume %s: %m", v->source);
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_NODEV | (v->readonly ? MOUNT_ATTR_RDONLY : 0),
		.propagation = MS_PRIVATE,
	};
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		if (errno == ENOSYS)
			return bind_legacy(rootfd, v, target, err);
		return snap_error_set(err, negative_errno(), "volume %s: set nodev%s: %m", v->source,
				      v->readonly ? ",ro" : "");
	}
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return snap_error_set(err, negative_errno(), "bind %s on %s: %m", v->source, v->target);
	return 0;
}

int container_volumes_mount(int rootfd, const struct snap_container_spec *spec, struct snap_error *err)
{
	for (size_t i = 0; i < spec->n_volumes; i++) {
		int r = bind_one(rootfd, &spec->volumes[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}
