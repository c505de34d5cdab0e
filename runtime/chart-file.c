/* SPDX-License-Identifier: Apache-2.0 */
#include "chart-file.h"

#include <cairo-svg.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>

const double chart_palette[12][3] = {
	{ 0.12, 0.47, 0.71 }, { 1.00, 0.50, 0.05 }, { 0.17, 0.63, 0.17 }, { 0.84, 0.15, 0.16 },
	{ 0.58, 0.40, 0.74 }, { 0.55, 0.34, 0.29 }, { 0.89, 0.47, 0.76 }, { 0.50, 0.50, 0.50 },
	{ 0.74, 0.74, 0.13 }, { 0.09, 0.75, 0.81 }, { 0.40, 0.20, 0.00 }, { 0.00, 0.00, 0.50 },
};

void chart_text(cairo_t *cr, double x, double y, double size, bool bold, const char *s)
{
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
	cairo_move_to(cr, x, y);
	cairo_show_text(cr, s);
}

int chart_write_file(const char *what, const char *path, bool png, double w, double h, chart_draw_fn draw,
		     void *userdata, struct snap_error *err)
{
	cairo_surface_t *surface = png ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(w), (int)ceil(h))
				       : cairo_svg_surface_create(path, w, h);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
		int r = snap_error_set(err, -EIO, "%s %s: %s", what, path,
				       cairo_status_to_string(cairo_surface_status(surface)));
		cairo_surface_destroy(surface);
		return r;
	}
	cairo_t *cr = cairo_create(surface);
	draw(cr, userdata);
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
		return snap_error_set(err, -EIO, "%s %s: %s", what, path, cairo_status_to_string(st));
	return 0;
}
