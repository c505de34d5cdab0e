/* SPDX-License-Identifier: Apache-2.0 */
/* Workload 5: copy-up.  The first write into a large lower file (overlay
 * copies the whole file up, btrfs copies one extent, vfs copied it at
 * prepare), and a chmod of the same file (metadata only with metacopy). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"
#include "wl-util.h"

static int fill_big(int dirfd, void *arg, struct snap_error *err)
{
	const struct bench_ctx *b = arg;
	return bench_gen_file(dirfd, "big.bin", b->scale->copyup_size, b->seed, err);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	return wl_make_committed(env, "copyup-base", NULL, fill_big, b, err);
}

static int one(struct bench_ctx *b, struct bench_env *env, int runno, bool chmod_only, struct snap_error *err)
{
	char key[64];
	snprintf(key, sizeof(key), "copyup-%d-%s", runno, chmod_only ? "chmod" : "write");
	int64_t t = bench_now_ns();
	int r = wl_prepare_mounted(env, key, "copyup-base", err);
	if (r < 0)
		return r;
	double prep = bench_ms_since(t);
	int dfd = wl_open_mnt(env, err);
	if (dfd < 0) {
		r = dfd;
	} else if (chmod_only) {
		t = bench_now_ns();
		if (fchmodat(dfd, "big.bin", 0600, 0) < 0)
			r = snap_error_set(err, negative_errno(), "bench: chmod big.bin: %m");
		else
			bench_record(b, env, "chmod", "ms", bench_ms_since(t));
	} else {
		t = bench_now_ns();
		int fd = openat(dfd, "big.bin", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || pwrite(fd, "x", 1, 0) != 1)
			r = snap_error_set(err, negative_errno(), "bench: write big.bin: %m");
		if (fd >= 0)
			close(fd);
		if (r == 0) {
			bench_record(b, env, "first write", "ms", bench_ms_since(t));
			/* vfs pays its copy at prepare: show it beside. */
			bench_record(b, env, "prepare+mount", "ms", prep);
		}
	}
	if (dfd >= 0)
		close(dfd);
	struct snap_error uerr = { 0 };
	wl_unmount(env, &uerr);
	wl_remove_quiet(env, key);
	return r;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	int r = one(b, env, runno, false, err);
	return r < 0 ? r : one(b, env, runno, true, err);
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	wl_remove_quiet(env, "copyup-base");
}

const struct bench_workload bench_wl_copyup = {
	.name = "copy-up",
	.description = "first write into a large lower file; chmod of it",
	.setup = setup,
	.run = run,
	.teardown = teardown,
};
