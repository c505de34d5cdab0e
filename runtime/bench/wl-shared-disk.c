/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared-disk case: an image store shares its disk with running
 * containers.  Each run measures `snapctl import` of a generated image and
 * diff + commit of a container's changes, first on a quiet filesystem, then
 * while a container of the same driver (a mounted active snapshot on the
 * same store) keeps writing: dirty pages and fdatasyncs (dirty-writer.c).
 * Reported: both figures, the slowdown (busy / quiet) and what the writer
 * achieved meanwhile.  Between runs the filesystem is synced outside the
 * timing, so that a busy phase's writeback does not land on the next quiet
 * one.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dirty-writer.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "wl-util.h"

struct shared_state {
	char archive[4200];
	char import_root[4200];
	char busy_dir[4200];
	bool busy_mounted;
};

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct shared_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	int r = bench_image_archive(b, b->scale->shared_files, s->archive, sizeof(s->archive), err);
	if (r < 0)
		return r;
	snprintf(s->import_root, sizeof(s->import_root), "%s-shared-import", env->root);
	const char *init[] = { "images", NULL };
	if ((r = bench_snapctl(b, s->import_root, env->driver, init)) != 0)
		return snap_error_set(err, -EIO, "bench shared-disk: snapctl images on %s exited with %d", env->driver, r);
	struct wl_base base = { b, b->scale->shared_files, 1 << 20 };
	if ((r = wl_make_committed(env, "sd-base", NULL, wl_fill_base, &base, err)) < 0)
		return r;
	/* The busy container: an active snapshot of the same store, mounted
	 * on a directory of its own. */
	snprintf(s->busy_dir, sizeof(s->busy_dir), "%s-busy", env->root);
	if (snap_mkdir_p(s->busy_dir, 0755) < 0)
		return snap_error_set(err, negative_errno(), "bench shared-disk: mkdir %s: %m", s->busy_dir);
	if ((r = snap_prepare(env->core, "sd-busy", "sd-base", NULL, NULL, err)) < 0)
		return r;
	if ((r = snap_mount_at(env->core, "sd-busy", s->busy_dir, 0, err)) < 0)
		return r;
	s->busy_mounted = true;
	return 0;
}

static int import_once(struct bench_ctx *b, struct bench_env *env, struct shared_state *s, double *ms,
		       struct snap_error *err)
{
	const char *imp[] = { "import", "--name", "shared-import:latest", s->archive, NULL };
	const char *rmi[] = { "rmi", "shared-import:latest", NULL };
	const char *gc[] = { "gc", NULL };
	int64_t t = bench_now_ns();
	int r = bench_snapctl(b, s->import_root, env->driver, imp);
	*ms = bench_ms_since(t);
	if (r != 0)
		return snap_error_set(err, -EIO, "bench shared-disk: snapctl import on %s exited with %d", env->driver, r);
	bench_snapctl(b, s->import_root, env->driver, rmi);
	bench_snapctl(b, s->import_root, env->driver, gc);
	return 0;
}

/* A tenth of the base changed, then diff + commit timed. */
static int commit_once(struct bench_ctx *b, struct bench_env *env, const char *tag, int runno, double *ms,
		       struct snap_error *err)
{
	char key[64];
	snprintf(key, sizeof(key), "sd-%d-%s", runno + 1000, tag);
	int n = b->scale->shared_files / 10 ? b->scale->shared_files / 10 : 1;
	double diff_ms;
	return wl_change_commit(env, key, "sd-base", n, b->scale->shared_files, &diff_ms, ms, err);
}

static void settle(struct shared_state *s, struct bench_env *env)
{
	const char *dirs[] = { s->busy_dir, env->root, s->import_root };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		wl_settle(dirs[i]);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	struct shared_state *s = state;
	double imp_quiet = 0, imp_busy = 0, com_quiet = 0, com_busy = 0;
	settle(s, env);
	int r = import_once(b, env, s, &imp_quiet, err);
	if (r == 0)
		r = commit_once(b, env, "quiet", runno, &com_quiet, err);
	if (r < 0)
		return r;
	struct bench_dirty_writer w;
	int64_t wrap = b->scale->fio_size > (64 << 20) ? b->scale->fio_size : 64 << 20;
	if ((r = bench_dirty_writer_start(&w, s->busy_dir, wrap, err)) < 0)
		return r;
	r = import_once(b, env, s, &imp_busy, err);
	if (r == 0)
		r = commit_once(b, env, "busy", runno, &com_busy, err);
	double writer = bench_dirty_writer_stop(&w);
	settle(s, env);
	if (r < 0)
		return r;
	bench_record(b, env, "import, quiet", "ms", imp_quiet);
	bench_record(b, env, "import, busy disk", "ms", imp_busy);
	bench_record(b, env, "import slowdown (busy / quiet)", "ratio", imp_busy / imp_quiet);
	bench_record(b, env, "diff+commit, quiet", "ms", com_quiet);
	bench_record(b, env, "diff+commit, busy disk", "ms", com_busy);
	bench_record(b, env, "diff+commit slowdown (busy / quiet)", "ratio", com_busy / com_quiet);
	if (writer > 0)
		bench_record(b, env, "writer's throughput meanwhile", "MB/s", writer);
	return 0;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	(void)b;
	struct shared_state *s = state;
	if (s && s->busy_mounted) {
		struct snap_error err = { 0 };
		snap_unmount_at(s->busy_dir, &err);
	}
	wl_remove_quiet(env, "sd-busy");
	wl_remove_quiet(env, "sd-base");
	free(s);
}

const struct bench_workload bench_wl_shared_disk = {
	.name = "shared-disk",
	.description = "import and diff+commit on a quiet disk and while a container on the same store writes",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.peers = true,
};
