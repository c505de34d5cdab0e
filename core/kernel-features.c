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
	[SNAP_FEAT_LOWERDIR_PLUS] = { .name = "lowerdir+" },
	[SNAP_FEAT_USERXATTR] = { .name = "userxattr" },
	[SNAP_FEAT_METACOPY] = { .name = "metacopy" },
	[SNAP_FEAT_REDIRECT_DIR] = { .name = "redirect_dir" },
	[SNAP_FEAT_INDEX] = { .name = "index" },
	[SNAP_FEAT_VOLATILE] = { .name = "volatile" },
	[SNAP_FEAT_NFS_EXPORT] = { .name = "nfs_export" },
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

/* ---- overlay ------------------------------------------------------------- */

/* The fs context's own log explains a refusal better than the errno
 * ("e overlay: ..."); take its last line. */
static void read_fs_log(int fsfd, char *buf, size_t size)
{
	char line[256];
	ssize_t n;
	while ((n = read(fsfd, line, sizeof(line) - 1)) > 0) {
		line[n] = '\0';
		snprintf(buf, size, "%s", line);
	}
}

/* Try to create an overlay superblock over fresh dirs scratch/p<n>/, with
 * the given extra options ("key" flags or "key=value").  Never attached. */
static int ovl_try(const char *scratch, int n, bool lowerdir_plus, const char *const *opts, char *why,
		   size_t why_size)
{
	char base[4096], lower[4200], upper[4200], work[4200];
	snprintf(base, sizeof(base), "%s/p%d", scratch, n);
	snprintf(lower, sizeof(lower), "%s/lower", base);
	snprintf(upper, sizeof(upper), "%s/upper", base);
	snprintf(work, sizeof(work), "%s/work", base);
	if (mkdir(base, 0700) < 0 || mkdir(lower, 0700) < 0 || mkdir(upper, 0700) < 0 || mkdir(work, 0700) < 0) {
		snprintf(why, why_size, "mkdir under %s: %s", scratch, strerror(errno));
		return negative_errno();
	}
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0) {
		snprintf(why, why_size, "fsopen(overlay): %s", strerror(errno));
		return negative_errno();
	}
	struct {
		const char *key, *value;
	} params[12];
	size_t np = 0;
	params[np++] = (typeof(params[0])){ lowerdir_plus ? "lowerdir+" : "lowerdir", lower };
	params[np++] = (typeof(params[0])){ "upperdir", upper };
	params[np++] = (typeof(params[0])){ "workdir", work };
	char kv[8][64];
	for (size_t i = 0; opts && opts[i] && i < 8; i++) {
		snprintf(kv[i], sizeof(kv[i]), "%s", opts[i]);
		char *eq = strchr(kv[i], '=');
		if (eq)
			*eq++ = '\0';
		params[np++] = (typeof(params[0])){ kv[i], eq };
	}
	for (size_t i = 0; i < np; i++) {
		int r = params[i].value ? fsconfig(fs, FSCONFIG_SET_STRING, params[i].key, params[i].value, 0)
					: fsconfig(fs, FSCONFIG_SET_FLAG, params[i].key, NULL, 0);
		if (r < 0) {
			int e = errno;
			char log[256] = "";
			read_fs_log(fs, log, sizeof(log));
			snprintf(why, why_size, "fsconfig %s: %s%s%s", params[i].key, strerror(e), log[0] ? "; " : "",
				 log);
			return -e;
		}
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int e = errno;
		char log[256] = "";
		read_fs_log(fs, log, sizeof(log));
		snprintf(why, why_size, "create superblock: %s%s%s", strerror(e), log[0] ? "; " : "", log);
		return -e;
	}
	return 0;
}

