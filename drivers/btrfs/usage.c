/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Disk used by one snapshot, without walking its tree.
 *
 * With quota groups on (and consistent), the subvolume's qgroup 0/<id>
 * counts its exclusive bytes: that is the answer.  Otherwise the estimate
 * comes from the extents the subvolume wrote itself: a tree search limited
 * to leaves written since the subvolume was created (min_transid =
 * otransid) returns what changed, and file extents with a generation of
 * otransid or later are its own, not shared with the parent.  The cost
 * follows the amount of change, not the size of the tree.
 *
 * Both need the filesystem synced first: btrfs keeps recent inode updates
 * in delayed items and unwritten data in delalloc, neither of which a tree
 * search sees.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <btrfsutil.h>

#include "btrfs-internal.h"
#include "util/macro.h"

#define METHOD_QGROUP "qgroup exclusive bytes (quotas enabled)"
#define METHOD_EXTENTS "extents written since the snapshot was taken (tree search, no walk)"

static int qgroup_status_cb(const struct btrfs_search_item *it, void *ctx)
{
	/* The item is 40 bytes without simple quotas: newer headers' struct
	 * has enable_gen after it, so check only up to the flags. */
	size_t need = offsetof(struct btrfs_qgroup_status_item, flags) + sizeof(uint64_t);
	if (it->type != BTRFS_QGROUP_STATUS_KEY || it->len < need)
		return 0;
	uint64_t flags;
	memcpy(&flags, (const char *)it->data + offsetof(struct btrfs_qgroup_status_item, flags),
	       sizeof(flags));
	flags = le64toh(flags);
	*(bool *)ctx = (flags & BTRFS_QGROUP_STATUS_FLAG_ON) &&
		       !(flags & BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT);
	return 1;
}

bool btrfs_quotas_enabled(int fd)
{
	bool on = false;
	struct btrfs_key k = { 0, BTRFS_QGROUP_STATUS_KEY, 0 };
	/* ENOENT: no quota tree, quotas were never enabled */
	if (btrfs_tree_search(fd, BTRFS_QUOTA_TREE_OBJECTID, &k, &k, 0, qgroup_status_cb, &on) < 0)
		return false;
	return on;
}

const char *btrfs_usage_method(int fd)
{
	return btrfs_quotas_enabled(fd) ? METHOD_QGROUP : METHOD_EXTENTS;
}

struct qgroup_ctx {
	bool found;
	uint64_t excl;
};

static int qgroup_info_cb(const struct btrfs_search_item *it, void *ctx)
{
	struct qgroup_ctx *q = ctx;
	if (it->type != BTRFS_QGROUP_INFO_KEY || it->len < sizeof(struct btrfs_qgroup_info_item))
		return 0;
	const struct btrfs_qgroup_info_item *i = it->data;
	q->excl = le64toh(i->excl);
	q->found = true;
	return 1;
}

struct extent_ctx {
	uint64_t otransid;
	uint64_t bytes;
	uint64_t inodes;
};

static int extent_cb(const struct btrfs_search_item *it, void *ctx)
{
	struct extent_ctx *e = ctx;
	if (it->type == BTRFS_INODE_ITEM_KEY && it->len >= sizeof(struct btrfs_inode_item)) {
		const struct btrfs_inode_item *ii = it->data;
		if (le64toh(ii->transid) >= e->otransid)
			e->inodes++;
		return 0;
	}
	if (it->type != BTRFS_EXTENT_DATA_KEY ||
	    it->len < offsetof(struct btrfs_file_extent_item, disk_bytenr))
		return 0;
	const struct btrfs_file_extent_item *fe = it->data;
	if (le64toh(fe->generation) < e->otransid)
		return 0; /* shared with the parent */
	if (fe->type == BTRFS_FILE_EXTENT_INLINE) {
		e->bytes += it->len - offsetof(struct btrfs_file_extent_item, disk_bytenr);
		return 0;
	}
	if (it->len < sizeof(*fe) || le64toh(fe->disk_bytenr) == 0)
		return 0; /* hole */
	e->bytes += fe->compression ? le64toh(fe->disk_num_bytes) : le64toh(fe->num_bytes);
	return 0;
}

