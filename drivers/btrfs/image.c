/* SPDX-License-Identifier: Apache-2.0 */
/* The loopback image: a sparse file with a fresh btrfs made by mkfs.btrfs
 * (btrfs-progs, run by snap_run_tool: no shell). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "btrfs-internal.h"
#include "util/macro.h"
#include "util/run-tool.h"

/* Create ROOT/btrfs.img: a sparse file of `size` bytes with a fresh btrfs,
 * built under a staging name and renamed into place last, so a crash never
 * leaves a half-made image under the real name. */
int btrfs_image_create(int rootfd, const char *root, uint64_t size, struct snap_error *err)
{
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s/" BTRFS_IMAGE_NAME ".tmp", root) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");

	(void)unlinkat(rootfd, BTRFS_IMAGE_NAME ".tmp", 0); /* a crashed attempt's */
	_cleanup_close_ int fd = openat(rootfd, BTRFS_IMAGE_NAME ".tmp",
					O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "create image %s: %s", tmp,
				      strerror(errno));
	int r = 0;
	if (ftruncate(fd, (off_t)size) < 0)
		r = snap_error_set(err, negative_errno(), "size image %s to %" PRIu64 " bytes: %s",
				   tmp, size, strerror(errno));
	if (r == 0) {
		/* -K: no discard (it would walk the whole sparse file). */
		char *const argv[] = { "mkfs.btrfs", "-q", "-K", "-L", "snapctl", tmp, NULL };
		r = snap_run_tool(argv, "btrfs-progs", err);
		if (r < 0)
			snap_error_prefix(err, "make the btrfs image %s", tmp);
	}
	if (r == 0 && fsync(fd) < 0)
		r = snap_error_set(err, negative_errno(), "fsync %s: %s", tmp, strerror(errno));
	if (r == 0 && renameat(rootfd, BTRFS_IMAGE_NAME ".tmp", rootfd, BTRFS_IMAGE_NAME) < 0)
		r = snap_error_set(err, negative_errno(), "rename %s into place: %s", tmp,
				   strerror(errno));
	if (r < 0) {
		(void)unlinkat(rootfd, BTRFS_IMAGE_NAME ".tmp", 0);
		struct statvfs sv;
		if (fstatvfs(rootfd, &sv) == 0) {
			uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
			/* mkfs writes a few MiB of metadata even into a sparse file */
			if (avail < (64u << 20)) {
				/* mkfs itself often says only "Input/output error" */
				err->code = -ENOSPC;
				return snap_error_prefix(err,
							 "no space for the btrfs image on %s "
							 "(%" PRIu64 " bytes free)",
							 root, avail);
			}
		}
		return r;
	}
	(void)fsync(rootfd);
	return 0;
}
