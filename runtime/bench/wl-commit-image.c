/* SPDX-License-Identifier: Apache-2.0 */
/* Workload: commit of a busy container.  An image holds busybox, a
 * 100 MiB log (text: it compresses about 4:1, as logs do) and a directory
 * of 100 files; a container writes 1,000 files, removes that directory and
 * appends a line to the log; then `snapctl commit` (whole command, timed
 * alone) with gzip and with --compression zstd.  The layer holds the whole
 * log (copy-up), so this is mostly compression: pigz-style gzip on every
 * core, zstd with libzstd's workers.  The image has /proc, /sys and /dev,
 * as distribution images do, so no init layer sits under the container. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "wl-util.h"

#define BASE_IMAGE "bench-commit-base:latest"
/* What the container does before the commit. */
#define SCRIPT                                                                                                 \
	"/bin/busybox mkdir /new && i=0; while [ $i -lt 1000 ]; do echo $i > /new/f$i; i=$((i+1)); done; "     \
	"/bin/busybox rm -rf /srv/old && echo appended >> /var/log/big.log"
#define METRIC_PREFIX "commit (1,000 files, rm dir, append to log), "
#define METRIC_GZIP METRIC_PREFIX "gzip"

struct commit_image_state {
	char rootfs[4200];
};

/* Log lines with varying numbers: text that gzip shrinks ~4x. */
static int write_log(const char *path, int64_t size, uint64_t seed, struct snap_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "bench: create %s: %m", path);
	static char buf[1 << 20];
	static const char *const what[] = { "GET /api/v1/items", "POST /api/v1/orders", "GET /healthz",
					    "PUT /api/v1/users", "DELETE /api/v1/cache" };
	struct bench_rng rng = { seed };
	for (int64_t done = 0; done < size;) {
		size_t n = 0;
		while (n < sizeof(buf) - 200) {
			uint64_t x = bench_rng_next(&rng);
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
					      "2026-12-04T19:%02u:%02u.%06uZ INFO req=%016llx %s status=%u bytes=%u ms=%u\n",
					      (unsigned)(x % 60), (unsigned)(x >> 8) % 60, (unsigned)(x >> 16) % 1000000,
					      (unsigned long long)bench_rng_next(&rng), what[(x >> 40) % 5],
					      200 + (unsigned)(x >> 44) % 4 * 100, (unsigned)(x >> 20) % 65536,
					      (unsigned)(x >> 50) % 900);
		}
		if (size - done < (int64_t)n)
			n = (size_t)(size - done);
		int r = snap_write_all(fd, buf, n);
		if (r < 0)
			return snap_error_set(err, r, "bench: write %s: %s", path, strerror(-r));
		done += (int64_t)n;
	}
	return 0;
}

