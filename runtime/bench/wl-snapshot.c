/* SPDX-License-Identifier: Apache-2.0 */
/* Workload 1: latency of prepare, mount, umount, commit and remove over a
 * chain of snapshots, each adding a few files on top of a small base. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "wl-util.h"

static int fill_base(int dirfd, void *arg, struct snap_error *err)
{
	struct bench_rng rng = { *(uint64_t *)arg };
	return bench_gen_tree(dirfd, &rng, 100, 4096, err);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	return wl_make_committed(env, "ops-base", NULL, fill_base, &b->seed, err);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	int depth = b->scale->chain_depth;
	char parent[64] = "ops-base";
	int r = 0, made = 0;
	for (int i = 0; i < depth && r == 0; i++) {
		char key[64], name[64];
		snprintf(key, sizeof(key), "ops-%d-%d-active", runno, i);
		snprintf(name, sizeof(name), "ops-%d-%d", runno, i);
		int64_t t = bench_now_ns();
		r = snap_prepare(env->core, key, parent, NULL, NULL, err);
		if (r < 0)
			break;
		bench_record(b, env, "prepare", "ms", bench_ms_since(t));
		t = bench_now_ns();
		r = snap_mount_at(env->core, key, env->mnt, 0, err);
		if (r < 0) {
			wl_remove_quiet(env, key);
			break;
		}
		bench_record(b, env, "mount", "ms", bench_ms_since(t));
		int fd = wl_open_mnt(env, err);
		if (fd >= 0) {
			r = bench_gen_file(fd, "layer-file", 4096, (uint64_t)i, err);
			close(fd);
		} else {
			r = fd;
		}
		t = bench_now_ns();
		int q = wl_unmount(env, err);
		if (r == 0)
			r = q;
		if (r < 0) {
			wl_remove_quiet(env, key);
			break;
		}
		bench_record(b, env, "umount", "ms", bench_ms_since(t));
		t = bench_now_ns();
		r = snap_commit(env->core, name, key, NULL, err);
		if (r < 0) {
			wl_remove_quiet(env, key);
			break;
		}
		bench_record(b, env, "commit", "ms", bench_ms_since(t));
		snprintf(parent, sizeof(parent), "%s", name);
		made++;
	}
	/* Remove top down (children first). */
	for (int i = made - 1; i >= 0; i--) {
		char name[64];
		snprintf(name, sizeof(name), "ops-%d-%d", runno, i);
		struct snap_error rerr = { 0 };
		int64_t t = bench_now_ns();
		int q = snap_remove(env->core, name, &rerr);
		if (q < 0 && r == 0) {
			*err = rerr;
			r = q;
		} else if (q == 0) {
			bench_record(b, env, "remove", "ms", bench_ms_since(t));
		}
	}
	return r;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	wl_remove_quiet(env, "ops-base");
}

const struct bench_workload bench_wl_snapshot_ops = {
	.name = "snapshot-ops",
	.description = "prepare, mount, umount, commit, remove latency over a chain",
	.setup = setup,
	.run = run,
	.teardown = teardown,
};
