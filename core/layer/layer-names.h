/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names the layer engine reserves inside a tree.  A header of its own so
 * the drivers' fast differs can skip them without the layer engine's
 * internals (they link nothing of it).
 */
#ifndef SNAP_LAYER_NAMES_H
#define SNAP_LAYER_NAMES_H

/* Name of the undo directory an apply keeps in the tree root while it runs
 * (".snapctl-apply-<pid>"); the differs skip it and `check` reports it. */
#define SNAP_APPLY_BACKUP_PREFIX ".snapctl-apply-"

#include <stdbool.h>
#include <string.h>

/* aufs' own bookkeeping in a layer (.wh..wh.plnk/ and what is below it,
 * .wh..wh.aufs, .wh..wh.orph/): a component named .wh..wh.* other than the
 * opaque marker.  Never content: docker and containerd skip it. */
static inline bool snap_layer_aufs_meta(const char *path)
{
	for (const char *c = path; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (strncmp(c, ".wh..wh.", 8) == 0 && strncmp(c, ".wh..wh..opq", 12) != 0)
			return true;
	}
	return false;
}

#endif
