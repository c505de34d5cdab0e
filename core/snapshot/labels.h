/* SPDX-License-Identifier: Apache-2.0 */
/* A small owned key=value list (snapshot labels, image labels). */
#ifndef SNAP_LABELS_H
#define SNAP_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
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

/*
 * Labels under this prefix are the unpacker's proof that it made a layer
 * snapshot itself (core/image/image-unpack.c): "snapctl.unpack.diff-id" is
 * the diff ID it applied onto the snapshot's parent and verified.  Only the
 * unpack path sets them; prepare, view, commit, update and label refuse
 * them (-EINVAL), and update never drops them.
 */
#define SNAP_LABEL_RESERVED_PREFIX "snapctl.unpack."
#define SNAP_LABEL_UNPACK_DIFF_ID SNAP_LABEL_RESERVED_PREFIX "diff-id"

static inline bool snap_label_reserved(const char *key)
{
	return key && strncmp(key, SNAP_LABEL_RESERVED_PREFIX, sizeof(SNAP_LABEL_RESERVED_PREFIX) - 1) == 0;
}

/* Set (replace) key=value; value NULL removes the key. */
int snap_labels_set(struct snap_labels *l, const char *key, const char *value);
const char *snap_labels_get(const struct snap_labels *l, const char *key);
/* Parse "K=V" into l; "K=" sets an empty value (callers decide whether it
 * means removal).  -EINVAL when there is no '=' or the key is empty. */
int snap_labels_parse_kv(struct snap_labels *l, const char *kv);
int snap_labels_copy(struct snap_labels *dst, const struct snap_labels *src);
void snap_labels_done(struct snap_labels *l);

#endif
