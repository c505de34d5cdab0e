/* SPDX-License-Identifier: Apache-2.0 */
#include "applier.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fs-util.h"
#include "util/macro.h"

static const char *op_name(int op)
{
	static const char *const names[] = {
		[OP_FILE] = "create file", [OP_DIR] = "create dir", [OP_RMALL] = "remove",
		[OP_CHOWN] = "chown",      [OP_LINK] = "link",      [OP_RENAME] = "rename",
		[OP_SYMLINK] = "symlink",
	};
	return op > 0 && op < (int)ELEMENTSOF(names) ? names[op] : "?";
}

#define STEP_FAIL(s, r) fail_msg("%s %s: %s", op_name((s)->op), (s)->path, strerror(-(r)))

/* Parent directory fd of `path` in the tree, and its last component. */
static int parent_of(int rootfd, const struct applier_step *s, const char *path, char **ret_name)
{
	int fd = snap_open_parent_in_root(rootfd, path, ret_name);
	if (fd < 0)
		STEP_FAIL(s, fd);
	return fd;
}

static void mkdir_p(int rootfd, const struct applier_step *s)
{
	_cleanup_free_ char *norm = snap_path_normalize(s->path);
	assert_non_null(norm);
	_cleanup_close_ int cur = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		STEP_FAIL(s, -errno);
	for (char *c = strtok(norm, "/"); c; c = strtok(NULL, "/")) {
		if (mkdirat(cur, c, s->mode) < 0 && errno != EEXIST)
			STEP_FAIL(s, -errno);
		int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			STEP_FAIL(s, -errno);
		close(cur);
		cur = next;
	}
	if (fchmod(cur, s->mode) < 0)
		STEP_FAIL(s, -errno);
}

static void apply_step(const struct applier_step *s, int rootfd)
{
	_cleanup_free_ char *name = NULL;
	switch (s->op) {
	case OP_DIR:
		mkdir_p(rootfd, s);
		return;
	case OP_FILE: {
		_cleanup_close_ int dir = parent_of(rootfd, s, s->path, &name);
		_cleanup_close_ int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, s->mode);
		if (fd < 0)
			STEP_FAIL(s, -errno);
		int r = snap_write_all(fd, s->data, strlen(s->data));
		if (r < 0)
			STEP_FAIL(s, r);
		if (fchmod(fd, s->mode) < 0)
			STEP_FAIL(s, -errno);
		return;
	}
	case OP_RMALL: {
		_cleanup_close_ int dir = parent_of(rootfd, s, s->path, &name);
		int r = snap_rm_rf_at(dir, name);
		if (r < 0)
			STEP_FAIL(s, r);
		return;
	}
	case OP_CHOWN: {
		_cleanup_close_ int dir = parent_of(rootfd, s, s->path, &name);
		if (fchownat(dir, name, s->uid, s->gid, AT_SYMLINK_NOFOLLOW) < 0)
			STEP_FAIL(s, -errno);
		return;
	}
	case OP_SYMLINK: {
		_cleanup_close_ int dir = parent_of(rootfd, s, s->path, &name);
		if (symlinkat(s->data, dir, name) < 0)
			STEP_FAIL(s, -errno);
		return;
	}
	case OP_LINK:
	case OP_RENAME: {
		_cleanup_free_ char *new_name = NULL;
		_cleanup_close_ int old_dir = parent_of(rootfd, s, s->path, &name);
		_cleanup_close_ int new_dir = parent_of(rootfd, s, s->data, &new_name);
		int r = s->op == OP_LINK ? linkat(old_dir, name, new_dir, new_name, 0)
					 : renameat(old_dir, name, new_dir, new_name);
		if (r < 0)
			STEP_FAIL(s, -errno);
		return;
	}
	default:
		fail_msg("unknown applier step %d", s->op);
	}
}

void applier_apply(const struct applier *a, int rootfd)
{
	for (size_t i = 0; i < a->n; i++)
		apply_step(&a->steps[i], rootfd);
}

void applier_apply_path(const struct applier *a, const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	applier_apply(a, fd);
}
