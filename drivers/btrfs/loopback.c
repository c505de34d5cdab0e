/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Find or provision the btrfs that holds ROOT/snapshots.
 *
 * When ROOT/snapshots is not on btrfs, the driver keeps its own filesystem
 * in a sparse image ROOT/btrfs.img and mounts it on ROOT/snapshots itself,
 * so the directories the core makes there (ROOT/snapshots/<id>) are on
 * btrfs and nothing else of ROOT changes.
 *
 * Teardown story: the mount is the root's storage and outlives the process
 * (close() leaves it).  The loop device is attached with LO_FLAGS_AUTOCLEAR,
 * so unmounting ROOT/snapshots (btrfs_backend_teardown, or the end of the
 * mount namespace that holds the only mount) detaches it: nothing else has
 * to be cleaned up, and a crash between attach and mount leaks nothing
 * because the kernel clears the device when our fd on it closes.
 *
 * Several processes may open one root at once: provisioning runs under
 * flock(ROOT/btrfs.lock), and every step first looks for what another
 * process may have done (a mount already there, the image already attached
 * to a loop device, possibly by a process in another mount namespace:
 * attaching it twice would show the kernel two devices with one btrfs fsid).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "btrfs-internal.h"
#include "util/loop-dev.h"
#include "config.h"
#include "util/macro.h"
#include "util/size-parse.h"

static int fd_is_btrfs(int fd)
{
	struct statfs sfs;
	if (fstatfs(fd, &sfs) < 0)
		return negative_errno();
	return sfs.f_type == BTRFS_SUPER_MAGIC;
}

static int dir_is_empty(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	_cleanup_closedir_ DIR *dd = d;
	struct dirent *de;
	while ((errno = 0, de = readdir(dd)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return 0;
	return errno ? negative_errno() : 1;
}

/* Find a loop device already backed by the image (st_dev/st_ino match);
 * returns its number, -ENOENT when none, or -errno. */
static int find_loop_of(const struct stat *img)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/block");
	if (!d)
		return negative_errno();
	struct dirent *de;
	while ((de = readdir(d))) {
		unsigned n;
		char tail;
		if (sscanf(de->d_name, "loop%u%c", &n, &tail) != 1)
			continue;
		char dev[64];
		snprintf(dev, sizeof(dev), "/dev/loop%u", n);
		_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct loop_info64 info;
		if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0)
			continue; /* ENXIO: not bound */
		if (info.lo_inode == img->st_ino && info.lo_device == img->st_dev)
			return (int)n;
	}
	return -ENOENT;
}

/* The filesystem type of fd's mount, for a message. */
static const char *fs_name_of(int fd, char *buf, size_t len)
{
	struct btrfs_mount_entry m;
	if (btrfs_mount_of_fd(fd, &m) == 0) {
		snprintf(buf, len, "%s", m.fstype);
		btrfs_mount_entry_done(&m);
		return buf;
	}
	return "a filesystem other than btrfs";
}

static void format_size(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;
	while (b >= 1024 && (b % 1024) == 0 && u < 3) {
		b /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, b);
	else
		snprintf(buf, len, "%" PRIu64 "%c", b, units[u]);
}

static void notice(const struct snap_driver_opts *opts, const char *fmt, ...) SNAP_PRINTF(2, 3);
static void notice(const struct snap_driver_opts *opts, const char *fmt, ...)
{
	if (!opts->notice)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	opts->notice(opts->notice_ctx, msg);
}

