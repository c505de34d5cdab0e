/* SPDX-License-Identifier: Apache-2.0 */
#include "kernel-features.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "util/userns.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool probed;
static struct snap_feature table[SNAP_FEAT__MAX] = {
	[SNAP_FEAT_OVERLAY] = { .name = "overlay" },
	[SNAP_FEAT_IDMAPPED] = { .name = "idmapped-mounts" },
	[SNAP_FEAT_OPENAT2] = { .name = "openat2" },
	[SNAP_FEAT_BTRFS] = { .name = "btrfs" },
	[SNAP_FEAT_REFLINK] = { .name = "reflink" },
};

const char *snap_feature_state_name(int state)
{
	switch (state) {
	case SNAP_FEATURE_YES:
		return "yes";
	case SNAP_FEATURE_NO:
		return "no";
	default:
		return "unknown";
	}
}

static void set(enum snap_feature_id id, int state, const char *fmt, ...) _printf_(3, 4);
static void set(enum snap_feature_id id, int state, const char *fmt, ...)
{
	table[id].state = state;
	table[id].detail[0] = '\0';
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(table[id].detail, sizeof(table[id].detail), fmt, ap);
		va_end(ap);
	}
}

/* ---- filesystems the kernel has --------------------------------------- */

/* In /proc/filesystems.  What overlay can do (lowerdir+, userxattr,
 * metacopy, ...) is the overlay driver's to probe, on the root it mounts
 * on: drivers/overlay/probe.c, shown by `snapctl --driver overlay info`. */
static void probe_listed(enum snap_feature_id id, const char *fs)
{
	_cleanup_free_ char *fsl = NULL;
	size_t len = 0;
	int r = snap_read_file_at(AT_FDCWD, "/proc/filesystems", 1 << 16, &fsl, &len);
	if (r < 0) {
		set(id, SNAP_FEATURE_UNKNOWN, "read /proc/filesystems: %s", strerror(-r));
		return;
	}
	char needle[64];
	snprintf(needle, sizeof(needle), "\t%s\n", fs);
	if (strstr(fsl, needle))
		set(id, SNAP_FEATURE_YES, NULL);
	else
		set(id, SNAP_FEATURE_NO, "not in /proc/filesystems");
}

/* ---- idmapped mounts ----------------------------------------------------- */

static void probe_idmapped(const char *scratch)
{
	_cleanup_close_ int tree = open_tree(AT_FDCWD, scratch, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		int e = errno;
		set(SNAP_FEAT_IDMAPPED, e == ENOSYS ? SNAP_FEATURE_NO : SNAP_FEATURE_UNKNOWN, "open_tree: %s",
		    strerror(e));
		return;
	}
	_cleanup_close_ int ns = snap_userns_fd();
	if (ns == -EOPNOTSUPP) {
		set(SNAP_FEAT_IDMAPPED, SNAP_FEATURE_UNKNOWN, "cannot create a user namespace");
		return;
	}
	if (ns < 0) {
		set(SNAP_FEAT_IDMAPPED, SNAP_FEATURE_UNKNOWN, "cannot map a user namespace");
		return;
	}
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0)
		set(SNAP_FEAT_IDMAPPED, SNAP_FEATURE_YES, NULL);
	else
		set(SNAP_FEAT_IDMAPPED, SNAP_FEATURE_NO, "mount_setattr(MOUNT_ATTR_IDMAP): %s", strerror(errno));
}

/* ---- reflink, btrfs, openat2 --------------------------------------------- */

static void probe_reflink(int scratchfd, const char *scratch)
{
	_cleanup_close_ int src = openat(scratchfd, "reflink-src", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	_cleanup_close_ int dst = openat(scratchfd, "reflink-dst", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (src < 0 || dst < 0)
		{
		set(SNAP_FEAT_REFLINK, SNAP_FEATURE_UNKNOWN, "create files in %s: %s", scratch,
			   strerror(errno));
		return;
	}
	char block[4096];
	memset(block, 'r', sizeof(block));
	if (snap_write_all(src, block, sizeof(block)) < 0)
		{
		set(SNAP_FEAT_REFLINK, SNAP_FEATURE_UNKNOWN, "write in %s: %s", scratch, strerror(errno));
		return;
	}
	if (ioctl(dst, FICLONE, src) == 0)
		set(SNAP_FEAT_REFLINK, SNAP_FEATURE_YES, NULL);
	else
		set(SNAP_FEAT_REFLINK, SNAP_FEATURE_NO, "FICLONE in %s: %s", scratch, strerror(errno));
}

/* ---- entry points -------------------------------------------------------- */

static void probe_all(const char *root)
{
	char base[4096];
	if (root) {
		snprintf(base, sizeof(base), "%s/tmp", root);
	} else {
		const char *t = getenv("TMPDIR");
		snprintf(base, sizeof(base), "%s", t && *t ? t : "/tmp");
	}
	char scratch[4200];
	snprintf(scratch, sizeof(scratch), "%s/features-XXXXXX", base);
	set(SNAP_FEAT_OPENAT2, snap_fs_have_openat2() ? SNAP_FEATURE_YES : SNAP_FEATURE_NO,
	    snap_fs_have_openat2() ? NULL : "openat2 missing or disabled (SNAPCTL_NO_OPENAT2)");
	probe_listed(SNAP_FEAT_OVERLAY, "overlay");
	probe_listed(SNAP_FEAT_BTRFS, "btrfs");
	if (!mkdtemp(scratch)) {
		int e = errno;
		for (int id = 0; id < SNAP_FEAT__MAX; id++)
			if (id != SNAP_FEAT_OPENAT2 && id != SNAP_FEAT_BTRFS && id != SNAP_FEAT_OVERLAY)
				set(id, SNAP_FEATURE_UNKNOWN, "no scratch directory in %s: %s", base, strerror(e));
		return;
	}
	_cleanup_close_ int fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Locked like every staging directory, so that a concurrent cleanup
	 * leaves it alone while we probe. */
	if (fd >= 0)
		flock(fd, LOCK_EX | LOCK_NB);
	probe_idmapped(scratch);
	if (fd >= 0)
		probe_reflink(fd, scratch);
	else
		set(SNAP_FEAT_REFLINK, SNAP_FEATURE_UNKNOWN, "open %s: %s", scratch, strerror(errno));
	_cleanup_close_ int parent = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent >= 0)
		snap_rm_rf_at(parent, strrchr(scratch, '/') + 1);
}

const struct snap_feature *snap_features_probe(const char *root)
{
	pthread_mutex_lock(&lock);
	if (!probed) {
		probe_all(root);
		probed = true;
	}
	pthread_mutex_unlock(&lock);
	return table;
}

bool snap_feature_have(const char *root, enum snap_feature_id id)
{
	if (id < 0 || id >= SNAP_FEAT__MAX)
		return false;
	return snap_features_probe(root)[id].state == SNAP_FEATURE_YES;
}
