/* SPDX-License-Identifier: Apache-2.0 */
#include "btrfs-test-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/btrfs/btrfs-internal.h"
#include "util/macro.h"
#include "tests/vfs/tree-util.h"

static bool in_path(const char *prog)
{
	const char *dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin" };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", dirs[i], prog);
		if (access(p, X_OK) == 0)
			return true;
	}
	return false;
}

const char *btrfs_test_skip_reason(void)
{
	if (geteuid() != 0)
		return "the btrfs tests need root (loop devices, mounts, subvolume ioctls)";
	if (access("/dev/loop-control", R_OK | W_OK) < 0)
		return "no usable /dev/loop-control";
	if (!in_path("mkfs.btrfs"))
		return "mkfs.btrfs (btrfs-progs) is not installed";
	return NULL;
}

int btrfs_test_private_ns(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return negative_errno();
	return 0;
}

int btrfs_test_count_loops(const char *prefix)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/block");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		char p[300];
		snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", de->d_name);
		_cleanup_fclose_ FILE *f = fopen(p, "re");
		char line[4096];
		if (f && fgets(line, sizeof(line), f) && strncmp(line, prefix, strlen(prefix)) == 0)
			n++;
	}
	return n;
}

int btrfs_test_count_mounts(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	int n = 0, c;
	while ((c = fgetc(f)) != EOF)
		if (c == '\n')
			n++;
	return n;
}

int btrfs_test_wait_loops(const char *prefix, int want)
{
	int n = btrfs_test_count_loops(prefix);
	for (int i = 0; i < 100 && n != want; i++) {
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
		n = btrfs_test_count_loops(prefix);
	}
	return n;
}

/* Detach every mount at or below `dir`, the most recent first (they may
 * stack): what a failed case left behind. */
static void umount_all_under(const char *dir)
{
	size_t dl = strlen(dir);
	for (int round = 0; round < 64; round++) {
		_cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
		if (!mi)
			return;
		char line[8192], last[4096] = "";
		while (fgets(line, sizeof(line), mi)) {
			char target[4096];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", target) != 1)
				continue;
			if (strncmp(target, dir, dl) == 0 && (target[dl] == '/' || !target[dl]))
				snprintf(last, sizeof(last), "%s", target);
		}
		if (!last[0] || umount2(last, MNT_DETACH) < 0)
			return;
	}
}

void btrfs_test_destroy_root(const char *root)
{
	if (access(root, F_OK) < 0)
		return;
	struct snap_error err = { 0 };
	if (btrfs_backend_teardown(root, &err) < 0) {
		/* a failed case may have left fds open in the tree: detach */
		fprintf(stderr, "teardown %s: %s (detaching)\n", root, err.message);
		char p[4096];
		snprintf(p, sizeof(p), "%s/snapshots", root);
		(void)umount2(p, MNT_DETACH);
	}
	umount_all_under(root);
	tree_rm_rf(root);
}

bool btrfs_test_is_delalloc(int treefd, const char *name)
{
	_cleanup_close_ int fd = openat(treefd, name, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[1];
	} m = { .fm = { .fm_length = FIEMAP_MAX_OFFSET, .fm_extent_count = 1 } };
	assert_int_equal(ioctl(fd, FS_IOC_FIEMAP, &m), 0);
	return m.fm.fm_mapped_extents == 1 && (m.ext[0].fe_flags & FIEMAP_EXTENT_DELALLOC);
}
