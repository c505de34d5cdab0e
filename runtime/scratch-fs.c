/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "scratch-fs.h"
#include "util/fs-util.h"
#include "util/loop-dev.h"
#include "util/macro.h"
#include "util/run-tool.h"

/* Each type's mkfs: no discard (it would walk the whole sparse file), and
 * for ext4 the journal written now rather than behind the run. */
static const struct scratch_type {
	const char *type, *package, *mount_opts;
	char *mkfs[6]; /* the image's path goes in the first NULL */
} types[] = {
	{ "ext4", "e2fsprogs", "noinit_itable", { "mkfs.ext4", "-q", "-F", "-E", "lazy_journal_init=0,nodiscard" } },
	{ "xfs", "xfsprogs", NULL, { "mkfs.xfs", "-q", "-f", "-K" } },
	{ "btrfs", "btrfs-progs", NULL, { "mkfs.btrfs", "-q", "-f", "-K" } },
};

static const struct scratch_type *scratch_type(const char *type)
{
	for (size_t i = 0; i < ELEMENTSOF(types); i++)
		if (!strcmp(types[i].type, type))
			return &types[i];
	return NULL;
}

bool snap_scratch_fs_known(const char *type)
{
	return scratch_type(type) != NULL;
}

/* /sys/block/loopN/loop/dio: "1" when the device does direct I/O. */
static bool loop_direct_io(unsigned n)
{
	char p[96];
	snprintf(p, sizeof(p), "/sys/block/loop%u/loop/dio", n);
	_cleanup_free_ char *v = NULL;
	return snap_read_file_at(AT_FDCWD, p, 16, &v, NULL) >= 0 && v[0] == '1';
}

int snap_scratch_fs_make(const char *type, const char *image, int64_t size, const char *mnt, bool *ret_direct_io,
			 struct snap_error *err)
{
	const struct scratch_type *t = scratch_type(type);
	if (!t)
		return snap_error_set(err, -EINVAL, "no scratch filesystem of type '%s' (ext4, xfs or btrfs)", type);
	_cleanup_close_ int img = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (img < 0)
		return snap_error_set(err, negative_errno(), "create %s: %s", image, strerror(errno));
	if (ftruncate(img, size) < 0)
		return snap_error_set(err, negative_errno(), "size %s: %s", image, strerror(errno));
	char *argv[ELEMENTSOF(t->mkfs) + 1] = { 0 };
	size_t k = 0;
	for (; t->mkfs[k]; k++)
		argv[k] = t->mkfs[k];
	argv[k] = (char *)image;
	int r = snap_run_tool(argv, t->package, err);
	if (r < 0)
		return snap_error_prefix(err, "make %s in %s", type, image);
	unsigned n;
	_cleanup_close_ int lfd = snap_loop_attach(img, image, &n, err);
	if (lfd < 0)
		return lfd;
	if (ret_direct_io)
		*ret_direct_io = loop_direct_io(n);
	char dev[64];
	snprintf(dev, sizeof(dev), "/dev/loop%u", n);
	/* ext4 zeroes the inode tables mkfs left uninitialised in a kernel
	 * thread after mounting, for minutes on a large image: noinit_itable. */
	if (mount(dev, mnt, type, 0, t->mount_opts) < 0)
		return snap_error_set(err, negative_errno(), "mount %s (%s) on %s: %s", dev, type, mnt,
				      strerror(errno));
	return 0;
}
