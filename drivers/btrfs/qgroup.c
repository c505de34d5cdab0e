/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Size limits (snapctl.size): a qgroup limit on the subvolume's own qgroup
 * 0/<id>, on its exclusive bytes, so blocks shared with the parent layers
 * do not count and a write past the limit fails with EDQUOT inside the
 * container.
 *
 * Quotas are switched on lazily, by the first snapshot with a limit, and
 * only on the loopback image this driver made: on a btrfs of the user's
 * own, turning quotas on would slow every subvolume there, so a limit is
 * refused with the command that would enable them.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>

#include "btrfs-internal.h"
#include "util/macro.h"

int btrfs_quotas_ensure(int snapfd, bool may_enable, const char *mountpoint,
			struct snap_error *err)
{
	if (btrfs_quotas_enabled(snapfd))
		return 0;
	if (!may_enable)
		return snap_error_set(err, -EOPNOTSUPP,
				      "quotas are disabled on the btrfs at %s (a size limit needs "
				      "them: btrfs quota enable %s)",
				      mountpoint, mountpoint);
	struct btrfs_ioctl_quota_ctl_args q = { .cmd = BTRFS_QUOTA_CTL_ENABLE };
	if (ioctl(snapfd, BTRFS_IOC_QUOTA_CTL, &q) < 0)
		return snap_error_set(err, negative_errno(), "enable quotas on the btrfs at %s: %s",
				      mountpoint, strerror(errno));
	/* Enabling starts a rescan of what is already there; limits are
	 * only exact once it is done. */
	if (ioctl(snapfd, BTRFS_IOC_QUOTA_RESCAN_WAIT, NULL) < 0)
		return snap_error_set(err, negative_errno(),
				      "wait for the quota rescan of the btrfs at %s: %s", mountpoint,
				      strerror(errno));
	return 0;
}

int btrfs_qgroup_limit(int subvolfd, uint64_t bytes, const char *what, struct snap_error *err)
{
	/* qgroupid 0: the qgroup of the subvolume the fd is in */
	struct btrfs_ioctl_qgroup_limit_args a = {
		.qgroupid = 0,
		.lim = { .flags = BTRFS_QGROUP_LIMIT_MAX_EXCL, .max_excl = bytes },
	};
	if (ioctl(subvolfd, BTRFS_IOC_QGROUP_LIMIT, &a) < 0)
		return snap_error_set(err, negative_errno(), "limit %s to %" PRIu64 " bytes: %s",
				      what, bytes, strerror(errno));
	return 0;
}

void btrfs_qgroup_forget(int snapfd, uint64_t subvolid)
{
	/* The subvolume is deleted already; its qgroup can go once the
	 * cleaner has dropped the tree (until then the kernel says EBUSY,
	 * and since 6.7 deletes the qgroup itself when the drop is done). */
	struct btrfs_ioctl_qgroup_create_args a = { .create = 0, .qgroupid = subvolid };
	(void)ioctl(snapfd, BTRFS_IOC_QGROUP_CREATE, &a);
}
