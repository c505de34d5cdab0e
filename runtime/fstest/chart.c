/* SPDX-License-Identifier: Apache-2.0 */
/* The heatmap: one row per configuration, one column per scenario family;
 * a cell is green when every observation matches the reference, amber when
 * all differences are expected, red when any is unexpected (with the
 * counts), grey when skipped or failed, blue for a reference. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart-file.h"
#include "fstest.h"
#include "util/macro.h"

#define MARGIN 16.0
#define NAME_W 330.0
#define CELL_W 92.0
#define CELL_H 20.0
#define HEAD_H 86.0
#define LEGEND_H 30.0

struct cells {
	const struct fst_run *run;
	size_t *expected, *unexpected; /* [config * families + family] */
};

static size_t family_of(const char *scenario)
{
	for (size_t f = 0; f < fst_n_families; f++) {
		size_t n = strlen(fst_families[f]->name);
		if (strncmp(scenario, fst_families[f]->name, n) == 0 && scenario[n] == '/')
			return f;
	}
	return 0;
}

static void cell_colour(cairo_t *cr, const struct fst_config *c, size_t e, size_t u)
{
	if (c->status != FST_DONE)
		cairo_set_source_rgb(cr, 0.80, 0.80, 0.80);
	else if (c->ref < 0)
		cairo_set_source_rgb(cr, 0.62, 0.76, 0.90);
	else if (u)
		cairo_set_source_rgb(cr, 0.90, 0.30, 0.26);
	else if (e)
		cairo_set_source_rgb(cr, 0.98, 0.80, 0.40);
	else
		cairo_set_source_rgb(cr, 0.55, 0.80, 0.50);
}

static void draw(cairo_t *cr, void *userdata)
{
	struct cells *x = userdata;
	const struct fst_run *run = x->run;
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	char title[400];
	snprintf(title, sizeof(title), "snapctl fstest: %zu scenarios x %zu configurations, %s", run->n_sc, run->n_configs,
		 run->kernel);
	chart_text(cr, MARGIN, MARGIN + 14, 15, true, title);

	static const struct {
		const char *label;
		double rgb[3];
	} legend[] = {
		{ "same as reference", { 0.55, 0.80, 0.50 } }, { "expected differences only", { 0.98, 0.80, 0.40 } },
		{ "unexpected differences", { 0.90, 0.30, 0.26 } }, { "skipped / failed", { 0.80, 0.80, 0.80 } },
		{ "reference", { 0.62, 0.76, 0.90 } },
	};
	double lx = MARGIN;
	for (size_t i = 0; i < ELEMENTSOF(legend); i++) {
		cairo_set_source_rgb(cr, legend[i].rgb[0], legend[i].rgb[1], legend[i].rgb[2]);
		cairo_rectangle(cr, lx, MARGIN + 26, 12, 12);
		cairo_fill(cr);
		cairo_set_source_rgb(cr, 0, 0, 0);
		chart_text(cr, lx + 16, MARGIN + 36, 11, false, legend[i].label);
		lx += 190;
	}

	double top = MARGIN + LEGEND_H + HEAD_H;
	for (size_t f = 0; f < fst_n_families; f++) {
		double cx = MARGIN + NAME_W + (double)f * CELL_W + CELL_W / 2;
		cairo_save(cr);
		cairo_move_to(cr, cx, top - 6);
		cairo_rotate(cr, -0.6);
		cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
		cairo_set_font_size(cr, 12);
		cairo_show_text(cr, fst_families[f]->name);
		cairo_restore(cr);
	}
	for (size_t i = 0; i < run->n_configs; i++) {
		const struct fst_config *c = &run->configs[i];
		double y = top + (double)i * CELL_H;
		cairo_set_source_rgb(cr, 0, 0, 0);
		chart_text(cr, MARGIN, y + CELL_H - 6, 11, false, c->name);
		for (size_t f = 0; f < fst_n_families; f++) {
			size_t e = x->expected[i * fst_n_families + f], u = x->unexpected[i * fst_n_families + f];
			double cx = MARGIN + NAME_W + (double)f * CELL_W;
			cell_colour(cr, c, e, u);
			cairo_rectangle(cr, cx + 1, y + 1, CELL_W - 2, CELL_H - 2);
			cairo_fill(cr);
			char label[48] = "";
			if (c->status == FST_SKIPPED)
				snprintf(label, sizeof(label), "skipped");
			else if (c->status == FST_FAILED)
				snprintf(label, sizeof(label), "failed");
			else if (u)
				snprintf(label, sizeof(label), "%zu unexp.", u);
			else if (e)
				snprintf(label, sizeof(label), "%zu exp.", e);
			cairo_set_source_rgb(cr, 0, 0, 0);
			if (label[0])
				chart_text(cr, cx + 6, y + CELL_H - 6, 10, u > 0, label);
		}
	}
}

int fst_chart_write(const struct fst_run *run, const char *path, bool png, struct snap_error *err)
{
	size_t n = run->n_configs * fst_n_families;
	struct cells x = { .run = run };
	x.expected = calloc(n ? n : 1, sizeof(size_t));
	x.unexpected = calloc(n ? n : 1, sizeof(size_t));
	if (!x.expected || !x.unexpected) {
		free(x.expected);
		free(x.unexpected);
		return snap_error_set(err, -ENOMEM, "fstest: out of memory");
	}
	for (size_t i = 0; i < run->n_diffs; i++) {
		const struct fst_diff *d = &run->diffs[i];
		size_t k = d->config * fst_n_families + family_of(d->scenario);
		if (d->rule)
			x.expected[k]++;
		else
			x.unexpected[k]++;
	}
	double w = 2 * MARGIN + NAME_W + (double)fst_n_families * CELL_W;
	double h = 2 * MARGIN + LEGEND_H + HEAD_H + (double)run->n_configs * CELL_H;
	if (w < 2 * MARGIN + 5 * 190)
		w = 2 * MARGIN + 5 * 190;
	int r = chart_write_file("fstest: heatmap", path, png, w, h, draw, &x, err);
	free(x.expected);
	free(x.unexpected);
	return r;
}
