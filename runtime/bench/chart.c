/* SPDX-License-Identifier: Apache-2.0 */
/* Charts of a bench run with cairo: one panel per workload, one group of
 * horizontal bars per metric, one bar per driver (median), with a whisker
 * from min to p90; panels in two columns, each into the shorter one (the max of a few runs is mostly noise and would squash
 * the scale).  Each metric is scaled to its own largest value, since
 * metrics of one workload have different units. */
#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "chart-file.h"
#include "util/macro.h"

#define W 1500.0
#define MARGIN 16.0
#define COLS 2
#define COL_W ((W - (COLS + 1) * MARGIN) / COLS)
#define PAD 10.0       /* inside a panel */
#define DRIVER_W 150.0 /* driver names left of the bars */
#define VALUE_W 80.0   /* room for the value right of the longest bar */
#define BAR_H 13.0
#define BAR_STEP (BAR_H + 3)
#define METRIC_H 18.0  /* a metric's heading */
#define METRIC_GAP 6.0
#define PANEL_TITLE_H 26.0
#define LEGEND_PER_ROW 6
#define LEGEND_ROW_H 18.0

static size_t env_index(struct bench_ctx *b, const char *driver)
{
	for (size_t i = 0; i < b->n_envs; i++)
		if (strcmp(b->envs[i].driver, driver) == 0)
			return i;
	return 0;
}

/* Distinct workloads / metrics in first-seen order (results are sorted by
 * workload, metric, driver). */
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

/* Height of the panel of the workload whose first result is `first`. */
static double panel_height(struct bench_ctx *b, size_t first)
{
	double h = PANEL_TITLE_H + PAD;
	for (size_t i = first; i < b->n_results && strcmp(b->results[i].workload, b->results[first].workload) == 0; i++) {
		if (!seen_before(b, i, true))
			h += METRIC_H + METRIC_GAP;
		h += BAR_STEP;
	}
	return h;
}

static size_t legend_rows(struct bench_ctx *b)
{
	size_t shown = 0;
	for (size_t i = 0; i < b->n_envs; i++)
		shown += !b->envs[i].skip_reason[0];
	return (shown + LEGEND_PER_ROW - 1) / LEGEND_PER_ROW;
}

/* Panels go into the shorter column, in workload order. */
static double layout(struct bench_ctx *b, double *xs, double *ys)
{
	double top = MARGIN + 30 + (double)legend_rows(b) * LEGEND_ROW_H + 8;
	double col_y[COLS];
	for (int c = 0; c < COLS; c++)
		col_y[c] = top;
	for (size_t i = 0; i < b->n_results; i++) {
		if (seen_before(b, i, false))
			continue;
		int c = 0;
		for (int k = 1; k < COLS; k++)
			if (col_y[k] < col_y[c] - 1)
				c = k;
		xs[i] = MARGIN + c * (COL_W + MARGIN);
		ys[i] = col_y[c];
		col_y[c] += panel_height(b, i) + MARGIN;
	}
	double h = top;
	for (int c = 0; c < COLS; c++)
		h = fmax(h, col_y[c]);
	return h + MARGIN;
}

static const char *workload_description(const char *name)
{
	for (size_t i = 0; i < bench_n_workloads; i++)
		if (strcmp(bench_all_workloads[i]->name, name) == 0)
			return bench_all_workloads[i]->description;
	return "";
}

