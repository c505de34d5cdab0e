/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median interpolated between the two middle samples; p90 by nearest rank
 * (the smallest sample with at least 90% of samples at or below it). */
void bench_stats_compute(const double *v, size_t n, struct bench_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n;
	if (n == 0)
		return;
	double *s = malloc(n * sizeof(double));
	if (!s)
		return;
	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	out->min = s[0];
	out->max = s[n - 1];
	out->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
	size_t rank = (size_t)((90 * n + 99) / 100);
	out->p90 = s[rank ? rank - 1 : 0];
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += s[i];
	out->mean = sum / (double)n;
	free(s);
}

bool bench_unit_lower_is_better(const char *unit)
{
	return strcmp(unit, "MB/s") != 0 && strcmp(unit, "ops/s") != 0 && strcmp(unit, "IOPS") != 0;
}

int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
