/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Filesystem edits applied to a tree, in the manner of containerd's
 * continuity fstest appliers: the same list is applied to a snapshot
 * (through its mount) and to a plain "flat" directory, and the two must
 * then look the same.  Paths are resolved inside the tree's directory fd.
 */
#ifndef SNAP_TEST_APPLIER_H
#define SNAP_TEST_APPLIER_H

#include <stddef.h>
#include <sys/types.h>

enum applier_op {
	OP_FILE = 1, /* write `data` to path (create or truncate), then chmod mode */
	OP_DIR,      /* mkdir -p path, then chmod mode */
	OP_RMALL,    /* rm -rf path */
	OP_CHOWN,    /* lchown path uid gid */
	OP_LINK,     /* hardlink: path is the existing name, data the new one */
	OP_RENAME,   /* rename path to data */
	OP_SYMLINK,  /* symlink: path is the link, data its target */
};

struct applier_step {
	int op;
	const char *path;
	const char *data;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

#define CREATE_FILE(p, content, m) { .op = OP_FILE, .path = (p), .data = (content), .mode = (m) }
#define CREATE_DIR(p, m) { .op = OP_DIR, .path = (p), .mode = (m) }
#define REMOVE_ALL(p) { .op = OP_RMALL, .path = (p) }
#define CHOWN(p, u, g) { .op = OP_CHOWN, .path = (p), .uid = (u), .gid = (g) }
#define LINK(old, new) { .op = OP_LINK, .path = (old), .data = (new) }
#define RENAME(old, new) { .op = OP_RENAME, .path = (old), .data = (new) }
#define SYMLINK(link, target) { .op = OP_SYMLINK, .path = (link), .data = (target) }

struct applier {
	const struct applier_step *steps;
	size_t n;
};

#define APPLIER(...)                                                                   \
	((struct applier){ .steps = (const struct applier_step[]){ __VA_ARGS__ },      \
			   .n = sizeof((const struct applier_step[]){ __VA_ARGS__ }) /     \
				sizeof(struct applier_step) })
#define APPLIER_EMPTY ((struct applier){ .steps = NULL, .n = 0 })

/* Apply every step to the tree at directory `rootfd`; fail_msg on error,
 * naming the step. */
void applier_apply(const struct applier *a, int rootfd);
/* The same on the directory at `path`. */
void applier_apply_path(const struct applier *a, const char *path);

#endif
