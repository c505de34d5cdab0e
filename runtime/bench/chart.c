/* SPDX-License-Identifier: Apache-2.0 */
/* Charts of a bench run with cairo: one panel per workload, one group of
 * horizontal bars per metric, one bar per driver (median), with a whisker
 * from min to p90 (the max of a few runs is mostly noise and would squash
 * the scale).  Each metric is scaled to its own largest value, since
 * metrics of one workload have different units. */
#include <cairo-svg.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <string.h>

#include "bench.h"
#include "macro.h"

#define W 900.0
#define MARGIN 16.0
#define LABEL_W 230.0
#define BAR_H 14.0
#define GAP 6.0
#define TITLE_H 28.0

static const double palette[][3] = {
	{ 0.12, 0.47, 0.71 }, { 1.00, 0.50, 0.05 }, { 0.17, 0.63, 0.17 }, { 0.84, 0.15, 0.16 },
	{ 0.58, 0.40, 0.74 }, { 0.55, 0.34, 0.29 }, { 0.89, 0.47, 0.76 }, { 0.50, 0.50, 0.50 },
};

static size_t env_index(struct bench_ctx *b, const char *driver)
{
	for (size_t i = 0; i < b->n_envs; i++)
		if (strcmp(b->envs[i].driver, driver) == 0)
			return i;
	return 0;
}

/* Distinct workloads / metrics in first-seen order. */
static bool seen_before(struct bench_ctx *b, size_t i, bool metric)
{
	for (size_t j = 0; j < i; j++) {
		if (strcmp(b->results[j].workload, b->results[i].workload) != 0)
			continue;
		if (!metric || strcmp(b->results[j].metric, b->results[i].metric) == 0)
			return true;
	}
	return false;
}

static double layout_height(struct bench_ctx *b)
{
	double h = MARGIN + 2 * TITLE_H;
	for (size_t i = 0; i < b->n_results; i++) {
		if (!seen_before(b, i, false))
			h += TITLE_H;
		h += BAR_H + 2;
		if (!seen_before(b, i, true))
			h += GAP;
	}
	return h + MARGIN + 20;
}

static void draw(struct bench_ctx *b, cairo_t *cr, double height)
{
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_font_size(cr, 15);
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_move_to(cr, MARGIN, MARGIN + 14);
	char title[128];
	snprintf(title, sizeof(title), "snapctl bench (%s scale, median of %d runs; whiskers min-p90)",
		 b->scale->name, b->runs);
	cairo_show_text(cr, title);

	/* Legend. */
	cairo_set_font_size(cr, 11);
	double lx = MARGIN;
	for (size_t i = 0; i < b->n_envs; i++) {
		const double *c = palette[i % ELEMENTSOF(palette)];
		cairo_set_source_rgb(cr, c[0], c[1], c[2]);
		cairo_rectangle(cr, lx + 150.0 * (double)i, MARGIN + 24, 10, 10);
		cairo_fill(cr);
		cairo_set_source_rgb(cr, 0, 0, 0);
		cairo_move_to(cr, lx + 150.0 * (double)i + 14, MARGIN + 33);
		cairo_show_text(cr, b->envs[i].driver);
	}

	double y = MARGIN + 2 * TITLE_H;
	double plot_w = W - 2 * MARGIN - LABEL_W - 80;
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		if (!seen_before(b, i, false)) {
			cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
			cairo_set_font_size(cr, 13);
			cairo_set_source_rgb(cr, 0, 0, 0);
			cairo_move_to(cr, MARGIN, y + 18);
			cairo_show_text(cr, r->workload);
			cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
			cairo_move_to(cr, MARGIN, y + 23);
			cairo_line_to(cr, W - MARGIN, y + 23);
			cairo_set_line_width(cr, 1);
			cairo_stroke(cr);
			y += TITLE_H;
		}
		if (!seen_before(b, i, true))
			y += GAP;
		/* Scale of this metric: the largest max among its drivers. */
		double scale = 0;
		for (size_t j = 0; j < b->n_results; j++) {
			const struct bench_result *o = &b->results[j];
			if (strcmp(o->workload, r->workload) || strcmp(o->metric, r->metric))
				continue;
			struct bench_stats s;
			bench_stats_compute(o->v, o->n, &s);
			scale = fmax(scale, s.p90);
		}
		struct bench_stats s;
		bench_stats_compute(r->v, r->n, &s);
		const double *c = palette[env_index(b, r->driver) % ELEMENTSOF(palette)];
		cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
		cairo_set_font_size(cr, 10);
		cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
		char label[160];
		snprintf(label, sizeof(label), "%s [%s] %s", r->metric, r->unit, r->driver);
		cairo_move_to(cr, MARGIN, y + BAR_H - 3);
		cairo_show_text(cr, label);
		double x0 = MARGIN + LABEL_W;
		double wmed = scale > 0 ? s.median / scale * plot_w : 0;
		cairo_set_source_rgb(cr, c[0], c[1], c[2]);
		cairo_rectangle(cr, x0, y, fmax(wmed, 1), BAR_H);
		cairo_fill(cr);
		if (scale > 0 && s.n > 1) {
			cairo_set_source_rgb(cr, 0, 0, 0);
			cairo_set_line_width(cr, 1);
			cairo_move_to(cr, x0 + s.min / scale * plot_w, y + BAR_H / 2);
			cairo_line_to(cr, x0 + s.p90 / scale * plot_w, y + BAR_H / 2);
			cairo_stroke(cr);
		}
		char val[48];
		if (strcmp(r->unit, "bytes") == 0)
			cli_format_size(val, sizeof(val), (int64_t)s.median);
		else
			snprintf(val, sizeof(val), "%.3g %s", s.median, r->unit);
		cairo_set_source_rgb(cr, 0, 0, 0);
		cairo_move_to(cr, x0 + fmax(wmed, scale > 0 ? s.p90 / scale * plot_w : 0) + 4, y + BAR_H - 3);
		cairo_show_text(cr, val);
		y += BAR_H + 2;
	}
	(void)height;
}

int bench_write_chart(struct bench_ctx *b, const char *path, bool png, struct snap_error *err)
{
	double h = layout_height(b);
	cairo_surface_t *surface = png ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)W, (int)ceil(h))
				       : cairo_svg_surface_create(path, W, h);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
		int r = snap_error_set(err, -EIO, "bench: chart %s: %s", path,
				       cairo_status_to_string(cairo_surface_status(surface)));
		cairo_surface_destroy(surface);
		return r;
	}
	cairo_t *cr = cairo_create(surface);
	draw(b, cr, h);
	cairo_status_t st = cairo_status(cr);
	cairo_destroy(cr);
	if (st == CAIRO_STATUS_SUCCESS && png)
		st = cairo_surface_write_to_png(surface, path);
	cairo_surface_finish(surface);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	/* Release cairo's and fontconfig's process-wide caches: charts are
	 * drawn once, and LeakSanitizer would report them at exit. */
	cairo_debug_reset_static_data();
	FcFini();
	if (st != CAIRO_STATUS_SUCCESS)
		return snap_error_set(err, -EIO, "bench: chart %s: %s", path, cairo_status_to_string(st));
	return 0;
}
