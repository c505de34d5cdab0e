/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The whiteout hook of the layer applier: OCI whiteouts become overlayfs
 * whiteouts in the upper dir being filled.
 *
 *   .wh.NAME      → NAME as a character device 0/0 (what overlayfs itself
 *                   creates); where mknod is not allowed (no CAP_MKNOD in a
 *                   user namespace), the xattr form: an empty regular file
 *                   with overlay.whiteout, its directory marked
 *                   overlay.opaque="x" ("holds xattr whiteouts", 6.7+).
 *   .wh..wh..opq  → overlay.opaque="y" on the directory.
 *
 * The xattr prefix is trusted.overlay. or, in userxattr mode, user.overlay.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "ovl-internal.h"

static const char *prefix(struct ovl_state *st)
{
	return ovl_features_get(st)->need_userxattr ? "user.overlay." : "trusted.overlay.";
}

/* Read a small overlay xattr of an fd (not O_PATH) into buf; length or -errno. */
static ssize_t ovl_getxattr(int fd, const char *pfx, const char *name, char *buf, size_t size)
{
	char key[64];
	snprintf(key, sizeof(key), "%s%s", pfx, name);
	ssize_t n = fgetxattr(fd, key, buf, size);
	return n < 0 ? negative_errno() : n;
}

bool ovl_is_whiteout_at(int dirfd, const char *name, const struct stat *st)
{
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		return true;
	if (!S_ISREG(st->st_mode) || st->st_size != 0)
		return false;
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	char c;
	return ovl_getxattr(fd, "trusted.overlay.", "whiteout", &c, 0) >= 0 ||
	       ovl_getxattr(fd, "user.overlay.", "whiteout", &c, 0) >= 0;
}

static bool valid_name(const char *name)
{
	return name[0] && strchr(name, '/') == NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int whiteout_entry(struct ovl_state *st, int dirfd, const char *name, struct snap_error *err)
{
	/* Something of this layer by that name goes first: the whiteout wins
	 * (the later entry of a layer wins). */
	int r = snap_rm_rf_at(dirfd, name);
	if (r < 0)
		return snap_error_set(err, r, "whiteout '%s': remove the entry it replaces: %s", name, strerror(-r));
	if (mknodat(dirfd, name, S_IFCHR | 0000, makedev(0, 0)) == 0)
		return 0;
	if (errno != EPERM)
		return snap_error_set(err, negative_errno(), "whiteout '%s': mknod 0/0: %s", name, strerror(errno));

	/* No CAP_MKNOD: the xattr form. */
	const char *pfx = prefix(st);
	char key[64], buf[4];
	_cleanup_close_ int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return snap_error_set(err, negative_errno(), "whiteout '%s': open its directory: %s", name,
				      strerror(errno));
	ssize_t n = ovl_getxattr(d, pfx, "opaque", buf, sizeof(buf));
	if (n == 1 && buf[0] == 'y')
		return 0; /* an opaque dir hides everything below already */
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0000);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "whiteout '%s': create: %s", name, strerror(errno));
	snprintf(key, sizeof(key), "%swhiteout", pfx);
	if (fsetxattr(fd, key, "", 0, 0) < 0) {
		r = negative_errno();
		unlinkat(dirfd, name, 0);
		return snap_error_set(err, r, "whiteout '%s': set %s: %s", name, key, strerror(-r));
	}
	snprintf(key, sizeof(key), "%sopaque", pfx);
	if (fsetxattr(d, key, "x", 1, 0) < 0) {
		r = negative_errno();
		unlinkat(dirfd, name, 0);
		return snap_error_set(err, r, "whiteout '%s': set %s on its directory: %s", name, key, strerror(-r));
	}
	return 0;
}

static int whiteout_opaque(struct ovl_state *st, int dirfd, const char *name, struct snap_error *err)
{
	bool self = name[0] == '\0' || strcmp(name, ".") == 0;
	if (!self && !valid_name(name))
		return snap_error_set(err, -EINVAL, "opaque whiteout: bad directory name '%s'", name);
	_cleanup_close_ int fd = openat(dirfd, self ? "." : name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "opaque whiteout: open directory '%s': %s", name,
				      strerror(errno));

	/* Already opaque (a repeated marker): nothing to do, and no rescan of
	 * the directory, so many markers cannot go quadratic. */
	const char *pfx = prefix(st);
	char v[4];
	ssize_t n = ovl_getxattr(fd, pfx, "opaque", v, sizeof(v));
	if (n == 1 && v[0] == 'y')
		return 0;
	bool has_xattr_whiteouts = n == 1 && v[0] == 'x';

	/* The layer may have put entries here before its opaque marker: they
	 * stay.  Whiteouts made earlier in this directory hide nothing more
	 * once it is opaque and, in the xattr form, would show as empty files
	 * under "y": drop them. */
	_cleanup_close_ int lfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0)
		return snap_error_set(err, negative_errno(), "opaque whiteout '%s': %s", name, strerror(errno));
	_cleanup_closedir_ DIR *d = fdopendir(lfd);
	if (!d)
		return snap_error_set(err, negative_errno(), "opaque whiteout '%s': %s", name, strerror(errno));
	TAKE_FD(lfd);
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		bool reg = de->d_type == DT_REG || de->d_type == DT_UNKNOWN;
		if (de->d_type != DT_CHR && !(reg && has_xattr_whiteouts) && de->d_type != DT_UNKNOWN)
			continue;
		struct stat sst;
		if (fstatat(fd, de->d_name, &sst, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(sst.st_mode) && !has_xattr_whiteouts)
			continue;
		if (ovl_is_whiteout_at(fd, de->d_name, &sst) && unlinkat(fd, de->d_name, 0) < 0)
			return snap_error_set(err, negative_errno(), "opaque whiteout '%s': remove whiteout '%s': %s",
					      name, de->d_name, strerror(errno));
	}

	char key[64];
	snprintf(key, sizeof(key), "%sopaque", pfx);
	if (fsetxattr(fd, key, "y", 1, 0) < 0)
		return snap_error_set(err, negative_errno(), "opaque whiteout '%s': set %s: %s", name, key,
				      strerror(errno));
	return 0;
}

int ovl_apply_whiteout(void *state, int dirfd, const char *name, int kind, struct snap_error *err)
{
	struct ovl_state *st = state;
	switch (kind) {
	case SNAP_WHITEOUT_ENTRY:
		if (!valid_name(name))
			return snap_error_set(err, -EINVAL, "whiteout: bad name '%s'", name);
		return whiteout_entry(st, dirfd, name, err);
	case SNAP_WHITEOUT_OPAQUE:
		return whiteout_opaque(st, dirfd, name, err);
	default:
		return snap_error_set(err, -EINVAL, "whiteout '%s': unknown kind %d", name, kind);
	}
}
