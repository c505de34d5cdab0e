/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backing filesystems the roots live on: tmpfs, or a fresh ext4, xfs or
 * btrfs made by its mkfs in a sparse image WORK/NAME.img and mounted from a
 * loop device (attached with autoclear: unmounting detaches it).  All of it
 * is mounted in fstest's private mount namespace, so it also goes away when
 * fstest is killed; the images are removed on exit and SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fstest.h"
#include "util/fs-util.h"
#include "util/loop-dev.h"
#include "util/macro.h"

/* 1 GiB sparse: xfs wants at least 300 MiB; the scenarios write little. */
#define IMAGE_SIZE (1LL << 30)

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

static int make_loop(struct fst_run *run, struct fst_backing *b, struct snap_error *err)
{
	_cleanup_close_ int img = open(b->image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (img < 0)
		return snap_error_set(err, negative_errno(), "create %s: %s", b->image, strerror(errno));
	if (ftruncate(img, IMAGE_SIZE) < 0)
		return snap_error_set(err, negative_errno(), "size %s: %s", b->image, strerror(errno));
	_cleanup_free_ char *log = NULL;
	if (asprintf(&log, "%s/%s.mkfs.log", run->work, b->name) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");
	/* Options for speed and determinism: no lazy init threads writing
	 * behind the scenarios, no discard of the whole image. */
	char *const ext4[] = { "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0,nodiscard",
			       b->image, NULL };
	char *const xfs[] = { "mkfs.xfs", "-q", "-f", "-K", b->image, NULL };
	char *const btrfs[] = { "mkfs.btrfs", "-q", "-f", "-K", b->image, NULL };
	char *const *argv = !strcmp(b->name, "ext4") ? ext4 : !strcmp(b->name, "xfs") ? xfs : btrfs;
	int r = run_tool(argv, log, err);
	if (r < 0)
		return r;
	unlink(log);
	unsigned n;
	_cleanup_close_ int lfd = snap_loop_attach(img, b->image, &n, err);
	if (lfd < 0)
		return lfd;
	char dev[64];
	snprintf(dev, sizeof(dev), "/dev/loop%u", n);
	if (mount(dev, b->mnt, b->name, 0, NULL) < 0)
		return snap_error_set(err, negative_errno(), "mount %s (%s) on %s: %s", dev, b->name, b->mnt,
				      strerror(errno));
	return 0;
}

int fst_backing_make(struct fst_run *run, struct fst_backing *b)
{
	struct snap_error err = { 0 };
	if (mkdir(b->mnt, 0755) < 0) {
		snprintf(b->skip, sizeof(b->skip), "mkdir %s: %s", b->mnt, strerror(errno));
		return -errno;
	}
	int r;
	if (!b->mkfs)
		r = mount("tmpfs", b->mnt, "tmpfs", 0, "size=2g,mode=0755") < 0
			    ? snap_error_set(&err, negative_errno(), "mount tmpfs on %s: %s", b->mnt, strerror(errno))
			    : 0;
	else
		r = make_loop(run, b, &err);
	if (r < 0) {
		snprintf(b->skip, sizeof(b->skip), "%s", err.message);
		if (b->image)
			unlink(b->image);
		return r;
	}
	b->mounted = true;
	return 0;
}

/* Mount points in /proc/self/mountinfo (field 5, octal escapes). */
static size_t mounts_below(const char *prefix, char ***ret)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char **v = NULL;
	size_t n = 0, plen = strlen(prefix);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		char *o = mp;
		for (const char *p = mp; *p; p++) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
				*o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
				p += 3;
			} else {
				*o++ = *p;
			}
		}
		*o = '\0';
		if (strncmp(mp, prefix, plen) != 0 || (mp[plen] != '/' && mp[plen] != '\0'))
			continue;
		char **nv = realloc(v, (n + 1) * sizeof(char *));
		if (!nv)
			break;
		v = nv;
		if ((v[n] = strdup(mp)))
			n++;
	}
	*ret = v;
	return n;
}

void fst_umount_below(const char *prefix)
{
	/* Later lines are mounted later (on top): detach from the end.  A few
	 * rounds for mounts that reappear from propagation. */
	for (int round = 0; round < 4; round++) {
		char **v = NULL;
		size_t n = mounts_below(prefix, &v);
		for (size_t i = n; i-- > 0;) {
			umount2(v[i], MNT_DETACH);
			free(v[i]);
		}
		free(v);
		if (n == 0)
			break;
	}
}

void fst_backing_remove(struct fst_backing *b)
{
	if (b->mnt) {
		fst_umount_below(b->mnt);
		rmdir(b->mnt);
	}
	b->mounted = false;
	if (b->image)
		unlink(b->image);
}
