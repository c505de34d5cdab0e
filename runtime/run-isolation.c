/* SPDX-License-Identifier: Apache-2.0 */
#include "run-isolation.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "run-flags.h"
#include "spec/specs.h"

static int parse_net(const char *value, struct snap_container_spec *spec)
{
	if (strcmp(value, "none") == 0 || strcmp(value, "private") == 0)
		spec->net = SNAP_NET_NONE;
	else if (strcmp(value, "host") == 0)
		spec->net = SNAP_NET_HOST;
	else
		return -EINVAL;
	return 0;
}

static int parse_int64(const char *value, int64_t *ret, char **end)
{
	if (!isdigit((unsigned char)value[0]) && value[0] != '-')
		return -EINVAL;
	errno = 0;
	long long v = strtoll(value, end, 10);
	if (errno || *end == value)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_pids_limit(const char *value, struct snap_container_spec *spec)
{
	int64_t v;
	char *end;
	if (parse_int64(value, &v, &end) < 0 || *end || v < -1)
		return -EINVAL;
	spec->limits.pids = v > 0 ? v : 0;
	return 0;
}

static int parse_memory(const char *value, struct snap_container_spec *spec)
{
	int64_t v;
	char *end;
	if (parse_int64(value, &v, &end) < 0 || v <= 0)
		return -EINVAL;
	int shift = 0;
	switch (tolower((unsigned char)*end)) {
	case '\0':
	case 'b':
		break;
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && !(tolower((unsigned char)end[1]) == 'b' && !end[2]))
		return -EINVAL;
	if (v > (INT64_MAX >> shift))
		return -EINVAL;
	/* docker's floor: a smaller limit kills the container's init */
	if ((v << shift) < 6 * 1024 * 1024)
		return -ERANGE;
	spec->limits.memory = v << shift;
	return 0;
}

static int parse_cpus(const char *value, struct snap_container_spec *spec)
{
	int64_t whole = 0, milli = 0;
	const char *p = value;
	if (!isdigit((unsigned char)*p) && *p != '.')
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > 1000000)
			return -EINVAL;
	}
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				milli = milli * 10 + (*p - '0');
		for (; digits < 3; digits++)
			milli *= 10;
	}
	if (*p || whole * 1000 + milli <= 0)
		return -EINVAL;
	spec->limits.cpu_milli = whole * 1000 + milli;
	return 0;
}

static int parse_security_opt(const char *value, struct snap_container_spec *spec)
{
	/* docker accepts both "seccomp=unconfined" and "seccomp:unconfined" */
	if (strcmp(value, "seccomp=unconfined") == 0 || strcmp(value, "seccomp:unconfined") == 0) {
		spec->seccomp_unconfined = true;
		return 0;
	}
	return -EINVAL;
}

int run_isolation_flag(struct cli_ctx *ctx, int key, const char *value, struct snap_container_spec *spec)
{
	switch (key) {
	case RUN_FLAG_NET:
		if (parse_net(value, spec) == 0)
			return 0;
		cli_spec_usage_error(ctx, &cli_spec_run, "--net must be none or host, not \"%s\"", value);
		break;
	case RUN_FLAG_PIDS_LIMIT:
		if (parse_pids_limit(value, spec) == 0)
			return 0;
		cli_spec_usage_error(ctx, &cli_spec_run, "--pids-limit must be a number (-1: no limit), not \"%s\"",
				     value);
		break;
	case RUN_FLAG_MEMORY:
		if (parse_memory(value, spec) == 0)
			return 0;
		cli_spec_usage_error(ctx, &cli_spec_run, "--memory must be a size of at least 6m (512m, 1g), not \"%s\"",
				     value);
		break;
	case RUN_FLAG_CPUS:
		if (parse_cpus(value, spec) == 0)
			return 0;
		cli_spec_usage_error(ctx, &cli_spec_run, "--cpus must be a positive number (0.5, 2), not \"%s\"", value);
		break;
	case RUN_FLAG_SECURITY_OPT:
		if (parse_security_opt(value, spec) == 0)
			return 0;
		cli_spec_usage_error(ctx, &cli_spec_run, "unknown --security-opt \"%s\" (known: seccomp=unconfined)",
				     value);
		break;
	}
	return -EINVAL;
}
