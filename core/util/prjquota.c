/* SPDX-License-Identifier: Apache-2.0 */
#include "prjquota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/quota.h>

#include "fs-util.h"
#include "macro.h"
#include "size-label.h"

#define BASIC_BLOCK 512 /* XFS quota limits count 512-byte blocks */

static int quotactl_fd(int fd, unsigned cmd, int id, void *addr)
{
	return (int)syscall(SYS_quotactl_fd, fd, cmd, id, addr);
}

int snap_prjquota_supported(int dirfd, const char *path, struct snap_error *err)
{
	struct statfs sf;
	if (fstatfs(dirfd, &sf) < 0)
		return snap_error_set(err, negative_errno(), "statfs %s: %s", path, strerror(errno));
	char fsbuf[32];
	const char *fs = snap_fs_type_name(sf.f_type);
	if (!fs) {
		snprintf(fsbuf, sizeof(fsbuf), "filesystem type 0x%lx", (unsigned long)sf.f_type);
		fs = fsbuf;
	}
	if ((unsigned long)sf.f_type != XFS_SUPER_MAGIC && (unsigned long)sf.f_type != EXT4_SUPER_MAGIC)
		return snap_error_set(err, -EOPNOTSUPP,
				      "%s is on %s: size limits need XFS (or ext4) mounted with "
				      "prjquota, or the btrfs driver",
				      path, fs);
	struct fs_quota_statv st = { .qs_version = FS_QSTATV_VERSION1 };
	if (quotactl_fd(dirfd, QCMD(Q_XGETQSTATV, PRJQUOTA), 0, &st) < 0)
		return snap_error_set(err, -EOPNOTSUPP,
				      "%s is on %s without project quotas (%s): mount it with "
				      "prjquota for size limits",
				      path, fs, strerror(errno));
	if (!(st.qs_flags & FS_QUOTA_PDQ_ENFD))
		return snap_error_set(err, -EOPNOTSUPP,
				      "%s is on %s with project quota accounting but not enforcement: "
				      "mount it with prjquota for size limits",
				      path, fs);
	return 0;
}

/* Is project id `id` free: no dquot, or one with neither limit nor use? */
static bool projid_free(int dirfd, uint32_t id)
{
	struct fs_disk_quota d = { 0 };
	if (quotactl_fd(dirfd, QCMD(Q_XGETQUOTA, PRJQUOTA), (int)id, &d) < 0)
		return errno == ENOENT || errno == ESRCH;
	return d.d_blk_hardlimit == 0 && d.d_blk_softlimit == 0 && d.d_bcount == 0 &&
	       d.d_icount == 0;
}

static int set_limit(int dirfd, uint32_t id, uint64_t bytes)
{
	struct fs_disk_quota d = {
		.d_version = FS_DQUOT_VERSION,
		.d_flags = FS_PROJ_QUOTA,
		.d_fieldmask = FS_DQ_BHARD | FS_DQ_BSOFT,
		.d_id = id,
		.d_blk_hardlimit = (bytes + BASIC_BLOCK - 1) / BASIC_BLOCK,
		.d_blk_softlimit = (bytes + BASIC_BLOCK - 1) / BASIC_BLOCK,
	};
	return quotactl_fd(dirfd, QCMD(Q_XSETQLIM, PRJQUOTA), (int)id, &d) < 0 ? negative_errno() : 0;
}

int snap_prjquota_limit(int dirfd, const char *path, uint64_t bytes, struct snap_error *err)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return snap_error_set(err, negative_errno(), "stat %s: %s", path, strerror(errno));
	uint32_t id = (uint32_t)st.st_ino;
	for (unsigned tries = 0; id == 0 || !projid_free(dirfd, id); tries++, id++)
		if (tries > 1024)
			return snap_error_set(err, -EUSERS, "%s: no free project id near %" PRIu32,
					      path, (uint32_t)st.st_ino);
	struct fsxattr fa;
	if (ioctl(dirfd, FS_IOC_FSGETXATTR, &fa) < 0)
		return snap_error_set(err, negative_errno(), "read the project of %s: %s", path,
				      strerror(errno));
	fa.fsx_projid = id;
	fa.fsx_xflags |= FS_XFLAG_PROJINHERIT;
	if (ioctl(dirfd, FS_IOC_FSSETXATTR, &fa) < 0)
		return snap_error_set(err, negative_errno(), "set project %" PRIu32 " on %s: %s", id,
				      path, strerror(errno));
	int r = set_limit(dirfd, id, bytes);
	if (r < 0)
		return snap_error_set(err, r, "limit project %" PRIu32 " (%s) to %" PRIu64 " bytes: %s",
				      id, path, bytes, strerror(-r));
	return 0;
}

static int projid_of(int dirfd, uint32_t *ret)
{
	struct fsxattr fa;
	if (ioctl(dirfd, FS_IOC_FSGETXATTR, &fa) < 0)
		return negative_errno();
	*ret = fa.fsx_projid;
	return 0;
}

int snap_prjquota_release(int dirfd)
{
	uint32_t id;
	if (projid_of(dirfd, &id) < 0 || id == 0)
		return 0;
	return set_limit(dirfd, id, 0);
}

int snap_prjquota_get(int dirfd, uint64_t *ret_bytes)
{
	uint32_t id;
	*ret_bytes = 0;
	if (projid_of(dirfd, &id) < 0 || id == 0)
		return 0;
	struct fs_disk_quota d = { 0 };
	if (quotactl_fd(dirfd, QCMD(Q_XGETQUOTA, PRJQUOTA), (int)id, &d) < 0)
		return negative_errno();
	*ret_bytes = d.d_blk_hardlimit * BASIC_BLOCK;
	return 0;
}

int snap_prjquota_from_label(const struct snap_ref *snap, struct snap_error *err)
{
	const char *size = snap_ref_label(snap, SNAP_LABEL_SIZE);
	if (!size || snap->kind != SNAP_KIND_ACTIVE)
		return 0;
	uint64_t bytes;
	if (snap_size_label_parse(size, &bytes) < 0)
		return snap_error_set(err, -EINVAL, SNAP_LABEL_SIZE " must be a byte count, not \"%s\"",
				      size);
	_cleanup_close_ int fd = open(snap->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "open %s: %s", snap->path, strerror(errno));
	int r = snap_prjquota_supported(fd, snap->path, err);
	if (r < 0)
		return r;
	r = snap_prjquota_limit(fd, snap->path, bytes, err);
	return r < 0 ? r : 1;
}

void snap_prjquota_release_path(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		(void)snap_prjquota_release(fd);
}

void snap_prjquota_describe(const char *dir, char *buf, size_t len)
{
	struct snap_error e = { 0 };
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(buf, len, "unknown: open %s: %s", dir, strerror(errno));
		return;
	}
	if (snap_prjquota_supported(fd, dir, &e) < 0)
		snprintf(buf, len, "no: %s", e.message);
	else
		snprintf(buf, len, "yes: project quotas (snapctl.size, run --storage-opt size=)");
}
