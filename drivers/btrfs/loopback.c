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
#include <ctype.h>
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
#include "config.h"
#include "macro.h"

int btrfs_parse_size(const char *s, uint64_t *ret)
{
	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		/* accept "16G", "16GB", "16GiB" */
		if (*end == 'i')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = (uint64_t)v << shift;
	return 0;
}

static int fd_is_btrfs(int fd)
{
	struct statfs sfs;
	if (fstatfs(fd, &sfs) < 0)
		return negative_errno();
	return sfs.f_type == BTRFS_SUPER_MAGIC;
}

struct mount_entry {
	char *source;
	char *target;
	char *fstype;
	char *superopts;
};

static void mount_entry_done(struct mount_entry *m)
{
	free(m->source);
	free(m->target);
	free(m->fstype);
	free(m->superopts);
	*m = (struct mount_entry){ 0 };
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p;) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
}

/* The mountinfo line of the mount `fd` is on (statx STATX_MNT_ID). */
static int mount_of_fd(int fd, struct mount_entry *ret)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
		return negative_errno();
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;

	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return negative_errno();
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long id;
		if (sscanf(line, "%llu", &id) != 1 || id != stx.stx_mnt_id)
			continue;
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *save = NULL, *tok, *fields[5] = { 0 };
		int n = 0;
		for (tok = strtok_r(line, " \n", &save); tok && n < 5; tok = strtok_r(NULL, " \n", &save))
			fields[n++] = tok;
		if (n < 5)
			return -EBADMSG;
		char *target = fields[4];
		while ((tok = strtok_r(NULL, " \n", &save)) && strcmp(tok, "-") != 0)
			;
		char *fstype = strtok_r(NULL, " \n", &save);
		char *source = strtok_r(NULL, " \n", &save);
		char *superopts = strtok_r(NULL, " \n", &save);
		if (!fstype || !source)
			return -EBADMSG;
		unescape(target);
		unescape(source);
		struct mount_entry m = { strdup(source), strdup(target), strdup(fstype),
					 strdup(superopts ? superopts : "") };
		if (!m.source || !m.target || !m.fstype || !m.superopts) {
			mount_entry_done(&m);
			return -ENOMEM;
		}
		*ret = m;
		return 0;
	}
	return -ENOENT;
}

int btrfs_mount_source(int fd, char **ret)
{
	struct mount_entry m;
	int r = mount_of_fd(fd, &m);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m.source);
	mount_entry_done(&m);
	return 0;
}

static bool has_option(const char *opts, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = opts; p && *p;) {
		const char *e = strchrnul(p, ',');
		if ((size_t)(e - p) == n && strncmp(p, name, n) == 0)
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
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

/* Attach the image to a free loop device with autoclear.  Returns an fd on
 * the loop device (the caller keeps it open until the device is mounted:
 * with autoclear, closing the last reference detaches it) and its number. */
static int loop_attach(int imgfd, const char *image, unsigned *ret_n, struct snap_error *err)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return snap_error_set(err, negative_errno(), "open /dev/loop-control: %s",
				      strerror(errno));

	/* Another program (losetup, a second root) may take the device
	 * between GET_FREE and CONFIGURE: then CONFIGURE says EBUSY, and we
	 * ask for the next free one. */
	for (int attempt = 0; attempt < 32; attempt++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			return snap_error_set(err, negative_errno(),
					      "find a free loop device (LOOP_CTL_GET_FREE): %s",
					      strerror(errno));
		char dev[64];
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		_cleanup_close_ int lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			return snap_error_set(err, negative_errno(), "open %s: %s", dev,
					      strerror(errno));

		struct loop_info64 info = { .lo_flags = LO_FLAGS_AUTOCLEAR };
		snprintf((char *)info.lo_file_name, sizeof(info.lo_file_name), "%s", image);
		int r = -ENOTTY;
#if HAVE_LOOP_CONFIGURE
		struct loop_config cfg = { .fd = (uint32_t)imgfd, .info = info };
		r = ioctl(lfd, LOOP_CONFIGURE, &cfg) < 0 ? negative_errno() : 0;
#endif
		if (r == -EINVAL || r == -ENOTTY) {
			/* Kernel without LOOP_CONFIGURE (< 5.8): the two-step
			 * attach, with autoclear set in the second step. */
			r = ioctl(lfd, LOOP_SET_FD, imgfd) < 0 ? negative_errno() : 0;
			if (r == 0 && ioctl(lfd, LOOP_SET_STATUS64, &info) < 0) {
				r = negative_errno();
				(void)ioctl(lfd, LOOP_CLR_FD, 0);
			}
		}
		if (r == -EBUSY)
			continue;
		if (r < 0)
			return snap_error_set(err, r, "attach %s to %s: %s", image, dev,
					      strerror(-r));
		/* Direct I/O on the image: no second copy in the page cache,
		 * and a flush (every btrfs transaction commit ends with one)
		 * no longer has to write back the image's dirty pages first.
		 * Measured here: snapshot creation 5.3 -> 2.1 ms.  Refused
		 * when the host filesystem cannot do it; then buffered. */
		(void)ioctl(lfd, LOOP_SET_DIRECT_IO, 1UL);
		*ret_n = (unsigned)n;
		return TAKE_FD(lfd);
	}
	return snap_error_set(err, -EBUSY, "attach %s: every free loop device was taken meanwhile",
			      image);
}