static void draw(struct bench_ctx *b, cairo_t *cr, const double *xs, const double *ys)
{
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	char title[200];
	snprintf(title, sizeof(title),
		 "snapctl bench: %s scale, median of %d runs (bars), whiskers min to p90; lower is better except MB/s",
		 b->scale->name, b->runs);
	chart_text(cr, MARGIN, MARGIN + 16, 17, true, title);

	/* Legend: the drivers and peers that ran, in command-line order. */
	size_t k = 0;
	double lw = (W - 2 * MARGIN) / LEGEND_PER_ROW;
	for (size_t i = 0; i < b->n_envs; i++) {
		if (b->envs[i].skip_reason[0])
			continue;
		double x = MARGIN + lw * (double)(k % LEGEND_PER_ROW);
		double y = MARGIN + 30 + LEGEND_ROW_H * (double)(k / LEGEND_PER_ROW);
		const double *c = chart_palette[i % ELEMENTSOF(chart_palette)];
		cairo_set_source_rgb(cr, c[0], c[1], c[2]);
		cairo_rectangle(cr, x, y, 12, 12);
		cairo_fill(cr);
		cairo_set_source_rgb(cr, 0, 0, 0);
		chart_text(cr, x + 17, y + 11, 12, false, b->envs[i].driver);
		k++;
	}

	double x = 0, y = 0, panel_x = 0;
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		if (!seen_before(b, i, false)) {
			/* A new panel: frame and title. */
			panel_x = xs[i];
			y = ys[i];
			cairo_set_source_rgb(cr, 0.96, 0.96, 0.96);
			cairo_rectangle(cr, panel_x, y, COL_W, panel_height(b, i));
			cairo_fill_preserve(cr);
			cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
			cairo_set_line_width(cr, 1);
			cairo_stroke(cr);
			cairo_set_source_rgb(cr, 0, 0, 0);
			chart_text(cr, panel_x + PAD, y + 18, 14, true, r->workload);
			cairo_text_extents_t ext;
			cairo_text_extents(cr, r->workload, &ext);
			cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
			chart_text(cr, panel_x + PAD + ext.x_advance + 10, y + 18, 11, false, workload_description(r->workload));
			y += PANEL_TITLE_H;
		}
		if (!seen_before(b, i, true)) {
			y += METRIC_GAP;
			char head[160];
			snprintf(head, sizeof(head), "%s (%s)", r->metric, r->unit);
			cairo_set_source_rgb(cr, 0, 0, 0);
			chart_text(cr, panel_x + PAD, y + 13, 12, true, head);
			y += METRIC_H;
		}
		/* Scale of this metric: the largest p90 among its drivers. */
		double scale = 0;
		for (size_t j = 0; j < b->n_results; j++) {
			const struct bench_result *o = &b->results[j];
			if (strcmp(o->workload, r->workload) || strcmp(o->metric, r->metric))
				continue;
			struct bench_stats s;
			bench_stats_compute(o->v, o->n, &s);
			scale = fmax(scale, fmax(s.p90, s.median));
		}
		struct bench_stats s;
		bench_stats_compute(r->v, r->n, &s);
		const double *c = chart_palette[env_index(b, r->driver) % ELEMENTSOF(chart_palette)];
		cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
		chart_text(cr, panel_x + PAD + 8, y + BAR_H - 2, 11, false, r->driver);
		x = panel_x + PAD + DRIVER_W;
		double plot_w = COL_W - 2 * PAD - DRIVER_W - VALUE_W;
		double wmed = scale > 0 ? s.median / scale * plot_w : 0;
		cairo_set_source_rgb(cr, c[0], c[1], c[2]);
		cairo_rectangle(cr, x, y, fmax(wmed, 1), BAR_H);
		cairo_fill(cr);
		if (scale > 0 && s.n > 1) {
			cairo_set_source_rgb(cr, 0, 0, 0);
			cairo_set_line_width(cr, 1);
			cairo_move_to(cr, x + s.min / scale * plot_w, y + BAR_H / 2);
			cairo_line_to(cr, x + s.p90 / scale * plot_w, y + BAR_H / 2);
			cairo_stroke(cr);
		}
		char val[48];
		if (strcmp(r->unit, "bytes") == 0)
			cli_format_size(val, sizeof(val), (int64_t)s.median);
		else if (s.median >= 100)
			snprintf(val, sizeof(val), "%.0f", s.median);
		else
			snprintf(val, sizeof(val), "%.3g", s.median);
		cairo_set_source_rgb(cr, 0, 0, 0);
		chart_text(cr, x + fmax(wmed, scale > 0 ? s.p90 / scale * plot_w : 0) + 4, y + BAR_H - 2, 11, false, val);
		y += BAR_STEP;
	}
}

struct draw_args {
	struct bench_ctx *b;
	const double *xs, *ys;
};

static void draw_cb(cairo_t *cr, void *userdata)
{
	struct draw_args *a = userdata;
	draw(a->b, cr, a->xs, a->ys);
}

int bench_write_chart(struct bench_ctx *b, const char *path, bool png, struct snap_error *err)
{
	/* The points of cost curves have charts of their own (curve-chart.c):
	 * draw the other results only. */
	struct bench_result *all = b->results;
	size_t n_all = b->n_results;
	_cleanup_free_ struct bench_result *bars = calloc(n_all ? n_all : 1, sizeof(*bars));
	_cleanup_free_ double *xs = calloc(n_all ? n_all : 1, sizeof(double));
	_cleanup_free_ double *ys = calloc(n_all ? n_all : 1, sizeof(double));
	if (!xs || !ys || !bars)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	size_t n = 0;
	for (size_t i = 0; i < n_all; i++)
		if (!all[i].x_label)
			bars[n++] = all[i];
	b->results = bars;
	b->n_results = n;
	double h = layout(b, xs, ys);
	struct draw_args a = { b, xs, ys };
	int r = chart_write_file("bench: chart", path, png, W, h, draw_cb, &a, err);
	b->results = all;
	b->n_results = n_all;
	return r;
}