static int make_rootfs(struct bench_ctx *b, char *dir, size_t len, struct snap_error *err)
{
	char busybox[4200];
	int r = bench_busybox_rootfs(b, busybox, sizeof(busybox), err);
	if (r < 0)
		return r;
	snprintf(dir, len, "%s/commit-image-rootfs", b->work);
	if (access(dir, F_OK) == 0)
		return 0;
	char *cp[] = { "cp", "-a", busybox, dir, NULL };
	if (bench_spawn(b, cp) != 0)
		return snap_error_set(err, -EIO, "bench: copy %s failed", busybox);
	char path[4400];
	/* The runtime's mount points, as distribution images have them: the
	 * container's snapshot is then right on the image's top layer, with
	 * no init layer between (run-init-layer.h). */
	static const char *const mount_points[] = { "proc", "sys", "dev" };
	for (size_t i = 0; i < ELEMENTSOF(mount_points); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, mount_points[i]);
		if (snap_mkdir_p(path, 0755) < 0)
			return snap_error_set(err, negative_errno(), "bench: mkdir %s: %m", path);
	}
	snprintf(path, sizeof(path), "%s/var/log", dir);
	if (snap_mkdir_p(path, 0755) < 0)
		return snap_error_set(err, negative_errno(), "bench: mkdir %s: %m", path);
	snprintf(path, sizeof(path), "%s/var/log/big.log", dir);
	int64_t size = strcmp(b->scale->name, "tiny") == 0 ? 4 << 20 : 100 << 20;
	if ((r = write_log(path, size, b->seed, err)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/srv/old", dir);
	if (snap_mkdir_p(path, 0755) < 0)
		return snap_error_set(err, negative_errno(), "bench: mkdir %s: %m", path);
	_cleanup_close_ int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct bench_rng rng = { b->seed };
	return dfd < 0 ? snap_error_set(err, negative_errno(), "bench: open %s: %m", path)
		       : bench_gen_tree(dfd, &rng, 100, 4096, err);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct commit_image_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	int r = make_rootfs(b, s->rootfs, sizeof(s->rootfs), err);
	if (r < 0)
		return r;
	const char *imp[] = { "import-rootfs", s->rootfs, BASE_IMAGE, NULL };
	if (bench_snapctl(b, env->root, env->driver, imp) != 0)
		return snap_error_set(err, -EIO, "bench: snapctl import-rootfs on %s failed", env->driver);
	return 0;
}

/* The base image as an OCI archive (snapctl export from a scratch vfs
 * root), made once in the work dir: what the peers load, so that they
 * commit over exactly the same layer. */
static int base_archive(struct bench_ctx *b, char *out, size_t len, struct snap_error *err)
{
	snprintf(out, len, "%s/commit-image-base.tar", b->work);
	char rootfs[4200] = "";
	int r = access(out, F_OK) == 0 ? 0 : make_rootfs(b, rootfs, sizeof(rootfs), err);
	const char *imp[] = { "import-rootfs", rootfs, BASE_IMAGE, NULL };
	return r < 0 ? r : wl_export_archive(b, "commit-image", imp, BASE_IMAGE, out, err);
}

static int commit_timed(struct bench_ctx *b, struct bench_env *env, const char *name, const char *compression,
			int runno, struct snap_error *err)
{
	char tag[96];
	snprintf(tag, sizeof(tag), "bench-commit-image-%s:%d", compression, runno + 1000);
	/* gzip is the default: no flag, so an older snapctl (SNAPCTL_EXE) can
	 * be measured on the same work. */
	const char *commit_gzip[] = { "commit", name, tag, NULL };
	const char *commit_other[] = { "commit", "--compression", compression, name, tag, NULL };
	const char *const *commit = strcmp(compression, "gzip") == 0 ? commit_gzip : commit_other;
	const char *rmi[] = { "rmi", "-f", tag, NULL };
	int64_t t = bench_now_ns();
	int r = bench_snapctl(b, env->root, env->driver, commit);
	double ms = bench_ms_since(t);
	bench_snapctl(b, env->root, env->driver, rmi);
	if (r != 0)
		return snap_error_set(err, -EIO, "bench: snapctl commit --compression %s on %s exited with %d",
				      compression, env->driver, r);
	char metric[128];
	snprintf(metric, sizeof(metric), METRIC_PREFIX "%s", compression);
	return bench_record(b, env, metric, "ms", ms);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	char name[64];
	snprintf(name, sizeof(name), "bench-commit-image-%d", runno + 1000);
	const char *runc[] = { "run", "--name", name, BASE_IMAGE, "/bin/sh", "-c", SCRIPT, NULL };
	const char *rm[] = { "rm", "-f", name, NULL };
	int r = bench_snapctl(b, env->root, env->driver, runc);
	if (r != 0) {
		bench_snapctl(b, env->root, env->driver, rm);
		return snap_error_set(err, -EIO, "bench: snapctl run on %s exited with %d", env->driver, r);
	}
	r = commit_timed(b, env, name, "gzip", runno, err);
	if (r == 0)
		r = commit_timed(b, env, name, "zstd", runno, err);
	bench_snapctl(b, env->root, env->driver, rm);
	return r;
}

/* The peers on the same work: a container of the same image runs the same
 * script, then the image-making step is timed: `podman commit` (podman's
 * whole command), and for containerd, whose ctr has no image commit, `ctr
 * snapshots diff` (diff of the container's snapshot against its parent,
 * written to the content store as a gzip layer: the part of a commit that
 * is the snapshotter's and the compressor's). */
int bench_peer_commit_image(struct bench_ctx *b, struct bench_env *env, int runno, struct snap_error *err)
{
	char archive[4200];
	int r = base_archive(b, archive, sizeof(archive), err);
	if (r < 0)
		return r;
	bool cd = strncmp(env->driver, "containerd-", 11) == 0;
	const char *img = BENCH_PEER_REF(BASE_IMAGE);
	if (runno == -b->warmup) {
		const char *cd_imp[] = { "images", "import", "--snapshotter", env->root, archive, NULL };
		const char *pm_load[] = { "load", "-q", "-i", archive, NULL };
		if ((r = bench_peer_exec(b, env, NULL, cd ? cd_imp : pm_load, NULL, 0, err)) < 0)
			return r;
	}
	char name[64], tag[96];
	snprintf(name, sizeof(name), "bench-commit-image-%d", runno + 1000);
	snprintf(tag, sizeof(tag), "bench-commit-image:%d", runno + 1000);
	const char *cd_run[] = { "run", "--snapshotter", env->root, "--net-host", img, name, "/bin/sh", "-c", SCRIPT,
				 NULL };
	const char *pm_run[] = { BENCH_PODMAN_RUN, "--name", name, img, "/bin/sh", "-c", SCRIPT, NULL };
	if ((r = bench_peer_exec(b, env, NULL, cd ? cd_run : pm_run, NULL, 0, err)) < 0)
		return r;
	const char *cd_diff[] = { "snapshots", "--snapshotter", env->root, "diff", name, NULL };
	const char *pm_commit[] = { "commit", "-q", name, tag, NULL };
	char out[256];
	r = bench_peer_exec(b, env, METRIC_GZIP, cd ? cd_diff : pm_commit, out, sizeof(out), err);
	struct snap_error e2 = { 0 };
	const char *cd_rm[] = { "containers", "rm", name, NULL };
	const char *pm_rm[] = { "rm", "-f", name, NULL };
	const char *pm_rmi[] = { "rmi", "-f", tag, NULL };
	bench_peer_exec(b, env, NULL, cd ? cd_rm : pm_rm, NULL, 0, &e2);
	if (!cd)
		bench_peer_exec(b, env, NULL, pm_rmi, NULL, 0, &e2);
	return r;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	const char *rmi[] = { "rmi", "-f", BASE_IMAGE, NULL };
	bench_snapctl(b, env->root, env->driver, rmi);
	free(state);
}

const struct bench_workload bench_wl_commit_image = {
	.name = "commit-image",
	.description = "commit a container that wrote 1,000 files, removed a dir and appended to a 100 MiB log",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.peers = true,
};
