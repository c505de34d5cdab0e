/* SPDX-License-Identifier: Apache-2.0 */
/* Human byte counts ("16G", "512MiB", "4096"): the btrfs loopback image's
 * size, parsed by the driver and checked up front by the command line. */
#include "size-parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int snap_parse_size(const char *s, uint64_t *ret)
{
	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		/* accept "16G", "16GB", "16GiB" */
		if (*end == 'i')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = (uint64_t)v << shift;
	return 0;
}
