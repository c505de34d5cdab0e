/* SPDX-License-Identifier: Apache-2.0 */
/* Workload 4: commit.  Change N files of a large base (create, modify,
 * delete a directory, append to a large lower file), then diff + commit,
 * for three values of N: how the cost grows with N and with the base. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "layer/layer.h"
#include "util/macro.h"
#include "wl-util.h"

/* Two bases: the scale's, and one a tenth of it, on which the smallest N is
 * measured again (how the cost grows with the base rather than with N). */
static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct wl_base big = { b, b->scale->commit_base_files, 16 << 20 },
		       small = { b, b->scale->commit_base_files / 10, 16 << 20 };
	int r = wl_make_committed(env, "commit-base", NULL, wl_fill_base, &big, err);
	if (r == 0)
		r = wl_make_committed(env, "commit-base-small", NULL, wl_fill_base, &small, err);
	return r < 0 ? r : bench_busybox_image(b, env, err);
}

/* What the peers do too: a container writes one file, then `snapctl commit`
 * makes an image of it (whole command, timed alone). */
static int commit_container(struct bench_ctx *b, struct bench_env *env, int runno, struct snap_error *err)
{
	char name[64], tag[80];
	snprintf(name, sizeof(name), "bench-commit-%d", runno + 1000);
	snprintf(tag, sizeof(tag), "bench-committed:%d", runno + 1000);
	const char *run[] = { "run", "--name", name, BENCH_BUSYBOX_IMAGE, "/bin/sh", "-c", "echo x > /changed", NULL };
	const char *commit[] = { "commit", name, tag, NULL };
	const char *rm[] = { "rm", "-f", name, NULL };
	const char *rmi[] = { "rmi", "-f", tag, NULL };
	int r = bench_snapctl(b, env->root, env->driver, run);
	if (r != 0) {
		bench_snapctl(b, env->root, env->driver, rm);
		return snap_error_set(err, -EIO, "bench commit: snapctl run on %s exited with %d", env->driver, r);
	}
	int64_t t = bench_now_ns();
	r = bench_snapctl(b, env->root, env->driver, commit);
	double ms = bench_ms_since(t);
	bench_snapctl(b, env->root, env->driver, rm);
	bench_snapctl(b, env->root, env->driver, rmi);
	if (r != 0)
		return snap_error_set(err, -EIO, "bench commit: snapctl commit on %s exited with %d", env->driver, r);
	return bench_record(b, env, "commit container (1 file)", "ms", ms);
}

/* N changes: a quarter new files, a quarter modified, the rest deleted
 * (whole directories of the base, 100 files each, then single files), plus
 * one append to the large lower file. */
int wl_change_files(int dfd, int n, int base, struct snap_error *err)
{
	if (mkdirat(dfd, "new", 0755) < 0)
		return snap_error_set(err, negative_errno(), "bench: mkdir new: %m");
	_cleanup_close_ int nfd = openat(dfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0)
		return snap_error_set(err, negative_errno(), "bench: open new: %m");
	int add = n / 4 ? n / 4 : 1, mod = n / 4, del = n - add - mod;
	for (int i = 0; i < add; i++) {
		char name[32];
		snprintf(name, sizeof(name), "n%06d", i);
		int r = bench_gen_file(nfd, name, 1024, (uint64_t)i, err);
		if (r < 0)
			return r;
	}
	for (int i = 0; i < mod; i++) {
		/* Files of the base are d<dir>/f<i>, 100 per directory; modify
		 * from the end of the base, delete from the start. */
		int idx = base - 1 - i;
		if (idx < 0)
			break;
		char name[64];
		snprintf(name, sizeof(name), "d%04d/f%06d", idx / 100, idx);
		int fd = openat(dfd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0)
			return snap_error_set(err, negative_errno(), "bench: open %s: %m", name);
		if (write(fd, "m", 1) < 0) {
			close(fd);
			return snap_error_set(err, negative_errno(), "bench: modify %s: %m", name);
		}
		close(fd);
	}
	for (int d = 0; d < del / 100; d++) {
		char name[32];
		snprintf(name, sizeof(name), "d%04d", d);
		int r = snap_rm_rf_at(dfd, name);
		if (r < 0)
			return snap_error_set(err, r, "bench: delete %s: %s", name, strerror(-r));
	}
	for (int i = del / 100 * 100; i < del; i++) {
		char name[64];
		snprintf(name, sizeof(name), "d%04d/f%06d", i / 100, i);
		if (unlinkat(dfd, name, 0) < 0)
			return snap_error_set(err, negative_errno(), "bench: delete %s: %m", name);
	}
	int fd = openat(dfd, "large.log", O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, "appended\n", 9) != 9) {
		int r = snap_error_set(err, negative_errno(), "bench: append large.log: %m");
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	return 0;
}

static int one(struct bench_ctx *b, struct bench_env *env, int runno, int n, const char *base, int base_files,
	       struct snap_error *err)
{
	char key[96], metric[96];
	snprintf(key, sizeof(key), "commit-%d-%d-%s", runno, n, base);
	double diff_ms, total;
	int r = wl_change_commit(env, key, base, n, base_files, &diff_ms, &total, err);
	if (r < 0)
		return r;
	snprintf(metric, sizeof(metric), "diff N=%d (base %d)", n, base_files);
	bench_record(b, env, metric, "ms", diff_ms);
	snprintf(metric, sizeof(metric), "diff+commit N=%d (base %d)", n, base_files);
	bench_record(b, env, metric, "ms", total);
	return 0;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	int base = b->scale->commit_base_files;
	int r = one(b, env, runno, b->scale->commit_changes[0], "commit-base-small", base / 10, err);
	for (int k = 0; k < 3 && r == 0; k++)
		r = one(b, env, runno, b->scale->commit_changes[k], "commit-base", base, err);
	return r < 0 ? r : commit_container(b, env, runno, err);
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	wl_remove_quiet(env, "commit-base");
	wl_remove_quiet(env, "commit-base-small");
}

const struct bench_workload bench_wl_commit = {
	.name = "commit",
	.description = "change N files on a large base, then diff + commit",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.peers = true,
};
