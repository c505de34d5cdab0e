/* SPDX-License-Identifier: Apache-2.0 */
#include "layer/entry-compare.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer/layer-internal.h"
#include "util/macro.h"

/* 1 when the two regular files hold the same bytes, 0 when not, -errno. */
static int same_content(int ofd, int nfd, const char *name, off_t size, const char **ret_step)
{
	*ret_step = "open";
	_cleanup_close_ int a = openat(ofd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int b = openat(nfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (a < 0 || b < 0)
		return negative_errno();
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

int snap_entry_changed(int old_dirfd, int new_dirfd, const char *name, const struct stat *os,
		       const struct stat *ns, const char **ret_step)
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
	if (S_ISREG(ns->st_mode) && ns->st_mtim.tv_nsec == 0 && ns->st_size > 0) {
		r = same_content(old_dirfd, new_dirfd, name, ns->st_size, ret_step);
		return r < 0 ? r : !r;
	}
	return 0;
}
