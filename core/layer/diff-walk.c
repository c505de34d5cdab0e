/* SPDX-License-Identifier: Apache-2.0 */
/* The scaffolding every differ's walk shares (diff-walk.h). */
#include "layer/diff-walk.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "layer/entry-compare.h"
#include "util/macro.h"

int snap_diff_walk_emit(struct snap_diff_walk *d, int kind)
{
	int r = d->sink->change(d->sink, kind, d->path, kind == SNAP_CHANGE_DELETE ? -1 : d->src_root);
	if (r < 0 && d->err->code == 0)
		snap_error_set(d->err, r, "%s: report change '%s': %s", d->what, d->path, strerror(-r));
	return r;
}

int snap_diff_walk_push(struct snap_diff_walk *d, size_t len, const char *name)
{
	size_t nl = strlen(name);
	if (len + nl + 2 >= sizeof(d->path))
		return snap_error_set(d->err, -ENAMETOOLONG, "%s: path too long below '%s'", d->what, d->path);
	if (len)
		d->path[len++] = '/';
	memcpy(d->path + len, name, nl + 1);
	return 0;
}

int snap_diff_walk_changed(struct snap_diff_walk *d, int old_dirfd, int new_dirfd, const char *name,
			   const struct stat *os, const struct stat *ns)
{
	const char *step = "compare";
	int r = snap_entry_changed(old_dirfd, new_dirfd, name, os, ns, d->prepared_ns, &step);
	if (r < 0)
		return snap_error_set(d->err, r, "%s: %s '%s': %s", d->what, step, d->path, strerror(-r));
	return r;
}

int snap_diff_walk_open_dir(struct snap_diff_walk *d, int dirfd, const char *name, int flags, const char *tree)
{
	int fd = openat(dirfd, name, flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(d->err, negative_errno(), "%s: open directory '%s'%s%s: %s", d->what, d->path,
				      tree ? " in " : "", tree ? tree : "", strerror(errno));
	return fd;
}
