/* SPDX-License-Identifier: Apache-2.0 */
/* A chart drawn with cairo into an SVG or PNG file: what bench's and
 * fstest's charts share (the surface, text, palette, releasing cairo's and
 * fontconfig's caches). */
#ifndef SNAP_CHART_FILE_H
#define SNAP_CHART_FILE_H

#include <cairo.h>
#include <stdbool.h>
#include <snapctl/driver.h>

/* Twelve distinct colours (d3's category10 and two more). */
extern const double chart_palette[12][3];

/* Draw into a w x h chart written to `path` (PNG when png, else SVG).
 * draw() is called once.  Returns 0 or -EIO with err set ("<what> PATH:
 * cairo's reason"). */
typedef void (*chart_draw_fn)(cairo_t *cr, void *userdata);
int chart_write_file(const char *what, const char *path, bool png, double w, double h, chart_draw_fn draw,
		     void *userdata, struct snap_error *err);

/* Text at (x, y) (baseline) in sans-serif. */
void chart_text(cairo_t *cr, double x, double y, double size, bool bold, const char *s);

#endif
