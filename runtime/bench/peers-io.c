/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The I/O and shared-disk workloads on the peers.
 *
 * fio: the peers' containers have no fio, so, as for snapctl's drivers, the
 * host's fio runs against the container's root filesystem mounted by the
 * peer itself: `podman create` + `podman mount` (the merged directory), and
 * for containerd `ctr containers create` (its snapshot) + the mount command
 * `ctr snapshots mounts` prints.  The image is the bench's fio image (the
 * busybox rootfs and the two lower files), exported by snapctl.
 *
 * shared-disk: import of the same generated archive as snapctl's drivers,
 * and committing a container that wrote one file (podman commit; ctr
 * snapshots diff), quiet and while the dirty writer writes into a directory
 * on the filesystem of the peer's store.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirty-writer.h"
#include "fio.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "wl-util.h"

#define FIO_IMAGE "bench-fio:latest"

static bool is_containerd(const struct bench_env *env)
{
	return strncmp(env->driver, "containerd-", 11) == 0;
}

/* WORK/fio-oci.tar: the busybox rootfs plus the lower files, made once. */
static int fio_archive(struct bench_ctx *b, char *out, size_t len, struct snap_error *err)
{
	snprintf(out, len, "%s/fio-oci.tar", b->work);
	if (access(out, F_OK) == 0)
		return 0;
	char busybox[4200], tree[4200], root[4200], src[4300];
	int r = bench_busybox_rootfs(b, busybox, sizeof(busybox), err);
	if (r < 0)
		return r;
	snprintf(tree, sizeof(tree), "%s/fio-rootfs", b->work);
	snprintf(root, sizeof(root), "%s/fio-image-root", b->work);
	snprintf(src, sizeof(src), "%s/.", busybox);
	char *cp[] = { "cp", "-a", src, tree, NULL };
	if (snap_mkdir_p(tree, 0755) < 0 || bench_spawn(b, cp) != 0)
		return snap_error_set(err, -EIO, "bench fio: copy %s to %s failed", busybox, tree);
	_cleanup_close_ int dfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(err, negative_errno(), "bench fio: open %s: %m", tree);
	if ((r = bench_fio_fill_lower(dfd, b, err)) < 0)
		return r;
	const char *imp[] = { "import-rootfs", tree, FIO_IMAGE, NULL };
	const char *exp[] = { "export", FIO_IMAGE, out, NULL };
	if ((r = bench_snapctl(b, root, "vfs", imp)) != 0 || (r = bench_snapctl(b, root, "vfs", exp)) != 0) {
		unlink(out);
		return snap_error_set(err, -EIO, "bench fio: making %s: snapctl exited with %d", out, r);
	}
	snap_rm_children_at(dfd);
	rmdir(tree);
	return 0;
}

static int fio_containerd(struct bench_ctx *b, struct bench_env *env, const char *name, struct snap_error *err)
{
	char mnt[4200];
	snprintf(mnt, sizeof(mnt), "%s/peer-fio-mnt", b->work);
	if (snap_mkdir_p(mnt, 0755) < 0)
		return snap_error_set(err, negative_errno(), "bench fio: mkdir %s: %m", mnt);
	const char *create[] = { "containers", "create", "--snapshotter", env->root, BENCH_PEER_REF(FIO_IMAGE), name,
				 NULL };
	int r = bench_peer_exec(b, env, NULL, create, NULL, 0, err);
	if (r < 0)
		return r;
	/* `ctr snapshots mounts TARGET KEY` prints the mount(8) command line. */
	char cmd[16384];
	const char *mounts[] = { "snapshots", "--snapshotter", env->root, "mounts", mnt, name, NULL };
	r = bench_peer_exec(b, env, NULL, mounts, cmd, sizeof(cmd), err);
	if (r == 0) {
		char *sh[] = { "sh", "-c", cmd, NULL };
		int q = bench_spawn(b, sh);
		if (q != 0)
			r = snap_error_set(err, -EIO, "%s: mounting the container's snapshot failed (%d)", env->driver, q);
	}
	if (r == 0) {
		r = bench_fio_jobs(b, env, mnt, err);
		bench_unmount_below(mnt);
	}
	struct snap_error e2 = { 0 };
	const char *rm[] = { "containers", "rm", name, NULL };
	bench_peer_exec(b, env, NULL, rm, NULL, 0, &e2);
	return r;
}

