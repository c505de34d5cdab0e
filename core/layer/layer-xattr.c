/* SPDX-License-Identifier: Apache-2.0 */
/* Extended attributes of entries named by (dirfd, name), never following a
 * symlink.  Symlinks and device nodes cannot be opened for f*xattr(), so the
 * l*xattr() calls go through /proc/self/fd/<dirfd>/<name>: the magic link
 * resolves to our own directory fd and the last component is not followed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "layer/layer-internal.h"
#include "util/macro.h"

bool snap_xattr_is_private(const char *name)
{
	if (strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0)
		return true;
	/* xfs lists a POSIX ACL twice: as system.posix_acl_access (or
	 * _default), the portable form every filesystem with ACLs reads and
	 * writes, and as trusted.SGI_ACL_FILE (SGI_ACL_DEFAULT), the same ACL
	 * in xfs' on-disk layout.  Only the first means anything elsewhere:
	 * applied on ext4 or btrfs the second is a stray trusted xattr, and
	 * a layer holding both names one ACL twice. */
	return strcmp(name, "trusted.SGI_ACL_FILE") == 0 || strcmp(name, "trusted.SGI_ACL_DEFAULT") == 0;
}

static int proc_path(char *buf, size_t size, int dirfd, const char *name)
{
	int n = snprintf(buf, size, "/proc/self/fd/%d/%s", dirfd, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void snap_xattrs_done(struct snap_xattrs *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].name);
		free(x->v[i].value);
	}
	free(x->v);
	x->v = NULL;
	x->n = 0;
}

static int xattr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap_xattr *)a)->name, ((const struct snap_xattr *)b)->name);
}

int snap_xattrs_read_at(int dirfd, const char *name, bool all, struct snap_xattrs *ret)
{
	char path[PATH_MAX + 64];
	int r = proc_path(path, sizeof(path), dirfd, name);
	if (r < 0)
		return r;
	struct snap_xattrs out = { 0 };
	_cleanup_free_ char *list = NULL;
	ssize_t len;
	for (;;) {
		len = llistxattr(path, NULL, 0);
		if (len < 0)
			return (errno == ENOTSUP || errno == EOPNOTSUPP) ? (*ret = out, 0) : negative_errno();
		if (len == 0) {
			*ret = out;
			return 0;
		}
		free(list);
		list = malloc((size_t)len);
		if (!list)
			return -ENOMEM;
		ssize_t n = llistxattr(path, list, (size_t)len);
		if (n >= 0) {
			len = n;
			break;
		}
		if (errno != ERANGE)
			return negative_errno();
	}
	for (const char *k = list; k < list + len; k += strlen(k) + 1) {
		if (!all && snap_xattr_is_private(k))
			continue;
		ssize_t vs = lgetxattr(path, k, NULL, 0);
		if (vs < 0) {
			if (errno == ENODATA)
				continue;
			r = negative_errno();
			snap_xattrs_done(&out);
			return r;
		}
		void *val = malloc(vs > 0 ? (size_t)vs : 1);
		char *kn = strdup(k);
		struct snap_xattr *nv = realloc(out.v, (out.n + 1) * sizeof(*nv));
		if (!val || !kn || !nv) {
			free(val);
			free(kn);
			if (nv)
				out.v = nv;
			snap_xattrs_done(&out);
			return -ENOMEM;
		}
		out.v = nv;
		vs = lgetxattr(path, k, val, (size_t)vs);
		if (vs < 0) {
			r = negative_errno();
			free(val);
			free(kn);
			snap_xattrs_done(&out);
			return r;
		}
		out.v[out.n++] = (struct snap_xattr){ .name = kn, .value = val, .size = (size_t)vs };
	}
	if (out.n > 1)
		qsort(out.v, out.n, sizeof(*out.v), xattr_cmp);
	*ret = out;
	return 0;
}

bool snap_xattrs_equal(const struct snap_xattrs *a, const struct snap_xattrs *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) != 0 || a->v[i].size != b->v[i].size ||
		    memcmp(a->v[i].value, b->v[i].value, a->v[i].size) != 0)
			return false;
	return true;
}

int snap_xattr_set_at(int dirfd, const char *name, const char *key, const void *value, size_t size)
{
	char path[PATH_MAX + 64];
	int r = proc_path(path, sizeof(path), dirfd, name);
	if (r < 0)
		return r;
	return lsetxattr(path, key, value, size, 0) < 0 ? negative_errno() : 0;
}

int snap_xattr_remove_at(int dirfd, const char *name, const char *key)
{
	char path[PATH_MAX + 64];
	int r = proc_path(path, sizeof(path), dirfd, name);
	if (r < 0)
		return r;
	return lremovexattr(path, key) < 0 && errno != ENODATA ? negative_errno() : 0;
}

int snap_path_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
	for (;; p++, q++) {
		unsigned x = *p == '/' ? 1u : (*p ? *p + 1u : 0u);
		unsigned y = *q == '/' ? 1u : (*q ? *q + 1u : 0u);
		if (x != y)
			return x < y ? -1 : 1;
		if (!x)
			return 0;
	}
}
