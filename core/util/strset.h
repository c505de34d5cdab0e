/* SPDX-License-Identifier: Apache-2.0 */
/* A small open-addressing hash map from strings (copied, owned) to pointers
 * (not owned), used as a set when the value is unused.  Lookups and inserts
 * are O(1) on average, so per-entry bookkeeping of a layer stays linear. */
#ifndef SNAP_STRSET_H
#define SNAP_STRSET_H

#include <stdbool.h>
#include <stddef.h>

struct snap_strmap_slot {
	char *key;
	void *value;
	size_t hash;
};

struct snap_strmap {
	struct snap_strmap_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

/* Insert key (copied) with value.  Returns 1 when added, 0 when the key was
 * already there (its value is left unchanged), -ENOMEM. */
int snap_strmap_put(struct snap_strmap *m, const char *key, void *value);
/* Same with a key of given length (need not be NUL-terminated). */
int snap_strmap_putn(struct snap_strmap *m, const char *key, size_t len, void *value);
/* Insert or replace key's value.  Returns 0 or -ENOMEM. */
int snap_strmap_set(struct snap_strmap *m, const char *key, void *value);
/* Whether key is present; *ret_value (may be NULL) gets its value. */
bool snap_strmap_get(const struct snap_strmap *m, const char *key, void **ret_value);
bool snap_strmap_getn(const struct snap_strmap *m, const char *key, size_t len, void **ret_value);
void snap_strmap_done(struct snap_strmap *m);

#define snap_strset_add(m, k) snap_strmap_put((m), (k), NULL)
#define snap_strset_contains(m, k) snap_strmap_get((m), (k), NULL)

#endif
