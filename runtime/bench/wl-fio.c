/* SPDX-License-Identifier: Apache-2.0 */
/* Workload: fio through each driver (fio.c's jobs) in a fresh container
 * rootfs per run: a snapshot prepared on a committed base holding the
 * lower files, mounted; the host's fio runs against the mounted directory,
 * the same filesystem path a process in the container uses.  The bare
 * backing filesystem (a plain directory beside the roots) is the
 * reference row, "backing-fs". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fio.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "wl-util.h"

#define FIO_BASE "fio-base"

static int fill(int dirfd, void *arg, struct snap_error *err)
{
	return bench_fio_fill_lower(dirfd, arg, err);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	(void)state;
	char reason[128];
	if (!bench_fio_available(reason, sizeof(reason)))
		return snap_error_set(err, -ENOENT, "bench fio: %s", reason);
	if (!env->reference)
		return wl_make_committed(env, FIO_BASE, NULL, fill, b, err);
	if (snap_mkdir_p(env->mnt, 0755) < 0)
		return snap_error_set(err, negative_errno(), "bench fio: mkdir %s: %m", env->mnt);
	_cleanup_close_ int dfd = open(env->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(err, negative_errno(), "bench fio: open %s: %m", env->mnt);
	return bench_fio_fill_lower(dfd, b, err);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	(void)state;
	if (env->reference)
		return bench_fio_jobs(b, env, env->mnt, err);
	char key[64];
	snprintf(key, sizeof(key), "fio-run-%d", runno + 1000);
	int r = wl_prepare_mounted(env, key, FIO_BASE, err);
	if (r < 0)
		return r;
	r = bench_fio_jobs(b, env, env->mnt, err);
	struct snap_error uerr = { 0 };
	int q = wl_unmount(env, &uerr);
	wl_remove_quiet(env, key);
	if (r >= 0 && q < 0) {
		*err = uerr;
		r = q;
	}
	return r;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	(void)b;
	(void)state;
	if (!env->reference)
		wl_remove_quiet(env, FIO_BASE);
}

const struct bench_workload bench_wl_fio = {
	.name = "fio",
	.description = "fio in a fresh container rootfs: seq/rand read and write, fsync'd writes, file create/unlink",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.peers = true,
	.reference = true,
	.default_runs = 3,
};
