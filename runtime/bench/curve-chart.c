/* SPDX-License-Identifier: Apache-2.0 */
/* One chart per cost curve (workload, metric): the median at each x, one
 * line per driver, both axes logarithmic (decades), and each driver's
 * log-log slope in the legend.  Written as DIR/WORKLOAD-METRIC.svg
 * and .png. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "chart-file.h"
#include "util/macro.h"

#define CW 720.0
#define CH 440.0
#define LEFT 78.0
#define RIGHT 190.0 /* the legend */
#define TOP 64.0
#define BOTTOM 56.0

struct curve_args {
	struct bench_ctx *b;
	size_t first; /* a result of the curve */
	double lx0, lx1, ly0, ly1; /* log10 ranges, whole decades */
};

static bool same_curve(const struct bench_result *a, const struct bench_result *b)
{
	return a->x_label && b->x_label && !strcmp(a->workload, b->workload) && !strcmp(a->metric, b->metric);
}

static double px(const struct curve_args *a, double x)
{
	return LEFT + (log10(x) - a->lx0) / (a->lx1 - a->lx0) * (CW - LEFT - RIGHT);
}

static double py(const struct curve_args *a, double y)
{
	return CH - BOTTOM - (log10(y) - a->ly0) / (a->ly1 - a->ly0) * (CH - TOP - BOTTOM);
}

/* The points of one driver's curve that log axes can show (x and median
 * both positive), in x order; their count. */
static size_t driver_points(struct bench_ctx *b, const struct bench_result *c, const char *driver, double *xs,
			    double *ys)
{
	size_t all = bench_curve_points(b, c, driver, xs, ys), n = 0;
	for (size_t k = 0; k < all; k++)
		if (xs[k] > 0 && ys[k] > 0) {
			xs[n] = xs[k];
			ys[n++] = ys[k];
		}
	return n;
}

static void axis_label(char *buf, size_t len, double v)
{
	if (v >= 1e6 || v < 1e-3)
		snprintf(buf, len, "%.0e", v);
	else
		snprintf(buf, len, "%g", v);
}

/* Grid lines of one axis at 1, 2 and 5 of every decade, labelled (2 and 5
 * only where the axis spans few decades). */
static void grid(cairo_t *cr, const struct curve_args *a, bool x_axis)
{
	static const double steps[] = { 1, 2, 5 };
	double lo = x_axis ? a->lx0 : a->ly0, hi = x_axis ? a->lx1 : a->ly1;
	for (double d = lo; d <= hi + 1e-9; d += 1) {
		for (size_t k = 0; k < ELEMENTSOF(steps) && (k == 0 || hi - lo <= 3); k++) {
			double v = steps[k] * pow(10, d);
			if (log10(v) > hi + 1e-9)
				break;
			double at = x_axis ? px(a, v) : py(a, v);
			double shade = k ? 0.94 : 0.85;
			cairo_set_source_rgb(cr, shade, shade, shade);
			if (x_axis) {
				cairo_move_to(cr, at, TOP);
				cairo_line_to(cr, at, CH - BOTTOM);
			} else {
				cairo_move_to(cr, LEFT, at);
				cairo_line_to(cr, CW - RIGHT, at);
			}
			cairo_stroke(cr);
			char l[32];
			axis_label(l, sizeof(l), v);
			cairo_set_source_rgb(cr, 0, 0, 0);
			if (x_axis)
				chart_text(cr, at - 8, CH - BOTTOM + 16, 11, false, l);
			else
				chart_text(cr, 8, at + 4, 11, false, l);
		}
	}
}

