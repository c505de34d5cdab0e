/* SPDX-License-Identifier: Apache-2.0 */
/* The snapctl.size label (SNAP_LABEL_SIZE): a byte count in decimal. */
#ifndef SNAP_SIZE_LABEL_H
#define SNAP_SIZE_LABEL_H

#include <errno.h>
#include <stdint.h>

/* Digits only, no leading zero, 1 .. INT64_MAX.  0 or -EINVAL. */
static inline int snap_size_label_parse(const char *s, uint64_t *ret)
{
	if (!s || *s < '1' || *s > '9')
		return -EINVAL;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (uint64_t)(INT64_MAX - (*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

#endif