int btrfs_usage_measure(int fd, unsigned flags, struct snap_usage *out,
			const char **method, struct snap_error *err)
{
	struct btrfs_subvol_facts f;
	int r = btrfs_subvol_facts(fd, &f);
	if (r < 0)
		return snap_error_set(err, r, "read subvolume info: %s", strerror(-r));

	/* A clone counts what its source wrote too (btrfs_subvol_base). */
	struct btrfs_subvol_base base;
	btrfs_subvol_base(fd, &f, &base);
	if ((flags & BTRFS_USAGE_CLONE_ONLY) && !base.cloned)
		return 1;
	if ((flags & BTRFS_USAGE_SYNC) && !btrfs_subvol_complete(&f, &base) &&
	    btrfs_util_sync_fd(fd) != BTRFS_UTIL_OK)
		return snap_error_set(err, negative_errno(), "sync btrfs: %s", strerror(errno));
	struct extent_ctx e = { .otransid = base.otransid };
	struct btrfs_key min = { BTRFS_FIRST_FREE_OBJECTID, 0, 0 };
	struct btrfs_key max = { BTRFS_LAST_FREE_OBJECTID, UINT8_MAX, UINT64_MAX };
	r = btrfs_tree_search(fd, f.id, &min, &max, base.otransid, extent_cb, &e);
	if (r < 0)
		return snap_error_set(err, r, "search subvolume %" PRIu64 ": %s", f.id,
				      strerror(-r));

	uint64_t bytes = e.bytes;
	const char *how = METHOD_EXTENTS;
	/* probed each time: quotas may be switched on or off while the root
	 * is open, and the state stays read-only for concurrent callers */
	if (!(flags & BTRFS_USAGE_EXTENTS) && btrfs_quotas_enabled(fd)) {
		struct qgroup_ctx q = { 0 };
		struct btrfs_key k = { 0, BTRFS_QGROUP_INFO_KEY, f.id };
		if (btrfs_tree_search(fd, BTRFS_QUOTA_TREE_OBJECTID, &k, &k, 0, qgroup_info_cb,
				      &q) == 0 &&
		    q.found) {
			bytes = q.excl;
			how = METHOD_QGROUP;
		}
	}
	out->size = (int64_t)bytes;
	out->inodes = (int64_t)e.inodes;
	if (method)
		*method = how;
	return 0;
}

int btrfs_usage_store(int snapdirfd, const struct snap_usage *u)
{
	char buf[64], tmp[64];
	int n = snprintf(buf, sizeof(buf), "%" PRId64 " %" PRId64 "\n", u->size, u->inodes);
	/* Stage and rename: a reader never sees half a line.  The staging
	 * name is the thread's own: children of one parent may be made at
	 * once (serve's writers), each keeping the same figure. */
	snprintf(tmp, sizeof(tmp), BTRFS_USAGE_NAME ".tmp.%d", (int)gettid());
	_cleanup_close_ int fd = openat(snapdirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
					0600);
	if (fd < 0)
		return negative_errno();
	int r = 0;
	if (write(fd, buf, (size_t)n) != n)
		r = errno ? negative_errno() : -EIO;
	else if (renameat(snapdirfd, tmp, snapdirfd, BTRFS_USAGE_NAME) < 0)
		r = negative_errno();
	if (r < 0)
		(void)unlinkat(snapdirfd, tmp, 0);
	return r;
}

int btrfs_usage_load(int snapdirfd, struct snap_usage *u)
{
	_cleanup_close_ int fd = openat(snapdirfd, BTRFS_USAGE_NAME,
					O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = '\0';
	long long s, i;
	if (sscanf(buf, "%lld %lld", &s, &i) != 2)
		return -EBADMSG;
	u->size = s;
	u->inodes = i;
	return 0;
}