static void probe_overlay(const char *scratch)
{
	char why[160];
	int r = ovl_try(scratch, 0, false, NULL, why, sizeof(why));
	if (r == -ENOSYS) {
		/* Without the new mount API the only way to know would be to
		 * mount for real; report what the kernel lists. */
		_cleanup_free_ char *fsl = NULL;
		size_t len = 0;
		bool listed = snap_read_file_at(AT_FDCWD, "/proc/filesystems", 1 << 16, &fsl, &len) == 0 &&
			      strstr(fsl, "\toverlay\n");
		set(SNAP_FEAT_OVERLAY, listed ? SNAP_FEATURE_YES : SNAP_FEATURE_NO,
		    "new mount API missing; from /proc/filesystems");
		set(SNAP_FEAT_LOWERDIR_PLUS, SNAP_FEATURE_NO, "new mount API missing");
		for (int id = SNAP_FEAT_USERXATTR; id <= SNAP_FEAT_NFS_EXPORT; id++)
			set(id, SNAP_FEATURE_UNKNOWN, "new mount API missing");
		return;
	}
	if (r < 0) {
		bool perm = r == -EPERM || r == -EACCES;
		set(SNAP_FEAT_OVERLAY, perm ? SNAP_FEATURE_UNKNOWN : SNAP_FEATURE_NO, "%s", why);
		for (int id = SNAP_FEAT_LOWERDIR_PLUS; id <= SNAP_FEAT_NFS_EXPORT; id++)
			set(id, perm ? SNAP_FEATURE_UNKNOWN : SNAP_FEATURE_NO, "overlay unavailable");
		return;
	}
	set(SNAP_FEAT_OVERLAY, SNAP_FEATURE_YES, NULL);

	static const struct {
		enum snap_feature_id id;
		bool lowerdir_plus;
		const char *opts[3];
	} probes[] = {
		{ SNAP_FEAT_LOWERDIR_PLUS, true, { NULL } },
		{ SNAP_FEAT_USERXATTR, false, { "userxattr", NULL } },
		{ SNAP_FEAT_METACOPY, false, { "metacopy=on", NULL } },
		{ SNAP_FEAT_REDIRECT_DIR, false, { "redirect_dir=on", NULL } },
		{ SNAP_FEAT_INDEX, false, { "index=on", NULL } },
		{ SNAP_FEAT_VOLATILE, false, { "volatile", NULL } },
		{ SNAP_FEAT_NFS_EXPORT, false, { "index=on", "nfs_export=on", NULL } },
	};
	for (size_t i = 0; i < ELEMENTSOF(probes); i++) {
		r = ovl_try(scratch, (int)i + 1, probes[i].lowerdir_plus, probes[i].opts, why, sizeof(why));
		if (r == 0)
			set(probes[i].id, SNAP_FEATURE_YES, NULL);
		else
			set(probes[i].id, SNAP_FEATURE_NO, "%s", why);
	}
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

static void probe_btrfs(void)
{
	_cleanup_free_ char *fsl = NULL;
	size_t len = 0;
	int r = snap_read_file_at(AT_FDCWD, "/proc/filesystems", 1 << 16, &fsl, &len);
	if (r < 0)
		{
		set(SNAP_FEAT_BTRFS, SNAP_FEATURE_UNKNOWN, "read /proc/filesystems: %s", strerror(-r));
		return;
	}
	if (strstr(fsl, "\tbtrfs\n"))
		set(SNAP_FEAT_BTRFS, SNAP_FEATURE_YES, NULL);
	else
		set(SNAP_FEAT_BTRFS, SNAP_FEATURE_NO, "not in /proc/filesystems");
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
	probe_btrfs();
	if (!mkdtemp(scratch)) {
		int e = errno;
		for (int id = 0; id < SNAP_FEAT__MAX; id++)
			if (id != SNAP_FEAT_OPENAT2 && id != SNAP_FEAT_BTRFS)
				set(id, SNAP_FEATURE_UNKNOWN, "no scratch directory in %s: %s", base, strerror(e));
		return;
	}
	_cleanup_close_ int fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Locked like every staging directory, so that a concurrent cleanup
	 * leaves it alone while we probe. */
	if (fd >= 0)
		flock(fd, LOCK_EX | LOCK_NB);
	probe_overlay(scratch);
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
