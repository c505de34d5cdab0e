/* SPDX-License-Identifier: Apache-2.0 */
/* A small owned key=value list (snapshot labels, image labels). */
#ifndef SNAP_LABELS_H
#define SNAP_LABELS_H

#include <stddef.h>
#include <snapctl/driver.h>

#define DEFINE_SNAP_CLEANUP(type, fn)                                                  \
	static inline void fn##p(type **p)                                             \
	{                                                                              \
		if (*p)                                                                \
			fn(*p);                                                        \
	}

struct snap_labels {
	struct snap_label *v; /* key and value strings owned */
	size_t n;
};

/* Set (replace) key=value; value NULL removes the key. */
int snap_labels_set(struct snap_labels *l, const char *key, const char *value);
const char *snap_labels_get(const struct snap_labels *l, const char *key);
/* Parse "K=V" into l; "K=" sets an empty value (callers decide whether it
 * means removal).  -EINVAL when there is no '=' or the key is empty. */
int snap_labels_parse_kv(struct snap_labels *l, const char *kv);
int snap_labels_copy(struct snap_labels *dst, const struct snap_labels *src);
void snap_labels_done(struct snap_labels *l);

#endif
