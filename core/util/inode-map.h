/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one hard-link rule: an inode is its (st_dev, st_ino) pair.  A small
 * open-addressing hash map from that pair to a pointer, for walks that meet
 * an inode under several names (the usage walker counts it once, the vfs
 * copier links the later names to the first copy).  O(1) on average, so a
 * tree with many hard links stays linear.
 */
#ifndef SNAP_INODE_MAP_H
#define SNAP_INODE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct snap_inode_slot {
	dev_t dev;
	ino_t ino;
	void *value;
	bool used;
};

struct snap_inode_map {
	struct snap_inode_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

/* Insert st's inode with value.  Returns 1 when added, 0 when it was there
 * already (its value is left unchanged and stored in *ret_value, which may
 * be NULL), -ENOMEM. */
int snap_inode_map_put(struct snap_inode_map *m, const struct stat *st, void *value, void **ret_value);
/* Whether st's inode is present; *ret_value (may be NULL) gets its value. */
bool snap_inode_map_get(const struct snap_inode_map *m, const struct stat *st, void **ret_value);
/* Free the map; free_value (may be NULL) is called on every value. */
void snap_inode_map_done(struct snap_inode_map *m, void (*free_value)(void *));

#endif
