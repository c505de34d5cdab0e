/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-verity on content blobs.  Where the filesystem of ROOT/content supports
 * it (ext4 made with -O verity, btrfs, f2fs), a blob is sealed when it is
 * published: the kernel builds a Merkle tree over it and from then on
 * refuses writes and returns EIO for any block read that does not match, so
 * damage on disk is caught at the first read instead of at the next
 * `snapctl verify`.  It is a hardening, never a requirement: a filesystem
 * without it keeps working, and the digest checks stay the reference.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fsverity.h>
#include <linux/stat.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/content.h"
#include "util/fs-util.h"
#include "util/macro.h"

int snap_content_verity_enable(int fd)
{
	struct fsverity_enable_arg arg = {
		.version = 1,
		.hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
		/* 4096: the one block size every filesystem with verity
		 * accepts on a 4K-page machine. */
		.block_size = 4096,
	};
	if (ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

bool snap_content_verity_on(int fd)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH, 0, &stx) < 0)
		return false;
	return (stx.stx_attributes_mask & STATX_ATTR_VERITY) && (stx.stx_attributes & STATX_ATTR_VERITY);
}

bool snap_content_verity_unsupported(int code)
{
	/* ENOTTY: the filesystem has no verity ioctl; EOPNOTSUPP: it has,
	 * but the feature is off (ext4 without -O verity, a kernel without
	 * CONFIG_FS_VERITY); EINVAL: block size not supported here. */
	return code == -ENOTTY || code == -EOPNOTSUPP || code == -EINVAL;
}

int snap_content_verity_probe(struct snap_core *core, char *detail, size_t len)
{
	struct snap_error err = { 0 };
	_cleanup_free_ char *dir = NULL;
	int r = snap_core_mkstaging(core, "verity-probe", &dir, &err);
	if (r < 0) {
		snprintf(detail, len, "cannot probe: %s", err.message);
		return 0;
	}
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = dfd < 0 ? -1 : openat(dfd, "probe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int supported = 0;
	if (fd < 0) {
		snprintf(detail, len, "cannot probe: %s", strerror(errno));
	} else {
		r = snap_write_all(fd, "snapctl", 7);
		close(fd);
		/* Read-only and no writer left: what the kernel requires. */
		_cleanup_close_ int rfd = r < 0 ? -EBADF : openat(dfd, "probe", O_RDONLY | O_CLOEXEC);
		if (r == 0)
			r = rfd < 0 ? negative_errno() : snap_content_verity_enable(rfd);
		if (r == 0) {
			supported = 1;
			snprintf(detail, len, "sealed when published (sha256 Merkle tree, 4096-byte blocks)");
		} else if (snap_content_verity_unsupported(r)) {
			snprintf(detail, len, "not supported by the filesystem of %s/content (%s)",
				 snap_core_root(core), strerror(-r));
		} else {
			snprintf(detail, len, "probe failed: %s", strerror(-r));
		}
		unlinkat(dfd, "probe", 0);
	}
	rmdir(dir);
	snap_core_staging_done(core, dir);
	return supported;
}
