/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/temp-keys.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool snap_temp_key_stale(const char *key)
{
	static const char *const prefixes[] = { SNAP_TEMP_UNPACK_PREFIX, SNAP_TEMP_DIFF_PREFIX };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(key, prefixes[i], n) != 0)
			continue;
		char *end;
		long pid = strtol(key + n, &end, 10);
		if (pid <= 0 || *end != '-')
			return false;
		return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
	}
	return false;
}

bool snap_temp_key_private(const char *key)
{
	size_t n = strlen(SNAP_TEMP_UNPACK_PREFIX);
	if (strncmp(key, SNAP_TEMP_UNPACK_PREFIX, n) != 0)
		return false;
	char *end;
	long pid = strtol(key + n, &end, 10);
	return pid > 0 && *end == '-' && (pid_t)pid == getpid();
}
