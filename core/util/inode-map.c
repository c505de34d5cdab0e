/* SPDX-License-Identifier: Apache-2.0 */
#include "util/inode-map.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* splitmix64's finalizer: inode numbers are often dense, so spread them. */
static size_t inode_hash(dev_t dev, ino_t ino)
{
	uint64_t x = (uint64_t)ino ^ ((uint64_t)dev * 0x9e3779b97f4a7c15u);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebu;
	x ^= x >> 31;
	return (size_t)x;
}

static struct snap_inode_slot *find_slot(const struct snap_inode_map *m, dev_t dev, ino_t ino)
{
	size_t mask = m->cap - 1;
	for (size_t i = inode_hash(dev, ino) & mask;; i = (i + 1) & mask) {
		struct snap_inode_slot *s = &m->slots[i];
		if (!s->used || (s->dev == dev && s->ino == ino))
			return s;
	}
}

static int grow(struct snap_inode_map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct snap_inode_slot *nv = calloc(ncap, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	struct snap_inode_map bigger = { .slots = nv, .cap = ncap, .n = m->n };
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			*find_slot(&bigger, m->slots[i].dev, m->slots[i].ino) = m->slots[i];
	free(m->slots);
	*m = bigger;
	return 0;
}

int snap_inode_map_put(struct snap_inode_map *m, const struct stat *st, void *value, void **ret_value)
{
	/* At most half full: probes stay short. */
	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return -ENOMEM;
	struct snap_inode_slot *s = find_slot(m, st->st_dev, st->st_ino);
	if (s->used) {
		if (ret_value)
			*ret_value = s->value;
		return 0;
	}
	*s = (struct snap_inode_slot){ .dev = st->st_dev, .ino = st->st_ino, .value = value, .used = true };
	m->n++;
	return 1;
}

bool snap_inode_map_get(const struct snap_inode_map *m, const struct stat *st, void **ret_value)
{
	if (m->cap == 0)
		return false;
	const struct snap_inode_slot *s = find_slot(m, st->st_dev, st->st_ino);
	if (!s->used)
		return false;
	if (ret_value)
		*ret_value = s->value;
	return true;
}

void snap_inode_map_done(struct snap_inode_map *m, void (*free_value)(void *))
{
	if (free_value)
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].used)
				free_value(m->slots[i].value);
	free(m->slots);
	*m = (struct snap_inode_map){ 0 };
}
