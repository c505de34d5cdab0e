/* SPDX-License-Identifier: Apache-2.0 */
/* Human byte counts: digits with an optional K/M/G/T suffix (binary
 * multiples; "16G", "16GB" and "16GiB" are the same). */
#ifndef SNAP_SIZE_PARSE_H
#define SNAP_SIZE_PARSE_H

#include <stdint.h>

/* 0 and *ret, -EINVAL for anything else than the above, -ERANGE past
 * 2^64 - 1. */
int snap_parse_size(const char *s, uint64_t *ret);

#endif
