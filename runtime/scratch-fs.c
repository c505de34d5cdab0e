/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scratch-fs.h"
#include "util/fs-util.h"
#include "util/loop-dev.h"
#include "util/macro.h"

bool snap_scratch_fs_known(const char *type)
{
	return !strcmp(type, "ext4") || !strcmp(type, "xfs") || !strcmp(type, "btrfs");
}

/* Run argv with stdout and stderr into `log`; 0 when it exits 0, else
 * -EIO with the last line of its output in err. */
static int run_tool(char *const argv[], const char *log, struct snap_error *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return snap_error_set(err, negative_errno(), "%s: fork: %s", argv[0], strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return snap_error_set(err, negative_errno(), "%s: wait: %s", argv[0], strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	_cleanup_free_ char *out = NULL;
	(void)snap_read_file_at(AT_FDCWD, log, 1 << 16, &out, NULL);
	char *last = out;
	if (out) {
		size_t n = strlen(out);
		while (n > 0 && out[n - 1] == '\n')
			out[--n] = '\0';
		char *nl = strrchr(out, '\n');
		last = nl ? nl + 1 : out;
	}
	return snap_error_set(err, -EIO, "%s failed: %s", argv[0], last && *last ? last : "no output");
}

/* /sys/block/loopN/loop/dio: "1" when the device does direct I/O. */
static bool loop_direct_io(unsigned n)
{
	char p[96];
	snprintf(p, sizeof(p), "/sys/block/loop%u/loop/dio", n);
	_cleanup_free_ char *v = NULL;
	return snap_read_file_at(AT_FDCWD, p, 16, &v, NULL) >= 0 && v[0] == '1';
}

int snap_scratch_fs_make(const char *type, const char *image, int64_t size, const char *mnt, const char *log,
			 bool *ret_direct_io, struct snap_error *err)
{
	if (!snap_scratch_fs_known(type))
		return snap_error_set(err, -EINVAL, "no scratch filesystem of type '%s' (ext4, xfs or btrfs)", type);
	_cleanup_close_ int img = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (img < 0)
		return snap_error_set(err, negative_errno(), "create %s: %s", image, strerror(errno));
	if (ftruncate(img, size) < 0)
		return snap_error_set(err, negative_errno(), "size %s: %s", image, strerror(errno));
	char *const ext4[] = { "mkfs.ext4", "-q", "-F", "-E", "lazy_journal_init=0,nodiscard", (char *)image, NULL };
	char *const xfs[] = { "mkfs.xfs", "-q", "-f", "-K", (char *)image, NULL };
	char *const btrfs[] = { "mkfs.btrfs", "-q", "-f", "-K", (char *)image, NULL };
	char *const *argv = !strcmp(type, "ext4") ? ext4 : !strcmp(type, "xfs") ? xfs : btrfs;
	int r = run_tool(argv, log, err);
	if (r < 0)
		return r;
	unlink(log);
	unsigned n;
	_cleanup_close_ int lfd = snap_loop_attach(img, image, &n, err);
	if (lfd < 0)
		return lfd;
	if (ret_direct_io)
		*ret_direct_io = loop_direct_io(n);
	char dev[64];
	snprintf(dev, sizeof(dev), "/dev/loop%u", n);
	/* ext4 zeroes the inode tables mkfs left uninitialised in a kernel
	 * thread after mounting, for minutes on a large image. */
	if (mount(dev, mnt, type, 0, !strcmp(type, "ext4") ? "noinit_itable" : NULL) < 0)
		return snap_error_set(err, negative_errno(), "mount %s (%s) on %s: %s", dev, type, mnt,
				      strerror(errno));
	return 0;
}
