/* SPDX-License-Identifier: Apache-2.0 */
/* Cost curve: prepare, mount and umount of a snapshot on a chain of 1 to
 * 500 committed layers (the scale's curve_depths).  overlay should pay at
 * mount (one lowerdir per layer), vfs at prepare (a copy of the merged
 * tree), btrfs at neither. */
#include <stdio.h>
#include <stdlib.h>

#include "util/macro.h"
#include "wl-util.h"

struct depth_state {
	int layers; /* committed layers made: depth-0 .. depth-(layers-1) */
};

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct depth_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	int max = 0;
	for (size_t k = 0; k < ELEMENTSOF(b->scale->curve_depths) && b->scale->curve_depths[k]; k++)
		max = b->scale->curve_depths[k];
	return wl_chain_make(b, env, "depth", max, &s->layers, err);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	(void)state;
	for (size_t k = 0; k < ELEMENTSOF(b->scale->curve_depths) && b->scale->curve_depths[k]; k++) {
		int n = b->scale->curve_depths[k];
		char parent[64], key[64];
		snprintf(parent, sizeof(parent), "depth-%d", n - 1);
		snprintf(key, sizeof(key), "depth-run-%d-%d", runno + 1000, n);
		int64_t t = bench_now_ns();
		int r = snap_prepare(env->core, key, parent, NULL, NULL, err);
		if (r < 0)
			return r;
		bench_record_x(b, env, "prepare", "ms", "layers", n, bench_ms_since(t));
		t = bench_now_ns();
		r = snap_mount_at(env->core, key, env->mnt, 0, err);
		if (r < 0) {
			wl_remove_quiet(env, key);
			return r;
		}
		bench_record_x(b, env, "mount", "ms", "layers", n, bench_ms_since(t));
		t = bench_now_ns();
		r = wl_unmount(env, err);
		if (r == 0)
			bench_record_x(b, env, "umount", "ms", "layers", n, bench_ms_since(t));
		wl_remove_quiet(env, key);
		if (r < 0)
			return r;
	}
	return 0;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	(void)b;
	struct depth_state *s = state;
	if (s)
		wl_chain_remove(env, "depth", s->layers);
	free(s);
}

const struct bench_workload bench_wl_curve_depth = {
	.name = "curve-depth",
	.description = "cost curve: prepare, mount and umount vs chain depth (1 to 500 layers)",
	.setup = setup,
	.run = run,
	.teardown = teardown,
};
