/* SPDX-License-Identifier: Apache-2.0 */
/* The slope of a cost curve: least squares through (log x, log y).  A cost
 * c * x^k is a line of slope k there, whatever c is, so 0 reads "does not
 * grow", 1 "grows linearly", 0.5 "grows with the square root". */
#include <math.h>

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
