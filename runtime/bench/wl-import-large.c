/* SPDX-License-Identifier: Apache-2.0 */
/* Workload: import a large image.  `snapctl import` of a synthetic image of
 * 3 gzip layers holding 50,000 small files (0-16 KiB, random) and 1.1 GiB
 * of large ones into an empty root: an unpack dominated by file creation
 * in one part and by bytes in the other, where the Debian-sized image of
 * import-dirty is both at a smaller scale.  Peers: `ctr images import`
 * into containerd's snapshotter, `podman load`. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs-util.h"
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

static const struct wl_layer_shape *shape(const struct bench_ctx *b)
{
	return strcmp(b->scale->name, "tiny") == 0 ? tiny : large;
}

struct large_state {
	char layout[4200]; /* OCI layout directory */
	char root[4200];   /* the import's own snapctl root */
};

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct large_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	snprintf(s->layout, sizeof(s->layout), "%s/large-oci", b->work);
	snprintf(s->root, sizeof(s->root), "%s-import-large", env->root);
	int r = wl_image_layout(b, s->layout, shape(b), 3, err);
	if (r < 0)
		return r;
	const char *init[] = { "images", NULL };
	if (bench_snapctl(b, s->root, env->driver, init) != 0)
		return snap_error_set(err, -EIO, "bench: snapctl could not make the root %s", s->root);
	return 0;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	(void)runno;
	struct large_state *s = state;
	double ms;
	int r = wl_image_import(b, env, s->root, s->layout, IMAGE_NAME, &ms, err);
	return r < 0 ? r : bench_record(b, env, "large image import", "ms", ms);
}

int bench_peer_import_large(struct bench_ctx *b, struct bench_env *env, int runno, struct snap_error *err)
{
	(void)runno;
	char archive[4200], layout[4200];
	snprintf(archive, sizeof(archive), "%s/large.tar", b->work);
	snprintf(layout, sizeof(layout), "%s/large-oci", b->work);
	int r = wl_image_archive(b, "import-large", layout, shape(b), 3, IMAGE_NAME, archive, err);
	return r < 0 ? r : wl_image_peer_import(b, env, archive, IMAGE_NAME, "large image import", err);
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	(void)b;
	(void)env;
	struct large_state *s = state;
	if (s && s->root[0]) {
		bench_unmount_below(s->root);
		snap_rm_rf_at(AT_FDCWD, s->root);
	}
	free(s);
}

const struct bench_workload bench_wl_import_large = {
	.name = "import-large",
	.description = "import a synthetic image: 3 layers, 50,000 small files and 1.1 GiB of large ones",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.peers = true,
};
