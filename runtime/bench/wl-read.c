/* SPDX-License-Identifier: Apache-2.0 */
/* Workload 8: sequential read throughput of a large lower file through each
 * driver's stack, against the same file read from the bare filesystem. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/macro.h"
#include "wl-util.h"

struct read_state {
	char key[64];
	char bare[4200];
};

static int fill_big(int dirfd, void *arg, struct snap_error *err)
{
	const struct bench_ctx *b = arg;
	return bench_gen_file(dirfd, "big.bin", b->scale->read_size, b->seed + 1, err);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct read_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	int r = wl_make_committed(env, "read-base", NULL, fill_big, b, err);
	if (r < 0)
		return r;
	snprintf(s->key, sizeof(s->key), "read-active");
	r = wl_prepare_mounted(env, s->key, "read-base", err);
	if (r < 0)
		return r;
	/* The bare file sits on the filesystem that holds the snapshots' data:
	 * the btrfs driver's loopback (ROOT/snapshots), else the root's. */
	char dir[4200];
	if (!wl_snapshots_own_fs(env, dir, sizeof(dir)))
		snprintf(dir, sizeof(dir), "%s", env->root);
	snprintf(s->bare, sizeof(s->bare), "%s/bare-read.bin", dir);
	_cleanup_close_ int rfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return snap_error_set(err, negative_errno(), "bench: open %s: %m", dir);
	return bench_gen_file(rfd, "bare-read.bin", b->scale->read_size, b->seed + 1, err);
}

static int read_all(const char *path, double *mbps, struct snap_error *err)
{
	wl_drop_caches();
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "bench: open %s: %m", path);
	_cleanup_free_ char *buf = malloc(1 << 20);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	int64_t t = bench_now_ns(), total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0)
			return snap_error_set(err, negative_errno(), "bench: read %s: %m", path);
		if (n == 0)
			break;
		total += n;
	}
	double s = (double)(bench_now_ns() - t) / 1e9;
	*mbps = s > 0 ? (double)total / 1e6 / s : 0;
	return 0;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	struct read_state *s = state;
	char path[4200];
	snprintf(path, sizeof(path), "%s/big.bin", env->mnt);
	double v;
	int r = read_all(path, &v, err);
	if (r < 0)
		return r;
	bench_record(b, env, "through the stack", "MB/s", v);
	r = read_all(s->bare, &v, err);
	if (r < 0)
		return r;
	bench_record(b, env, "bare filesystem", "MB/s", v);
	return 0;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	struct read_state *s = state;
	struct snap_error err = { 0 };
	wl_unmount(env, &err);
	if (s) {
		wl_remove_quiet(env, s->key);
		unlink(s->bare);
	}
	wl_remove_quiet(env, "read-base");
	free(s);
}

const struct bench_workload bench_wl_read = {
	.name = "read",
	.description = "read throughput of a large file through each stack vs the bare filesystem",
	.setup = setup,
	.run = run,
	.teardown = teardown,
};
