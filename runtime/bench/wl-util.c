/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "layer/layer.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "wl-util.h"

int wl_prepare_mounted(struct bench_env *env, const char *key, const char *parent, struct snap_error *err)
{
	int r = snap_prepare(env->core, key, parent, NULL, NULL, err);
	if (r < 0)
		return r;
	r = snap_mount_at(env->core, key, env->mnt, 0, err);
	if (r < 0)
		wl_remove_quiet(env, key);
	return r;
}

int wl_unmount(struct bench_env *env, struct snap_error *err)
{
	return snap_unmount_at(env->mnt, err);
}

int wl_open_mnt(struct bench_env *env, struct snap_error *err)
{
	int fd = open(env->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "bench: open %s: %m", env->mnt);
	return fd;
}

int wl_make_committed(struct bench_env *env, const char *name, const char *parent,
		      int (*fill)(int dirfd, void *arg, struct snap_error *err), void *arg,
		      struct snap_error *err)
{
	char key[256];
	snprintf(key, sizeof(key), "%s-active", name);
	int r = wl_prepare_mounted(env, key, parent, err);
	if (r < 0)
		return r;
	int fd = wl_open_mnt(env, err);
	r = fd < 0 ? fd : fill(fd, arg, err);
	if (fd >= 0)
		close(fd);
	struct snap_error uerr = { 0 };
	int q = wl_unmount(env, &uerr);
	if (r >= 0 && q < 0) {
		*err = uerr;
		r = q;
	}
	if (r >= 0)
		r = snap_commit(env->core, name, key, NULL, err);
	if (r < 0)
		wl_remove_quiet(env, key);
	return r;
}

static int chain_fill(int dirfd, void *arg, struct snap_error *err)
{
	int i = *(int *)arg;
	char name[64];
	snprintf(name, sizeof(name), "layer-%04d", i);
	return bench_gen_file(dirfd, name, 512, (uint64_t)i, err);
}

int wl_chain_make(struct bench_ctx *b, struct bench_env *env, const char *prefix, int n, int *made,
		  struct snap_error *err)
{
	for (int i = 0; i < n; i++) {
		/* Hundreds of layers take a while on vfs: stop early on ^C. */
		if (*b->interrupted)
			return snap_error_set(err, -EINTR, "bench: interrupted");
		char name[64], parent[64];
		snprintf(name, sizeof(name), "%s-%d", prefix, i);
		snprintf(parent, sizeof(parent), "%s-%d", prefix, i - 1);
		int r = wl_make_committed(env, name, i ? parent : NULL, chain_fill, &i, err);
		if (r < 0)
			return r;
		(*made)++;
	}
	return 0;
}

void wl_chain_remove(struct bench_env *env, const char *prefix, int made)
{
	for (int i = made - 1; i >= 0; i--) {
		char name[64];
		snprintf(name, sizeof(name), "%s-%d", prefix, i);
		wl_remove_quiet(env, name);
	}
}

int wl_fill_base(int dirfd, void *arg, struct snap_error *err)
{
	const struct wl_base *a = arg;
	struct bench_rng rng = { a->b->seed };
	int r = bench_gen_tree(dirfd, &rng, a->files, 4096, err);
	return r < 0 ? r : bench_gen_file(dirfd, "large.log", (uint64_t)a->log_bytes, a->b->seed, err);
}

void wl_remove_quiet(struct bench_env *env, const char *key)
{
	struct snap_error err = { 0 };
	snap_remove(env->core, key, &err);
}

bool wl_snapshots_own_fs(struct bench_env *env, char *dir, size_t len)
{
	snprintf(dir, len, "%s/snapshots", env->root);
	struct stat a, b;
	return stat(env->root, &a) == 0 && stat(dir, &b) == 0 && a.st_dev != b.st_dev;
}

/* Bytes allocated to the files below dir (one walk, not crossing mounts);
 * a file with several links counts its share per link, so a tree holding
 * all its links counts it once. */
static int64_t du_total;
static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	du_total += (int64_t)st->st_blocks * 512 / (st->st_nlink ? (int64_t)st->st_nlink : 1);
	return 0;
}

int64_t wl_disk_used(struct bench_env *env)
{
	char dir[4200];
	if (wl_snapshots_own_fs(env, dir, sizeof(dir)))
		return wl_fs_used(dir);
	/* On a filesystem shared with the rest of the machine, free-space
	 * deltas pick up everyone's writes: count the root's own blocks. */
	du_total = 0;
	if (nftw(env->root, du_one, 64, FTW_PHYS | FTW_MOUNT) < 0)
		return -1;
	return du_total;
}

void wl_settle(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		syncfs(fd);
}

int64_t wl_fs_used(const char *path)
{
	wl_settle(path);
	struct statvfs st;
	if (statvfs(path, &st) < 0)
		return -1;
	return (int64_t)(st.f_blocks - st.f_bfree) * (int64_t)st.f_frsize;
}

void wl_drop_caches(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "3\n", 2) < 0) {
			/* not root or not allowed: warm reads are measured instead */
		}
		close(fd);
	}
}

int wl_change_commit(struct bench_env *env, const char *key, const char *base, int n, int base_files,
		     double *diff_ms, double *total_ms, struct snap_error *err)
{
	char name[160];
	snprintf(name, sizeof(name), "%s-done", key);
	int r = wl_prepare_mounted(env, key, base, err);
	if (r < 0)
		return r;
	int dfd = wl_open_mnt(env, err);
	r = dfd < 0 ? dfd : wl_change_files(dfd, n, base_files, err);
	if (dfd >= 0)
		close(dfd);
	struct snap_error uerr = { 0 };
	wl_unmount(env, &uerr);
	_cleanup_close_ int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct snap_diff_opts opts = { .compression = SNAP_COMPRESS_NONE };
	int64_t t = bench_now_ns();
	if (r == 0)
		r = snap_layer_diff_fd(env->core, key, out, &opts, NULL, err);
	*diff_ms = bench_ms_since(t);
	if (r == 0)
		r = snap_commit(env->core, name, key, NULL, err);
	*total_ms = bench_ms_since(t);
	if (r < 0) {
		wl_remove_quiet(env, key);
		return r;
	}
	wl_remove_quiet(env, name);
	return 0;
}

int wl_export_archive(struct bench_ctx *b, const char *what, const char *const *import_args, const char *image,
		      const char *out, struct snap_error *err)
{
	if (access(out, F_OK) == 0)
		return 0;
	char root[4200];
	snprintf(root, sizeof(root), "%s/export-root", b->work);
	const char *exp[] = { "export", image, out, NULL };
	int r = bench_snapctl(b, root, "vfs", import_args);
	if (r == 0)
		r = bench_snapctl(b, root, "vfs", exp);
	snap_rm_rf_at(AT_FDCWD, root);
	if (r != 0) {
		unlink(out);
		return snap_error_set(err, -EIO, "bench %s: making %s: snapctl exited with %d", what, out, r);
	}
	return 0;
}