static int fio_podman(struct bench_ctx *b, struct bench_env *env, const char *name, struct snap_error *err)
{
	const char *create[] = { "create", "--name", name, BENCH_PEER_REF(FIO_IMAGE), "/bin/true", NULL };
	int r = bench_peer_exec(b, env, NULL, create, NULL, 0, err);
	if (r < 0)
		return r;
	char path[4200];
	const char *mount[] = { "mount", name, NULL };
	r = bench_peer_exec(b, env, NULL, mount, path, sizeof(path), err);
	if (r == 0) {
		path[strcspn(path, "\n")] = '\0';
		r = path[0] == '/' ? bench_fio_jobs(b, env, path, err)
				   : snap_error_set(err, -EIO, "%s: podman mount printed no path", env->driver);
	}
	struct snap_error e2 = { 0 };
	const char *umount[] = { "umount", name, NULL };
	const char *rm[] = { "rm", "-f", name, NULL };
	bench_peer_exec(b, env, NULL, umount, NULL, 0, &e2);
	bench_peer_exec(b, env, NULL, rm, NULL, 0, &e2);
	return r;
}

int bench_peer_fio(struct bench_ctx *b, struct bench_env *env, int runno, struct snap_error *err)
{
	char reason[128], archive[4200];
	if (!bench_fio_available(reason, sizeof(reason)))
		return snap_error_set(err, -ENOENT, "bench fio: %s", reason);
	int r = fio_archive(b, archive, sizeof(archive), err);
	if (r < 0)
		return r;
	/* Loaded on the first run; the image stays for the others. */
	if (runno == -b->warmup) {
		const char *cd[] = { "images", "import", "--snapshotter", env->root, archive, NULL };
		const char *pm[] = { "load", "-q", "-i", archive, NULL };
		if ((r = bench_peer_exec(b, env, NULL, is_containerd(env) ? cd : pm, NULL, 0, err)) < 0)
			return r;
	}
	char name[64];
	snprintf(name, sizeof(name), "bench-fio-%d", runno + 1000);
	return is_containerd(env) ? fio_containerd(b, env, name, err) : fio_podman(b, env, name, err);
}

static int import_once(struct bench_ctx *b, struct bench_env *env, const char *archive, const char *metric,
		       struct snap_error *err)
{
	char name[128];
	snprintf(name, sizeof(name), BENCH_PEER_REF("curve-image-%d:latest"), b->scale->shared_files);
	const char *cd_imp[] = { "images", "import", "--snapshotter", env->root, archive, NULL };
	const char *cd_rm[] = { "images", "rm", "--sync", name, NULL };
	const char *pm_imp[] = { "load", "-q", "-i", archive, NULL };
	const char *pm_rm[] = { "rmi", "-f", name, NULL };
	bool cd = is_containerd(env);
	int r = bench_peer_exec(b, env, metric, cd ? cd_imp : pm_imp, NULL, 0, err);
	struct snap_error e2 = { 0 };
	bench_peer_exec(b, env, NULL, cd ? cd_rm : pm_rm, NULL, 0, &e2);
	return r;
}

/* The last sample recorded for metric on env (just recorded). */
static double last_sample(struct bench_ctx *b, struct bench_env *env, const char *metric)
{
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		if (!strcmp(r->workload, b->current->name) && !strcmp(r->metric, metric) &&
		    !strcmp(r->driver, env->driver) && r->n && !r->x_label)
			return r->v[r->n - 1];
	}
	return -1;
}

int bench_peer_shared_disk(struct bench_ctx *b, struct bench_env *env, int runno, struct snap_error *err)
{
	char archive[4200], dir[4200];
	int r = bench_image_archive(b, b->scale->shared_files, archive, sizeof(archive), err);
	if (r < 0)
		return r;
	bench_peer_store_dir(env, dir, sizeof(dir));
	sync();
	if ((r = import_once(b, env, archive, "import, quiet", err)) < 0 ||
	    (r = bench_peer_commit(b, env, "commit container (1 file), quiet", runno, err)) < 0)
		return r;
	struct bench_dirty_writer w;
	int64_t wrap = b->scale->fio_size > (64 << 20) ? b->scale->fio_size : 64 << 20;
	if ((r = bench_dirty_writer_start(&w, dir, wrap, err)) < 0)
		return r;
	r = import_once(b, env, archive, "import, busy disk", err);
	if (r == 0)
		r = bench_peer_commit(b, env, "commit container (1 file), busy disk", runno, err);
	double writer = bench_dirty_writer_stop(&w);
	sync();
	if (r < 0)
		return r;
	static const char *const ops[] = { "import", "commit container (1 file)" };
	for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
		char quiet[96], busy[96], ratio[128];
		snprintf(quiet, sizeof(quiet), "%s, quiet", ops[i]);
		snprintf(busy, sizeof(busy), "%s, busy disk", ops[i]);
		snprintf(ratio, sizeof(ratio), "%s slowdown (busy / quiet)", ops[i]);
		double q = last_sample(b, env, quiet), s = last_sample(b, env, busy);
		if (q > 0 && s > 0)
			bench_record(b, env, ratio, "ratio", s / q);
	}
	if (writer > 0)
		bench_record(b, env, "writer's throughput meanwhile", "MB/s", writer);
	return 0;
}
