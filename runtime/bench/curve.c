/* SPDX-License-Identifier: Apache-2.0 */
/* The slope of a cost curve: least squares through (log x, log y).  A cost
 * c * x^k is a line of slope k there, whatever c is, so 0 reads "does not
 * grow", 1 "grows linearly", 0.5 "grows with the square root". */
#include <math.h>
#include <string.h>

#include "bench.h"

int bench_curve_fit(const double *x, const double *y, size_t n, struct bench_curve_fit *out)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(x[i] > 0) || !(y[i] > 0))
			continue; /* no logarithm: left out of the fit */
		double lx = log(x[i]), ly = log(y[i]);
		sx += lx;
		sy += ly;
		sxx += lx * lx;
		sxy += lx * ly;
		m++;
	}
	double den = (double)m * sxx - sx * sx;
	if (m < 2 || fabs(den) < 1e-12)
		return -EDOM;
	out->slope = ((double)m * sxy - sx * sy) / den;
	out->intercept = (sy - out->slope * sx) / (double)m;
	out->points = m;
	return 0;
}

size_t bench_curve_points(const struct bench_ctx *b, const struct bench_result *c, const char *driver, double *xs,
			  double *ys)
{
	size_t n = 0;
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *o = &b->results[i];
		if (!o->x_label || !c->x_label || strcmp(o->workload, c->workload) || strcmp(o->metric, c->metric) ||
		    strcmp(o->driver, driver) || o->n == 0)
			continue;
		struct bench_stats s;
		bench_stats_compute(o->v, o->n, &s);
		size_t k = n++; /* insertion into x order */
		for (; k > 0 && xs[k - 1] > o->x; k--) {
			xs[k] = xs[k - 1];
			ys[k] = ys[k - 1];
		}
		xs[k] = o->x;
		ys[k] = s.median;
	}
	return n;
}
