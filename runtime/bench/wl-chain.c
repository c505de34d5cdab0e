/* SPDX-License-Identifier: Apache-2.0 */
/* Workload 6: deep chains.  Mount time and the lookup of a file from the
 * bottom layer through 1, 10, 100 and 500 layers (scaled). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"
#include "wl-util.h"

struct chain_state {
	int layers; /* committed layers made: chain-0 .. chain-(layers-1) */
};

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct chain_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	return wl_chain_make(b, env, "chain", b->scale->chain_layers[3], &s->layers, err);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	for (int k = 0; k < 4; k++) {
		int n = b->scale->chain_layers[k];
		char parent[64], key[64], metric[64];
		snprintf(parent, sizeof(parent), "chain-%d", n - 1);
		snprintf(key, sizeof(key), "chain-run-%d-%d", runno, n);
		/* prepare too: vfs pays for the depth there (a copy of the
		 * merged tree), the others at mount or lookup. */
		int64_t t = bench_now_ns();
		int r = snap_prepare(env->core, key, parent, NULL, NULL, err);
		if (r < 0)
			return r;
		snprintf(metric, sizeof(metric), "prepare, %d layer%s", n, n == 1 ? "" : "s");
		bench_record(b, env, metric, "ms", bench_ms_since(t));
		t = bench_now_ns();
		r = snap_mount_at(env->core, key, env->mnt, 0, err);
		if (r < 0) {
			wl_remove_quiet(env, key);
			return r;
		}
		snprintf(metric, sizeof(metric), "mount, %d layer%s", n, n == 1 ? "" : "s");
		bench_record(b, env, metric, "ms", bench_ms_since(t));
		/* Lookup + read of the bottom layer's file: a walk through every
		 * layer on overlay, one inode on the others. */
		char path[4200];
		snprintf(path, sizeof(path), "%s/layer-0000", env->mnt);
		t = bench_now_ns();
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char buf[512];
		ssize_t got = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (fd >= 0)
			close(fd);
		double ms = bench_ms_since(t);
		if (got < 0) {
			r = snap_error_set(err, negative_errno(), "bench: read %s: %m", path);
		} else {
			snprintf(metric, sizeof(metric), "lookup, %d layer%s", n, n == 1 ? "" : "s");
			bench_record(b, env, metric, "ms", ms);
		}
		struct snap_error uerr = { 0 };
		wl_unmount(env, &uerr);
		wl_remove_quiet(env, key);
		if (r < 0)
			return r;
	}
	return 0;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	(void)b;
	struct chain_state *s = state;
	if (s)
		wl_chain_remove(env, "chain", s->layers);
	free(s);
}

const struct bench_workload bench_wl_chain = {
	.name = "deep-chains",
	.description = "prepare and mount time and a file lookup through 1, 10, 100 and 500 layers",
	.setup = setup,
	.run = run,
	.teardown = teardown,
};
