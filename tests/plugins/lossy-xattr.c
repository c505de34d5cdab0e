/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test plugin for snapctl fstest: the vfs driver, registered as
 * "vfs-lossy-xattr", whose copy of the parent's tree (create of an active
 * snapshot with a parent) loses every user.* xattr, the way a copy without
 * xattr support would.  fstest must see the lost xattrs, exit 1 and name the
 * scenarios (tests/fstest/fstest-lossy-plugin.sh).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "drivers/vfs/vfs.h"

static struct snap_driver lossy;

/* Remove user.* xattrs of every entry below dirfd (not following symlinks:
 * user xattrs are not allowed on them anyway). */
static void strip_user_xattrs(int dirfd, int depth)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int pfd = openat(dirfd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (pfd < 0)
			continue;
		char proc[64], list[4096];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		ssize_t n = listxattr(proc, list, sizeof(list));
		for (char *p = list; n > 0 && p < list + n; p += strlen(p) + 1)
			if (!strncmp(p, "user.", 5))
				removexattr(proc, p);
		struct stat st;
		if (depth < 32 && fstat(pfd, &st) == 0 && S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				strip_user_xattrs(sub, depth + 1);
				close(sub);
			}
		}
		close(pfd);
	}
	closedir(d);
}

static int lossy_create(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
			struct snap_error *err)
{
	int r = snap_vfs_driver.create(state, snap, parents, err);
	if (r < 0 || snap->kind != SNAP_KIND_ACTIVE || parents->n == 0)
		return r;
	int fd = -EBADF;
	r = snap_vfs_driver.open_tree(state, snap, &fd, err);
	if (r < 0)
		return r;
	strip_user_xattrs(fd, 0);
	close(fd);
	return 0;
}

__attribute__((constructor)) static void lossy_init(void)
{
	lossy = snap_vfs_driver;
	lossy.name = "vfs-lossy-xattr";
	lossy.create = lossy_create;
}

SNAP_PLUGIN_DEFINE(&lossy, "test plugin: the vfs driver whose copy loses user.* xattrs (fstest must catch it)");