static void draw_curve(cairo_t *cr, void *userdata)
{
	struct curve_args *a = userdata;
	struct bench_ctx *b = a->b;
	const struct bench_result *c = &b->results[a->first];
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	char title[256];
	snprintf(title, sizeof(title), "%s: %s vs %s", c->workload, c->metric, c->x_label);
	chart_text(cr, 14, 22, 15, true, title);
	char sub[256];
	if (b->load_start >= 0)
		snprintf(sub, sizeof(sub), "%s scale, median of %d runs, log-log; load average %.1f at start, %.1f at end",
			 b->scale->name, b->runs, b->load_start, b->load_end);
	else
		snprintf(sub, sizeof(sub), "%s scale, median of %d runs, log-log", b->scale->name, b->runs);
	cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
	chart_text(cr, 14, 40, 11, false, sub);

	cairo_set_line_width(cr, 1);
	grid(cr, a, true);
	grid(cr, a, false);
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_rectangle(cr, LEFT, TOP, CW - LEFT - RIGHT, CH - TOP - BOTTOM);
	cairo_stroke(cr);
	char xl[128], yl[64];
	snprintf(xl, sizeof(xl), "%s (log)", c->x_label);
	snprintf(yl, sizeof(yl), "%s (log)", c->unit);
	chart_text(cr, LEFT + (CW - LEFT - RIGHT) / 2 - 30, CH - 14, 12, true, xl);
	chart_text(cr, 8, TOP - 8, 12, true, yl);

	_cleanup_free_ double *xs = calloc(b->n_results + 1, sizeof(double));
	_cleanup_free_ double *ys = calloc(b->n_results + 1, sizeof(double));
	if (!xs || !ys)
		return;
	double ly = TOP + 4;
	for (size_t e = 0; e < b->n_envs; e++) {
		size_t n = driver_points(b, c, b->envs[e].driver, xs, ys);
		if (n == 0)
			continue;
		const double *col = chart_palette[e % ELEMENTSOF(chart_palette)];
		cairo_set_source_rgb(cr, col[0], col[1], col[2]);
		cairo_set_line_width(cr, 2);
		for (size_t k = 0; k < n; k++)
			(k ? cairo_line_to : cairo_move_to)(cr, px(a, xs[k]), py(a, ys[k]));
		cairo_stroke(cr);
		for (size_t k = 0; k < n; k++) {
			cairo_arc(cr, px(a, xs[k]), py(a, ys[k]), 3.5, 0, 2 * M_PI);
			cairo_fill(cr);
		}
		struct bench_curve_fit fit;
		char leg[160];
		if (bench_curve_fit(xs, ys, n, &fit) == 0)
			snprintf(leg, sizeof(leg), "%s  slope %.2f", b->envs[e].driver, fit.slope);
		else
			snprintf(leg, sizeof(leg), "%s", b->envs[e].driver);
		cairo_rectangle(cr, CW - RIGHT + 12, ly, 12, 12);
		cairo_fill(cr);
		cairo_set_source_rgb(cr, 0, 0, 0);
		chart_text(cr, CW - RIGHT + 29, ly + 11, 11, false, leg);
		ly += 18;
	}
}

/* Whole decades around every point of the curve; false if it has none. */
static bool ranges(struct bench_ctx *b, struct curve_args *a)
{
	const struct bench_result *c = &b->results[a->first];
	double x0 = INFINITY, x1 = 0, y0 = INFINITY, y1 = 0;
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *o = &b->results[i];
		if (!same_curve(o, c) || o->n == 0)
			continue;
		struct bench_stats s;
		bench_stats_compute(o->v, o->n, &s);
		if (!(o->x > 0) || !(s.median > 0))
			continue;
		x0 = fmin(x0, o->x);
		x1 = fmax(x1, o->x);
		y0 = fmin(y0, s.median);
		y1 = fmax(y1, s.median);
	}
	if (x1 <= 0)
		return false;
	a->lx0 = floor(log10(x0));
	a->lx1 = fmax(ceil(log10(x1)), a->lx0 + 1);
	a->ly0 = floor(log10(y0));
	a->ly1 = fmax(ceil(log10(y1)), a->ly0 + 1);
	return true;
}

/* "WORKLOAD-METRIC" with everything but letters and digits as '-'. */
static void slug(char *buf, size_t len, const struct bench_result *r)
{
	snprintf(buf, len, "%s-%s", r->workload, r->metric);
	char *w = buf;
	bool dash = false;
	for (const char *p = buf; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
		if (alnum) {
			*w++ = *p;
			dash = false;
		} else if (!dash) {
			*w++ = '-';
			dash = true;
		}
	}
	while (w > buf && w[-1] == '-')
		w--;
	*w = '\0';
}

int bench_write_curve_charts(struct bench_ctx *b, const char *dir, struct snap_error *err)
{
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		bool first = r->x_label != NULL;
		for (size_t j = 0; first && j < i; j++)
			first = !same_curve(&b->results[j], r);
		if (!first)
			continue;
		struct curve_args a = { .b = b, .first = i };
		if (!ranges(b, &a))
			continue;
		char name[256], path[4400];
		slug(name, sizeof(name), r);
		for (int png = 0; png < 2; png++) {
			snprintf(path, sizeof(path), "%s/%s.%s", dir, name, png ? "png" : "svg");
			int q = chart_write_file("bench: curve chart", path, png, CW, CH, draw_curve, &a, err);
			if (q < 0)
				return q;
		}
	}
	return 0;
}
