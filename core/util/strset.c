/* SPDX-License-Identifier: Apache-2.0 */
#include "util/strset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: short keys, no adversary benefits from collisions beyond making a
 * single apply slower, and the table is resized at 50% load. */
static size_t hash_bytes(const char *s, size_t len)
{
	size_t h = (size_t)1469598103934665603ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= (size_t)1099511628211ULL;
	}
	return h;
}

static struct snap_strmap_slot *find(const struct snap_strmap *m, const char *key, size_t len,
				     size_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct snap_strmap_slot *s = &m->slots[i];
		if (!s->key)
			return s;
		if (s->hash == h && strncmp(s->key, key, len) == 0 && s->key[len] == '\0')
			return s;
	}
}

static int grow(struct snap_strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct snap_strmap_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	struct snap_strmap old = *m;
	m->slots = ns;
	m->cap = ncap;
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.slots[i].key)
			continue;
		struct snap_strmap_slot *s = find(m, old.slots[i].key, strlen(old.slots[i].key),
						  old.slots[i].hash);
		*s = old.slots[i];
	}
	free(old.slots);
	return 0;
}

int snap_strmap_putn(struct snap_strmap *m, const char *key, size_t len, void *value)
{
	if ((m->n + 1) * 2 > m->cap) {
		int r = grow(m);
		if (r < 0)
			return r;
	}
	size_t h = hash_bytes(key, len);
	struct snap_strmap_slot *s = find(m, key, len, h);
	if (s->key)
		return 0;
	s->key = strndup(key, len);
	if (!s->key)
		return -ENOMEM;
	s->value = value;
	s->hash = h;
	m->n++;
	return 1;
}

int snap_strmap_set(struct snap_strmap *m, const char *key, void *value)
{
	size_t len = strlen(key);
	if (m->cap) {
		struct snap_strmap_slot *s = find(m, key, len, hash_bytes(key, len));
		if (s->key) {
			s->value = value;
			return 0;
		}
	}
	int r = snap_strmap_putn(m, key, len, value);
	return r < 0 ? r : 0;
}

int snap_strmap_put(struct snap_strmap *m, const char *key, void *value)
{
	return snap_strmap_putn(m, key, strlen(key), value);
}

bool snap_strmap_getn(const struct snap_strmap *m, const char *key, size_t len, void **ret_value)
{
	if (m->cap == 0)
		return false;
	struct snap_strmap_slot *s = find(m, key, len, hash_bytes(key, len));
	if (!s->key)
		return false;
	if (ret_value)
		*ret_value = s->value;
	return true;
}

bool snap_strmap_get(const struct snap_strmap *m, const char *key, void **ret_value)
{
	return snap_strmap_getn(m, key, strlen(key), ret_value);
}

void snap_strmap_done(struct snap_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