/* Run mkfs.btrfs on the image; on failure the message carries mkfs's last
 * line of stderr, which says why (too small, no space, ...). */
static int run_mkfs(const char *image, struct snap_error *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return snap_error_set(err, negative_errno(), "mkfs.btrfs %s: pipe: %s", image,
				      strerror(errno));
	_cleanup_close_ int rd = pipefd[0];
	_cleanup_close_ int wr = pipefd[1];
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return snap_error_set(err, negative_errno(), "open /dev/null: %s", strerror(errno));

	/* -K: no discard (it would walk the whole sparse file); -q: quiet. */
	char *const argv[] = { "mkfs.btrfs", "-q", "-K", "-L", "snapctl", (char *)image, NULL };
	pid_t pid = fork();
	if (pid < 0)
		return snap_error_set(err, negative_errno(), "mkfs.btrfs %s: fork: %s", image,
				      strerror(errno));
	if (pid == 0) {
		/* Only async-signal-safe calls here: the caller may be threaded. */
		if (dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0 ||
		    dup2(wr, STDERR_FILENO) < 0)
			_exit(126);
		execvp(argv[0], argv);
		static const char msg[] = "cannot run mkfs.btrfs (install btrfs-progs)\n";
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		_exit(127);
	}
	close(TAKE_FD(wr));

	char out[4096];
	size_t len = 0;
	for (;;) {
		ssize_t k = read(rd, out + len, sizeof(out) - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		if (len == sizeof(out) - 1) {
			/* keep the tail: the last lines say what failed */
			memmove(out, out + len / 2, len - len / 2);
			len -= len / 2;
		}
	}
	out[len] = '\0';

	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return snap_error_set(err, negative_errno(), "mkfs.btrfs %s: wait: %s",
					      image, strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;

	/* last non-empty line */
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	char *last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	int code = WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
	if (strstr(out, "No space left"))
		code = -ENOSPC;
	return snap_error_set(err, code, "mkfs.btrfs %s failed (%s %d): %s", image,
			      WIFEXITED(status) ? "exit status" : "signal",
			      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			      *last ? last : "no message");
}

/* Create ROOT/btrfs.img: a sparse file of `size` bytes with a fresh btrfs,
 * built under a staging name and renamed into place last, so a crash never
 * leaves a half-made image under the real name. */
static int image_create(int rootfd, const char *root, uint64_t size, struct snap_error *err)
{
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s/" BTRFS_IMAGE_NAME ".tmp", root) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");

	(void)unlinkat(rootfd, BTRFS_IMAGE_NAME ".tmp", 0); /* a crashed attempt's */
	_cleanup_close_ int fd = openat(rootfd, BTRFS_IMAGE_NAME ".tmp",
					O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "create image %s: %s", tmp,
				      strerror(errno));
	int r = 0;
	if (ftruncate(fd, (off_t)size) < 0)
		r = snap_error_set(err, negative_errno(), "size image %s to %" PRIu64 " bytes: %s",
				   tmp, size, strerror(errno));
	if (r == 0)
		r = run_mkfs(tmp, err);
	if (r == 0 && fsync(fd) < 0)
		r = snap_error_set(err, negative_errno(), "fsync %s: %s", tmp, strerror(errno));
	if (r == 0 && renameat(rootfd, BTRFS_IMAGE_NAME ".tmp", rootfd, BTRFS_IMAGE_NAME) < 0)
		r = snap_error_set(err, negative_errno(), "rename %s into place: %s", tmp,
				   strerror(errno));
	if (r < 0) {
		(void)unlinkat(rootfd, BTRFS_IMAGE_NAME ".tmp", 0);
		struct statvfs sv;
		if (fstatvfs(rootfd, &sv) == 0) {
			uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
			/* mkfs writes a few MiB of metadata even into a sparse file */
			if (avail < (64u << 20)) {
				/* mkfs itself often says only "Input/output error" */
				err->code = -ENOSPC;
				return snap_error_prefix(err,
							 "no space for the btrfs image on %s "
							 "(%" PRIu64 " bytes free)",
							 root, avail);
			}
		}
		return r;
	}
	(void)fsync(rootfd);
	return 0;
}

static const char *fs_name_of(int fd, char *buf, size_t len)
{
	struct mount_entry m;
	if (mount_of_fd(fd, &m) == 0) {
		snprintf(buf, len, "%s", m.fstype);
		mount_entry_done(&m);
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
		r = btrfs_parse_size(want, &size);
		if (r < 0)
			return snap_error_set(err, -EINVAL,
					      "invalid btrfs image size '%s' (expected e.g. 16G, "
					      "512M)",
					      want);
		r = image_create(rootfd, root, size, err);
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
		int fd = loop_attach(imgfd, be->image, &n, err);
		if (fd < 0)
			return fd;
		lfd = fd;
	}
	char dev[64];
	snprintf(dev, sizeof(dev), "/dev/loop%u", n);

	/* noatime: atime updates would turn reads into metadata CoW in every
	 * snapshot, and bind mounts of subvolumes inherit the flag.
	 * flushoncommit: every transaction commit writes out delalloc data
	 * first, so the commit that makes a snapshot read-only also puts its
	 * data extents in the tree, and usage needs no second sync. */
	if (mount(dev, be->snapdir, fstype, MS_NOATIME, "flushoncommit") < 0) {
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
	_cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
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
	struct mount_entry m = { 0 };
	bool is_mountpoint = false;
	if (mount_of_fd(mfd, &m) == 0) {
		char real[PATH_MAX];
		is_mountpoint = realpath(be.snapdir, real) && strcmp(real, m.target) == 0;
		be.flushoncommit = has_option(m.superopts, "flushoncommit");
		if (!be.device)
			be.device = TAKE_PTR(m.source);
		mount_entry_done(&m);
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
	struct mount_entry m;
	int r = mount_of_fd(fd, &m);
	if (r < 0)
		return snap_error_set(err, r, "find the mount of %s: %s", snapdir, strerror(-r));
	char real[PATH_MAX];
	bool ours = realpath(snapdir, real) && strcmp(real, m.target) == 0 &&
		    strcmp(m.fstype, "btrfs") == 0 && strncmp(m.source, "/dev/loop", 9) == 0;
	mount_entry_done(&m);
	close(TAKE_FD(fd));
	if (!ours)
		return 0;
	if (umount2(snapdir, UMOUNT_NOFOLLOW) < 0)
		return snap_error_set(err, negative_errno(), "unmount %s: %s", snapdir,
				      strerror(errno));
	return 0;
}
