/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the image commands: progress bars for import/export. */
#ifndef SNAP_IMAGE_OUTPUT_H
#define SNAP_IMAGE_OUTPUT_H

#include "cli.h"
#include "image/image.h"

/* Feeds snap_image_progress_fn calls into cli_progress bars, one bar per
 * blob or phase; silent unless stderr is a TTY and not --quiet. */
struct image_progress {
	struct cli_ctx *ctx;
	struct cli_progress *bar;
	char key[128];
};
void image_progress_fn(void *userdata, const char *phase, const char *what, uint64_t done,
		       uint64_t total);
void image_progress_done(struct image_progress *p);
/* Progress bars only on a TTY and without --quiet: elsewhere the library
 * is not even asked to report (no watcher thread). */
bool image_progress_wanted(const struct cli_ctx *ctx);

/* "abcdef012345" from "sha256:abcdef012345..." */
void image_short_id(char *buf, size_t len, const char *id);

#endif
