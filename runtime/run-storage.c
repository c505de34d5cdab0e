/* SPDX-License-Identifier: Apache-2.0 */
#include "run-storage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "spec/specs.h"
#include "util/size-parse.h"

int run_storage_opt(struct cli_ctx *ctx, const char *value, struct run_storage *st)
{
	uint64_t bytes;
	if (strncmp(value, "size=", 5) != 0)
		return cli_spec_usage_error(ctx, &cli_spec_run,
					    "unknown --storage-opt \"%s\" (known: size=SIZE)", value);
	if (snap_parse_size(value + 5, &bytes) < 0 || bytes == 0 || bytes > INT64_MAX)
		return cli_spec_usage_error(ctx, &cli_spec_run,
					    "--storage-opt size= must be a positive size (bytes, or "
					    "512m, 10g), not \"%s\"",
					    value + 5);
	snprintf(st->size, sizeof(st->size), "%" PRIu64, bytes);
	return 0;
}
