/* SPDX-License-Identifier: Apache-2.0 */
/* Cost curve: `snapctl snapshot ls` and `snapctl snapshot usage` (whole
 * commands) against the number of snapshots in the root (10 to 10,000).
 * One root per count, filled once through the core; ls should grow with
 * the rows it prints, usage with the trees it walks. */
#include <stdio.h>
#include <stdlib.h>

#include "util/macro.h"
#include "wl-util.h"

static void count_root(struct bench_env *env, int n, char *out, size_t len)
{
	snprintf(out, len, "%s-snapshots-%d", env->root, n);
}

static int fill_root(struct bench_ctx *b, struct bench_env *env, int n, struct snap_error *err)
{
	char root[4200];
	count_root(env, n, root, sizeof(root));
	struct snap_core_opts opts = {
		.root = root, .driver = env->driver, .plugin_dir = b->cli->plugin_dir, .btrfs_size = b->cli->btrfs_size,
	};
	_cleanup_(snap_core_closep) struct snap_core *core = NULL;
	int r = snap_core_open(&opts, &core, err);
	/* Half committed (a chain of two: one parent, then views of nothing),
	 * half active on them: what a store of images and containers has. */
	for (int i = 0; i < n && r == 0; i++) {
		if (*b->interrupted)
			return snap_error_set(err, -EINTR, "bench: interrupted");
		char key[64], name[64];
		snprintf(key, sizeof(key), "active-%05d", i);
		snprintf(name, sizeof(name), "committed-%05d", i / 2);
		if (i % 2 == 0) {
			r = snap_prepare(core, key, NULL, NULL, NULL, err);
			if (r == 0)
				r = snap_commit(core, name, key, NULL, err);
		} else {
			r = snap_prepare(core, key, name, NULL, NULL, err);
		}
	}
	return r;
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	(void)state;
	int r = 0;
	for (size_t k = 0; k < ELEMENTSOF(b->scale->curve_snapshots) && b->scale->curve_snapshots[k] && r == 0; k++)
		r = fill_root(b, env, b->scale->curve_snapshots[k], err);
	return r;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	(void)state;
	(void)runno;
	static const char *const cmds[][3] = { { "snapshot", "ls", NULL }, { "snapshot", "usage", NULL } };
	for (size_t k = 0; k < ELEMENTSOF(b->scale->curve_snapshots) && b->scale->curve_snapshots[k]; k++) {
		int n = b->scale->curve_snapshots[k];
		char root[4200];
		count_root(env, n, root, sizeof(root));
		for (size_t c = 0; c < ELEMENTSOF(cmds); c++) {
			int64_t t = bench_now_ns();
			int r = bench_snapctl(b, root, env->driver, cmds[c]);
			double ms = bench_ms_since(t);
			if (r != 0)
				return snap_error_set(err, -EIO, "bench curve-snapshots: snapctl %s %s on %s exited with %d",
						      cmds[c][0], cmds[c][1], env->driver, r);
			char metric[64];
			snprintf(metric, sizeof(metric), "%s %s", cmds[c][0], cmds[c][1]);
			bench_record_x(b, env, metric, "ms", "snapshots", n, ms);
		}
	}
	return 0;
}

const struct bench_workload bench_wl_curve_snapshots = {
	.name = "curve-snapshots",
	.description = "cost curve: snapctl snapshot ls and usage vs snapshots in the root (10 to 10,000)",
	.setup = setup,
	.run = run,
};
