/* SPDX-License-Identifier: Apache-2.0 */
/* The loopback image: a sparse file with a fresh btrfs made by mkfs.btrfs
 * (btrfs-progs, run with fork/execvp: no shell). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "btrfs-internal.h"
#include "util/macro.h"

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
int btrfs_image_create(int rootfd, const char *root, uint64_t size, struct snap_error *err)
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