/* Everything that needs the lock: make or reuse the image, attach, mount. */
static int provision_locked(const struct snap_driver_opts *opts, const char *fstype, int rootfd,
			    struct btrfs_backend *be, struct snap_error *err)
{
	const char *root = opts->root;
	_cleanup_close_ int sfd = open(be->snapdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return snap_error_set(err, negative_errno(), "open %s: %s", be->snapdir,
				      strerror(errno));
	int r = fd_is_btrfs(sfd);
	if (r < 0)
		return snap_error_set(err, r, "statfs %s: %s", be->snapdir, strerror(-r));
	if (r > 0)
		return 0; /* another process mounted it while we waited for the lock */

	r = dir_is_empty(sfd);
	if (r < 0)
		return snap_error_set(err, r, "read %s: %s", be->snapdir, strerror(-r));
	if (r == 0)
		return snap_error_set(err, -ENOTEMPTY,
				      "%s is not on btrfs and not empty (snapshots of another "
				      "driver?): refusing to mount the btrfs image over it",
				      be->snapdir);

	char fsname[64];
	fs_name_of(rootfd, fsname, sizeof(fsname));
	bool created = false;
	uint64_t size = 0;
	_cleanup_close_ int imgfd = openat(rootfd, BTRFS_IMAGE_NAME, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (imgfd < 0 && errno != ENOENT)
		return snap_error_set(err, negative_errno(), "open %s: %s", be->image,
				      strerror(errno));
	if (imgfd < 0) {
		const char *want = opts->btrfs_size ? opts->btrfs_size : BTRFS_DEFAULT_SIZE;
		r = snap_parse_size(want, &size);
		if (r < 0)
			return snap_error_set(err, -EINVAL,
					      "invalid btrfs image size '%s' (expected e.g. 16G, "
					      "512M)",
					      want);
		r = btrfs_image_create(rootfd, root, size, err);
		if (r < 0)
			return r;
		created = true;
		imgfd = openat(rootfd, BTRFS_IMAGE_NAME, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (imgfd < 0)
			return snap_error_set(err, negative_errno(), "open %s: %s", be->image,
					      strerror(errno));
	}
	struct stat st;
	if (fstat(imgfd, &st) < 0)
		return snap_error_set(err, negative_errno(), "stat %s: %s", be->image,
				      strerror(errno));
	if (!S_ISREG(st.st_mode))
		return snap_error_set(err, -EINVAL, "%s is not a regular file", be->image);
	size = (uint64_t)st.st_size;

	/* Already attached (e.g. mounted in another mount namespace)?  Mount
	 * that device again rather than attaching the image twice. */
	_cleanup_close_ int lfd = -EBADF;
	unsigned n = 0;
	int found = find_loop_of(&st);
	bool reused_dev = found >= 0;
	if (found >= 0) {
		n = (unsigned)found;
	} else {
		int fd = snap_loop_attach(imgfd, be->image, &n, err);
		if (fd < 0)
			return fd;
		lfd = fd;
	}
	char dev[64];
	snprintf(dev, sizeof(dev), "/dev/loop%u", n);

	/* noatime: atime updates would turn reads into metadata CoW in every
	 * snapshot, and bind mounts of subvolumes inherit the flag.  Not
	 * flushoncommit: it makes every transaction commit (each snapshot,
	 * each read-only flag) write the delalloc of the whole filesystem,
	 * so a commit beside another writer waited for all of its data. */
	if (mount(dev, be->snapdir, fstype, MS_NOATIME, NULL) < 0) {
		int e = errno;
		if (e == ENODEV)
			return snap_error_set(err, -ENODEV,
					      "mount %s on %s: the kernel has no %s support "
					      "(modprobe btrfs?): %s",
					      dev, be->snapdir, fstype, strerror(e));
		return snap_error_set(err, -e, "mount %s (%s) on %s as %s: %s", dev, be->image,
				      be->snapdir, fstype, strerror(e));
	}
	be->device = strdup(dev);
	if (!be->device)
		return snap_error_set(err, -ENOMEM, "out of memory");
	be->attached = true;
	be->provisioned = created;

	char sz[32];
	format_size(size, sz, sizeof(sz));
	if (created)
		notice(opts,
		       "btrfs: %s is on %s; created %s sparse image %s on %s mounted at %s", root,
		       fsname, sz, be->image, dev, be->snapdir);
	else
		notice(opts, "btrfs: %s is on %s; %s %s image %s on %s, mounted at %s", root,
		       fsname, reused_dev ? "reusing" : "attached", sz, be->image, dev,
		       be->snapdir);
	return 0;
}

void btrfs_backend_done(struct btrfs_backend *be)
{
	free(be->snapdir);
	free(be->device);
	free(be->image);
	*be = (struct btrfs_backend){ 0 };
}

int btrfs_backend_setup(const struct snap_driver_opts *opts, const char *fstype,
			struct btrfs_backend *ret, struct snap_error *err)
{
	const char *root = opts->root;
	struct btrfs_backend be = { 0 };
	if (asprintf(&be.snapdir, "%s/" BTRFS_SNAPSHOTS_DIR, root) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");
	if (asprintf(&be.image, "%s/" BTRFS_IMAGE_NAME, root) < 0) {
		free(be.snapdir);
		return snap_error_set(err, -ENOMEM, "out of memory");
	}

	int r = 0;
	/* A bad size is refused before anything is made under the root, even
	 * when the image exists already and the size would not be used. */
	uint64_t size;
	const char *want = opts->btrfs_size ? opts->btrfs_size : BTRFS_DEFAULT_SIZE;
	if (snap_parse_size(want, &size) < 0)
		r = snap_error_set(err, -EINVAL, "invalid btrfs image size '%s' (expected e.g. 16G, 512M)",
				   want);
	_cleanup_close_ int rootfd = r < 0 ? -EBADF : open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r == 0 && rootfd < 0)
		r = snap_error_set(err, negative_errno(), "open root %s: %s", root,
				   strerror(errno));
	if (r == 0 && mkdirat(rootfd, BTRFS_SNAPSHOTS_DIR, 0700) < 0 && errno != EEXIST)
		r = snap_error_set(err, negative_errno(), "mkdir %s: %s", be.snapdir,
				   strerror(errno));
	_cleanup_close_ int sfd = -EBADF;
	if (r == 0) {
		sfd = openat(rootfd, BTRFS_SNAPSHOTS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd < 0)
			r = snap_error_set(err, negative_errno(), "open %s: %s", be.snapdir,
					   strerror(errno));
	}
	int isb = 0;
	if (r == 0) {
		isb = fd_is_btrfs(sfd);
		if (isb < 0)
			r = snap_error_set(err, isb, "statfs %s: %s", be.snapdir, strerror(-isb));
	}
	if (r == 0 && !isb) {
		_cleanup_close_ int lockfd = openat(rootfd, BTRFS_LOCK_NAME,
						    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (lockfd < 0)
			r = snap_error_set(err, negative_errno(), "open %s/" BTRFS_LOCK_NAME ": %s",
					   root, strerror(errno));
		while (r == 0 && flock(lockfd, LOCK_EX) < 0)
			if (errno != EINTR)
				r = snap_error_set(err, negative_errno(),
						   "lock %s/" BTRFS_LOCK_NAME ": %s", root,
						   strerror(errno));
		if (r == 0)
			r = provision_locked(opts, fstype, rootfd, &be, err);
		/* the lock goes with lockfd */
	}
	if (r < 0) {
		btrfs_backend_done(&be);
		return r;
	}

	/* Classify what we are on (for info and mounts()). */
	_cleanup_close_ int mfd = open(be.snapdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		r = snap_error_set(err, negative_errno(), "open %s: %s", be.snapdir,
				   strerror(errno));
		btrfs_backend_done(&be);
		return r;
	}
	struct btrfs_mount_entry m = { 0 };
	bool is_mountpoint = false;
	if (btrfs_mount_of_fd(mfd, &m) == 0) {
		char real[PATH_MAX];
		is_mountpoint = realpath(be.snapdir, real) && strcmp(real, m.target) == 0;
		if (!be.device)
			be.device = TAKE_PTR(m.source);
		btrfs_mount_entry_done(&m);
	}
	struct stat st;
	bool have_image = fstatat(rootfd, BTRFS_IMAGE_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0;
	be.backing = (is_mountpoint && have_image) ? BTRFS_BACKING_LOOPBACK : BTRFS_BACKING_NATIVE;
	if (be.backing != BTRFS_BACKING_LOOPBACK)
		free(TAKE_PTR(be.image));
	*ret = be;
	return 0;
}

int btrfs_backend_teardown(const char *root, struct snap_error *err)
{
	_cleanup_free_ char *snapdir = NULL;
	if (asprintf(&snapdir, "%s/" BTRFS_SNAPSHOTS_DIR, root) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");
	_cleanup_close_ int fd = open(snapdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : snap_error_set(err, negative_errno(), "open %s: %s",
							snapdir, strerror(errno));
	struct btrfs_mount_entry m;
	int r = btrfs_mount_of_fd(fd, &m);
	if (r < 0)
		return snap_error_set(err, r, "find the mount of %s: %s", snapdir, strerror(-r));
	char real[PATH_MAX];
	bool ours = realpath(snapdir, real) && strcmp(real, m.target) == 0 &&
		    strcmp(m.fstype, "btrfs") == 0 && strncmp(m.source, "/dev/loop", 9) == 0;
	btrfs_mount_entry_done(&m);
	close(TAKE_FD(fd));
	if (!ours)
		return 0;
	if (umount2(snapdir, UMOUNT_NOFOLLOW) < 0)
		return snap_error_set(err, negative_errno(), "unmount %s: %s", snapdir,
				      strerror(errno));
	return 0;
}
