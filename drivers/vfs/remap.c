/* SPDX-License-Identifier: Apache-2.0 */
#include "remap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"

int vfs_remap_wanted(int rootfd, const struct snap_ref *snap, struct snap_idmap *ret, struct snap_error *err)
{
	int r = snap_idmap_from_labels(snap->labels, snap->n_labels, ret, err);
	if (r <= 0)
		return r;
	const char *how = snap_ref_label(snap, VFS_LABEL_IDMAP);
	if (!how || !strcmp(how, "auto")) {
		/* By name, not /proc/self/fd/N: open_tree refuses (EINVAL) a
		 * mount of another mount namespace, which rootfd's is once the
		 * caller unshared one after opening the store (run does). */
		char fdpath[64], path[PATH_MAX];
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", rootfd);
		ssize_t n = readlink(fdpath, path, sizeof(path) - 1);
		if (n < 0 || (size_t)n >= sizeof(path) - 1 || path[0] != '/')
			snprintf(path, sizeof(path), "%s", fdpath);
		else
			path[n] = '\0';
		struct snap_error why = { 0 };
		r = snap_idmap_supported(path, &why);
		return r < 0 ? snap_error_set(err, r, "%s", why.message) : r == 0;
	}
	if (!strcmp(how, "mount"))
		return 0;
	if (!strcmp(how, "chown"))
		return 1;
	return snap_error_set(err, -EINVAL, "label %s=%s: expected auto, mount or chown", VFS_LABEL_IDMAP, how);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int vfs_remap_tree(int dirfd, int treefd, const struct snap_idmap *map, char *summary, size_t size,
		   struct snap_error *err)
{
	struct snap_idmap_chown_stats st = { 0 };
	double t0 = now_ms();
	int r = snap_idmap_chown_tree(treefd, map, &st);
	if (r < 0)
		return snap_error_set(err, r, "chown the tree to the mapping's host ids: %s", strerror(-r));
	snprintf(summary, size,
		 "chowned %llu entries (%llu bytes) to the mapping's host ids in %.1f ms: this filesystem "
		 "cannot idmap mounts (containerd's remap fallback)",
		 (unsigned long long)st.entries, (unsigned long long)st.bytes, now_ms() - t0);
	_cleanup_close_ int fd = openat(dirfd, VFS_REMAP_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || snap_write_all(fd, summary, strlen(summary)) < 0 || snap_write_all(fd, "\n", 1) < 0)
		return snap_error_set(err, fd < 0 ? negative_errno() : -EIO, "write %s: %s", VFS_REMAP_FILE,
				      strerror(errno));
	return 0;
}

bool vfs_remapped(const struct snap_ref *snap)
{
	_cleanup_close_ int dfd = open(snap->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return dfd >= 0 && faccessat(dfd, VFS_REMAP_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int vfs_idmap_options(const struct snap_ref *snap, char **ret_uid, char **ret_gid)
{
	*ret_uid = *ret_gid = NULL;
	if (vfs_remapped(snap))
		return 0;
	return snap_idmap_mount_options(snap, ret_uid, ret_gid);
}
