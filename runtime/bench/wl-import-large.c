/* SPDX-License-Identifier: Apache-2.0 */
/* Workload: import a large image.  `snapctl import` of a synthetic image of
 * 3 gzip layers holding 50,000 small files (0-16 KiB, random) and 1.1 GiB
 * of large ones into an empty root: an unpack dominated by file creation
 * in one part and by bytes in the other, where the Debian-sized image of
 * import-dirty is both at a smaller scale.  Peers: `ctr images import`
 * into containerd's snapshotter, `podman load`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "wl-image.h"
#include "wl-util.h"

#define IMAGE_NAME "bench-large:latest"

/* 20,000 + 20,000 + 10,000 small files (~390 MiB), and 2 x 256 + 384 +
 * 192 MiB = 1,088 MiB of large ones. */
static const struct wl_layer_shape large[3] = {
	{ 20000, 2, 256 << 20 },
	{ 20000, 1, 384 << 20 },
	{ 10000, 1, 192 << 20 },
};
static const struct wl_layer_shape tiny[3] = {
	{ 200, 1, 1 << 20 },
	{ 200, 1, 1 << 20 },
	{ 100, 0, 0 },
};

static struct wl_image image(const struct bench_ctx *b)
{
	bool is_tiny = strcmp(b->scale->name, "tiny") == 0;
	return (struct wl_image){ "large", IMAGE_NAME, is_tiny ? tiny : large, 3 };
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct wl_image_root *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	struct wl_image img = image(b);
	return wl_image_root_make(b, env, &img, "import-large", s, err);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	(void)runno;
	double ms;
	int r = wl_image_import(b, env, state, IMAGE_NAME, &ms, err);
	return r < 0 ? r : bench_record(b, env, "large image import", "ms", ms);
}

int bench_peer_import_large(struct bench_ctx *b, struct bench_env *env, int runno, struct snap_error *err)
{
	(void)runno;
	char archive[4200];
	struct wl_image img = image(b);
	int r = wl_image_archive(b, "import-large", &img, archive, sizeof(archive), err);
	return r < 0 ? r : wl_image_peer_import(b, env, archive, IMAGE_NAME, "large image import", err);
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	(void)b;
	(void)env;
	wl_image_root_remove(state);
	free(state);
}

const struct bench_workload bench_wl_import_large = {
	.name = "import-large",
	.description = "import a synthetic image: 3 layers, 50,000 small files and 1.1 GiB of large ones",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.peers = true,
};
