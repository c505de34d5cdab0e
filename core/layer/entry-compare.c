/* SPDX-License-Identifier: Apache-2.0 */
#include "layer/entry-compare.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "layer/layer-internal.h"
#include "util/macro.h"

#define MAP_EXTENTS 16

/* Flags under which an extent's address says nothing of its bytes alone:
 * not on disk yet, data inline in metadata, compressed or encrypted (an
 * address shared by different slices of one extent). */
#define MAP_UNSURE                                                                             \
	(FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED |               \
	 FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_INLINE | \
	 FIEMAP_EXTENT_DATA_TAIL)

struct extent_map {
	struct fiemap fm;
	struct fiemap_extent ext[MAP_EXTENTS];
};

/* The whole map of fd, when it fits and every extent's address is sure. */
static bool map_of(int fd, struct extent_map *m)
{
	memset(m, 0, sizeof(*m));
	m->fm.fm_length = FIEMAP_MAX_OFFSET;
	m->fm.fm_extent_count = MAP_EXTENTS;
	if (ioctl(fd, FS_IOC_FIEMAP, &m->fm) < 0 || m->fm.fm_mapped_extents == 0)
		return false;
	const struct fiemap_extent *last = &m->ext[m->fm.fm_mapped_extents - 1];
	if (!(last->fe_flags & FIEMAP_EXTENT_LAST))
		return false;
	for (uint32_t i = 0; i < m->fm.fm_mapped_extents; i++)
		if (m->ext[i].fe_flags & MAP_UNSURE)
			return false;
	return true;
}

/*
 * Do both files map every byte to the same blocks of one filesystem (a
 * btrfs snapshot's copy of its parent's file, a reflink)?  Then they hold
 * the same bytes, and reading both can find no difference: on btrfs the
 * child's copy is a new inode to the page cache, so the read would come
 * off the disk only to compare a block with itself.  Same mount, so the
 * addresses are of one filesystem; not overlayfs, whose mount joins
 * several.  false when it cannot tell: the caller reads.
 */
static bool same_extents(int a, int b)
{
	struct statx sa, sb;
	struct statfs fa;
	if (statx(a, "", AT_EMPTY_PATH, STATX_MNT_ID, &sa) < 0 ||
	    statx(b, "", AT_EMPTY_PATH, STATX_MNT_ID, &sb) < 0 || !(sa.stx_mask & sb.stx_mask & STATX_MNT_ID) ||
	    sa.stx_mnt_id != sb.stx_mnt_id || fstatfs(a, &fa) < 0 || fa.f_type == OVERLAYFS_SUPER_MAGIC)
		return false;
	_cleanup_free_ struct extent_map *m = malloc(2 * sizeof(*m));
	if (!m || !map_of(a, &m[0]) || !map_of(b, &m[1]) ||
	    m[0].fm.fm_mapped_extents != m[1].fm.fm_mapped_extents)
		return false;
	for (uint32_t i = 0; i < m[0].fm.fm_mapped_extents; i++) {
		const struct fiemap_extent *x = &m[0].ext[i], *y = &m[1].ext[i];
		if (x->fe_logical != y->fe_logical || x->fe_physical != y->fe_physical ||
		    x->fe_length != y->fe_length)
			return false;
	}
	return true;
}

/* 1 when the two regular files hold the same bytes, 0 when not, -errno. */
static int same_content(int ofd, int nfd, const char *name, off_t size, const char **ret_step)
{
	*ret_step = "open";
	_cleanup_close_ int a = openat(ofd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int b = openat(nfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (a < 0 || b < 0)
		return negative_errno();
	if (same_extents(a, b))
		return 1;
	*ret_step = "read";
	enum { BS = 1 << 16 };
	_cleanup_free_ char *buf = malloc(2 * BS);
	if (!buf)
		return -ENOMEM;
	for (off_t off = 0; off < size;) {
		size_t want = size - off < BS ? (size_t)(size - off) : BS;
		ssize_t x = pread(a, buf, want, off);
		ssize_t y = pread(b, buf + BS, want, off);
		if (x < 0 || y < 0)
			return negative_errno();
		if (x != y || memcmp(buf, buf + BS, (size_t)x) != 0)
			return 0;
		if (x == 0)
			return 1;
		off += x;
	}
	return 1;
}

/* Whether the inode behind *ns may have been written since the snapshot
 * was prepared at prepared_ns (0: unknown, so it may).  Every write, rename,
 * link count or metadata change sets the ctime from the coarse realtime
 * clock (or a later fine-grained time), truncated to the filesystem's
 * granularity; the core took prepared_ns from that coarse clock after the
 * driver had built the tree, so a later change never gets an earlier ctime
 * and the comparison is >=: a change within the same tick ties. */
static bool written_since(const struct stat *ns, int64_t prepared_ns)
{
	if (prepared_ns <= 0)
		return true;
	int64_t sec = prepared_ns / 1000000000, nsec = prepared_ns % 1000000000;
	return ns->st_ctim.tv_sec > sec || (ns->st_ctim.tv_sec == sec && ns->st_ctim.tv_nsec >= nsec);
}

int snap_entry_changed(int old_dirfd, int new_dirfd, const char *name, const struct stat *os,
		       const struct stat *ns, int64_t prepared_ns, const char **ret_step)
{
	if (os->st_mode != ns->st_mode || os->st_uid != ns->st_uid || os->st_gid != ns->st_gid)
		return 1;
	if (!S_ISDIR(ns->st_mode) && os->st_size != ns->st_size)
		return 1;
	if (os->st_mtim.tv_sec != ns->st_mtim.tv_sec || os->st_mtim.tv_nsec != ns->st_mtim.tv_nsec)
		return 1;
	if ((S_ISCHR(ns->st_mode) || S_ISBLK(ns->st_mode)) && os->st_rdev != ns->st_rdev)
		return 1;
	if (S_ISLNK(ns->st_mode)) {
		char a[PATH_MAX], b[PATH_MAX];
		ssize_t x = readlinkat(old_dirfd, name, a, sizeof(a));
		ssize_t y = readlinkat(new_dirfd, name, b, sizeof(b));
		if (x < 0 || y < 0) {
			*ret_step = "readlink";
			return negative_errno();
		}
		if (x != y || memcmp(a, b, (size_t)x) != 0)
			return 1;
	}
	_cleanup_(snap_xattrs_done) struct snap_xattrs xa = { 0 }, xb = { 0 };
	int r = snap_xattrs_read_at(old_dirfd, name, false, &xa);
	if (r == 0)
		r = snap_xattrs_read_at(new_dirfd, name, false, &xb);
	if (r < 0) {
		*ret_step = "read xattrs of";
		return r;
	}
	if (!snap_xattrs_equal(&xa, &xb))
		return 1;
	/* Metadata all agree.  The bytes may still differ: a file renamed
	 * over (or exchanged with) another of the same size and mtime, or
	 * rewritten within one timer tick, keeps every field compared above.
	 * Read the content of a file whose inode changed since the snapshot
	 * was prepared, and of one whose mtime lost its nanoseconds (a tar's
	 * or a coarse filesystem's, where equal mtimes say little).  A file
	 * the driver only copied or shared at prepare time is older than
	 * prepared_ns and holds its parent's bytes: it is not read. */
	if (S_ISREG(ns->st_mode) && ns->st_size > 0 &&
	    (ns->st_mtim.tv_nsec == 0 || written_since(ns, prepared_ns))) {
		r = same_content(old_dirfd, new_dirfd, name, ns->st_size, ret_step);
		return r < 0 ? r : !r;
	}
	return 0;
}
