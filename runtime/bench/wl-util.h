/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the workloads. */
#ifndef SNAP_BENCH_WL_UTIL_H
#define SNAP_BENCH_WL_UTIL_H

#include "bench.h"

/* OUT, an OCI archive of IMAGE for the peers, made once: `snapctl
 * IMPORT_ARGS...` into a scratch vfs root under the work dir, then `snapctl
 * export IMAGE OUT`; the scratch root is removed either way.  what names the
 * workload in the error. */
int wl_export_archive(struct bench_ctx *b, const char *what, const char *const *import_args, const char *image,
		      const char *out, struct snap_error *err);
/* Prepare KEY on PARENT (may be NULL) and mount it on env->mnt. */
int wl_prepare_mounted(struct bench_env *env, const char *key, const char *parent, struct snap_error *err);
/* Unmount env->mnt. */
int wl_unmount(struct bench_env *env, struct snap_error *err);
/* A committed snapshot NAME holding what fill() writes into the mounted tree. */
int wl_make_committed(struct bench_env *env, const char *name, const char *parent,
		      int (*fill)(int dirfd, void *arg, struct snap_error *err), void *arg,
		      struct snap_error *err);
/* A chain of committed snapshots PREFIX-0 .. PREFIX-(n-1), each layer
 * holding one small file of its own; *made counts those made (for
 * wl_chain_remove, also after a failure or ^C). */
int wl_chain_make(struct bench_ctx *b, struct bench_env *env, const char *prefix, int n, int *made,
		  struct snap_error *err);
/* Remove the first `made` snapshots of the chain, top first. */
void wl_chain_remove(struct bench_env *env, const char *prefix, int made);
/* A base tree for the commit workloads: `files` generated files (seeded by
 * b->seed) and a `log_bytes` large.log to append to; wl_make_committed's
 * fill with a struct wl_base argument. */
struct wl_base {
	const struct bench_ctx *b;
	int files;
	int log_bytes;
};
int wl_fill_base(int dirfd, void *arg, struct snap_error *err);
/* Remove snapshots best-effort (teardown). */
void wl_remove_quiet(struct bench_env *env, const char *key);
/* Open env->mnt as a directory fd. */
int wl_open_mnt(struct bench_env *env, struct snap_error *err);
/* Bytes used on the filesystem holding path (after syncfs). */
int64_t wl_fs_used(const char *path);
/* Whether ROOT/snapshots is a filesystem of its own (the btrfs driver's
 * loopback); its path in dir either way. */
bool wl_snapshots_own_fs(struct bench_env *env, char *dir, size_t len);
/* Disk used by env's snapshots: the private filesystem's used bytes, or the
 * blocks of the files under the root when it shares the host's. */
int64_t wl_disk_used(struct bench_env *env);
/* N changes in a mounted base of `base` files made by bench_gen_tree plus
 * large.log: a quarter new files, a quarter modified, the rest deleted,
 * one append to large.log (wl-commit.c). */
int wl_change_files(int dfd, int n, int base, struct snap_error *err);
/* The commit workloads' step: prepare KEY on BASE and mount it, change N
 * of its BASE_FILES files (wl_change_files), unmount, then diff and commit
 * it, timed (diff alone, and diff+commit); the committed snapshot and, on a
 * failure, KEY are removed again. */
int wl_change_commit(struct bench_env *env, const char *key, const char *base, int n, int base_files,
		     double *diff_ms, double *total_ms, struct snap_error *err);
/* A generated one-layer image of `files` files (0-64 KiB each) as an OCI
 * archive WORK/curve-image-FILES.tar, made once per bench run
 * (wl-curve-import.c). */
int bench_image_archive(struct bench_ctx *b, int files, char *out, size_t len, struct snap_error *err);
/* Drop the page cache so reads come from the disk (root only). */
void wl_drop_caches(void);
/* syncfs of the filesystem holding directory `dir` (ignoring errors): what a
 * workload writes out between runs so that no timed run pays for the last. */
void wl_settle(const char *dir);

#endif
