/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl bench: run workloads on several drivers in one run, interleaving
 * the drivers run by run so that drift (page cache, thermal, other load)
 * hits all of them alike, and report median, p90, min, max and the ratio to
 * the fastest driver.  Results are also written as JSON (schema in
 * docs/bench-schema.json) and drawn as SVG/PNG charts with cairo.
 */
#ifndef SNAP_BENCH_H
#define SNAP_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Sizes of the generated data; "tiny" keeps every workload to a second or
 * so for the tests, "full" is what the figures use. */
struct bench_scale {
	const char *name;
	int chain_depth;          /* snapshot-ops: chain length */
	int unpack_small_files;   /* unpack: files of 0-16 KiB */
	int unpack_large_files;   /* unpack: number of large files */
	int64_t unpack_large_size;
	int commit_base_files;    /* commit: files in the base */
	int commit_changes[3];    /* commit: N changed files */
	int64_t copyup_size;      /* copy-up: size of the lower file */
	int chain_layers[4];      /* deep chains */
	int sharing_counts[3];    /* sharing: containers */
	int64_t read_size;        /* read throughput file size */
	/* fio (wl-fio.c): sequential file size, bytes of random I/O, fsync'd
	 * 4 KiB writes, files created and unlinked */
	int64_t fio_size, fio_rand_bytes;
	int fio_fsyncs, fio_files;
	/* cost curves, each list ending at the first 0: chain depths, changes
	 * on one base, base files under 10 changes, files of the generated
	 * images (0-64 KiB each), snapshots in a root */
	int curve_depths[8], curve_changes[8], curve_bases[8], curve_image_files[8], curve_snapshots[8];
	int shared_files; /* shared-disk: files of the imported image and of the commit */
};

extern const struct bench_scale bench_scale_tiny, bench_scale_small, bench_scale_full;

/* One driver (or peer) under test, with its own root. */
struct bench_env {
	const char *driver; /* "overlay", "btrfs", "vfs", or a peer like "containerd-overlayfs" */
	char *root;         /* WORK/<driver> */
	char *mnt;          /* WORK/<driver>-mnt, an empty directory to mount on */
	struct snap_core *core; /* NULL for peers */
	bool peer;
	bool reference;     /* the bare backing filesystem (no driver): workloads with .reference */
	bool failed;        /* a workload failed here: skipped for the rest of it */
	bool busybox_imported; /* BENCH_BUSYBOX_IMAGE is in this snapctl root */
	bool image_loaded;  /* peers: the busybox archive is in the peer's store */
	bool proc_base;     /* peers: snapshot-process's base snapshot is made */
	char skip_reason[SNAP_ERROR_MSG_MAX];
};

struct bench_ctx;

/* Record one sample (`value` in `unit`) of `metric` for env, with the
 * 1-minute load average of that moment beside it. */
int bench_record(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *unit,
		 double value);
/* The same for one point of a cost curve: `metric` measured at x (`x_label`
 * names it: "layers", "changes"); the points of one metric form the curve. */
int bench_record_x(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *unit,
		   const char *x_label, double x, double value);

struct bench_workload {
	const char *name;
	const char *description;
	/* Build the data this workload needs on env (outside the timing). */
	int (*setup)(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err);
	/* One measured run; records its samples through bench_record(). */
	int (*run)(struct bench_ctx *b, struct bench_env *env, void *state, int run,
		   struct snap_error *err);
	void (*teardown)(struct bench_ctx *b, struct bench_env *env, void *state);
	bool peers; /* peers (containerd, podman) can run it */
	bool reference; /* also run on the bare backing filesystem ("backing-fs") */
	int default_runs; /* 0: the global --runs */
};

extern const struct bench_workload bench_wl_snapshot_ops, bench_wl_unpack, bench_wl_start, bench_wl_start_pieces,
	bench_wl_commit, bench_wl_copyup, bench_wl_chain, bench_wl_sharing, bench_wl_read,
	bench_wl_snapshot_process, bench_wl_fio, bench_wl_curve_depth, bench_wl_curve_commit,
	bench_wl_curve_import, bench_wl_curve_snapshots, bench_wl_shared_disk,
	bench_wl_import_dirty, bench_wl_import_large, bench_wl_commit_image, bench_wl_idmap;

/* Every workload, in the order they run (bench.c). */
extern const struct bench_workload *const bench_all_workloads[];
extern const size_t bench_n_workloads;

struct bench_ctx {
	struct cli_ctx *cli;
	const struct bench_scale *scale;
	char *work;        /* work directory (removed at the end) */
	/* --fs: the filesystem made for the run and mounted on `work` */
	struct {
		const char *type; /* NULL without --fs */
		uint64_t size;
		bool direct_io;   /* its loop device does direct I/O */
	} fs;
	char *self_exe;    /* this snapctl binary, for `run` */
	uint64_t seed;
	int runs, warmup;
	struct bench_env *envs;
	size_t n_envs;
	struct bench_result *results;
	size_t n_results;
	const struct bench_workload *current;
	double load_start, load_end; /* 1-minute load average before and after; -1 unknown */
	volatile sig_atomic_t *interrupted;
};

/* Accumulated samples of one (workload, metric, driver[, x]). */
struct bench_result {
	char *workload, *metric, *unit, *driver;
	char *x_label; /* NULL unless a point of a curve */
	double x;
	double *v;
	double *load; /* the 1-minute load average at each sample */
	size_t n;
};
void bench_result_free(struct bench_result *r);
/* The 1-minute load average now (/proc/loadavg), or -1. */
double bench_loadavg(void);

/* A cost curve: the points (x, median) of one (workload, metric, driver)
 * and the slope of the least-squares line through (log x, log y): 0 is a
 * cost that does not grow, 1 one that grows linearly (curve.c). */
struct bench_curve_fit {
	double slope, intercept;
	size_t points;
};
int bench_curve_fit(const double *x, const double *y, size_t n, struct bench_curve_fit *out);
/* The points (x, median) of the curve `c` belongs to (same workload, metric
 * and x label) on `driver`, in x order, into xs/ys (room for b->n_results);
 * their count. */
size_t bench_curve_points(const struct bench_ctx *b, const struct bench_result *c, const char *driver, double *xs,
			  double *ys);
/* One chart per curve (workload, metric), drivers overlaid, log-log axes,
 * as DIR/<workload>-<metric>.svg and .png (curve-chart.c). */
int bench_write_curve_charts(struct bench_ctx *b, const char *dir, struct snap_error *err);

struct bench_stats {
	double median, p90, min, max, mean;
	size_t n;
};
void bench_stats_compute(const double *v, size_t n, struct bench_stats *out);
/* Whether smaller is better for a unit ("ms", "bytes") or larger ("MB/s"). */
bool bench_unit_lower_is_better(const char *unit);

/* Reports. */
void bench_print_table(struct bench_ctx *b, FILE *out);
int bench_write_json(struct bench_ctx *b, const char *path, struct snap_error *err);
int bench_write_chart(struct bench_ctx *b, const char *path, bool png, struct snap_error *err);

/* Fill b's drivers and results from a saved results document (load.c);
 * the env driver names are then allocated (freed by the caller). */
int bench_load_json(struct bench_ctx *b, const char *path, struct snap_error *err);

/* Deterministic data (gen.c). */
struct bench_rng {
	uint64_t s;
};
uint64_t bench_rng_next(struct bench_rng *r);
/* Create `files` files (0..max_size bytes, deterministic content) under
 * dirfd in a tree of subdirectories of ~100 entries each. */
int bench_gen_tree(int dirfd, struct bench_rng *rng, int files, int64_t max_size,
		   struct snap_error *err);
/* Write a file of `size` bytes of deterministic content. */
int bench_gen_file(int dirfd, const char *name, int64_t size, uint64_t seed, struct snap_error *err);
/* Write an OCI layer tar (gzip) of a generated tree to path. */
int bench_gen_layer(const char *path, uint64_t seed, int small_files, int large_files,
		    int64_t large_size, struct snap_error *err);

/* In a child the bench just forked (parent: the bench's pid before the
 * fork): get `sig` when the bench dies, even by SIGKILL, so that no
 * neighbour or daemon outlives a killed run (nor keeps its mount namespace,
 * and with it a --fs filesystem, alive).  _exit(1) when the bench is gone
 * already. */
void bench_child_dies_with(pid_t parent, int sig);
/* A busybox root filesystem directory (from busybox-static) under the work
 * dir, made once; wl-start.c. */
int bench_busybox_rootfs(struct bench_ctx *b, char *dir, size_t len, struct snap_error *err);
/* BENCH_BUSYBOX_IMAGE in env's root (snapctl import-rootfs), once. */
#define BENCH_BUSYBOX_IMAGE "bench-busybox:latest"
/* What containerd and podman call an image snapctl exported as NAME: the
 * full reference (snapctl writes docker's normalised names). */
#define BENCH_PEER_REF(name) "docker.io/library/" name
int bench_busybox_image(struct bench_ctx *b, struct bench_env *env, struct snap_error *err);
/* That image as an OCI archive (snapctl export), made once in the work dir:
 * what the peers and `snapctl import` unpack. */
int bench_busybox_archive(struct bench_ctx *b, char *out, size_t len, struct snap_error *err);
/* Run `snapctl --root ROOT --driver DRIVER -q ARGS...`; its exit status. */
int bench_snapctl(struct bench_ctx *b, const char *root, const char *driver, const char *const *args);
/* Unmount everything at or below dir, deepest first. */
void bench_unmount_below(const char *dir);

/* Peers (peers.c): containerd and podman on the workloads they can do. */
void bench_peers_add(struct bench_ctx *b, size_t cap);
void bench_peers_stop(struct bench_ctx *b);
int bench_peer_run(struct bench_ctx *b, struct bench_env *env, const char *workload, int run,
		   struct snap_error *err);
/* The peer's command (ctr or podman with env's private options) with args,
 * timed as `metric` unless NULL; its standard output into out if not NULL. */
int bench_peer_exec(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *const *args,
		    char *out, size_t len, struct snap_error *err);
/* A container of the busybox image writes one file, then the peer's
 * commit (podman commit; ctr snapshots diff) timed as `metric`. */
int bench_peer_commit(struct bench_ctx *b, struct bench_env *env, const char *metric, int run,
		      struct snap_error *err);
/* A directory on the filesystem of the peer's store (it exists). */
void bench_peer_store_dir(struct bench_env *env, char *out, size_t len);
/* The I/O and shared-disk workloads on a peer (peers-io.c). */
int bench_peer_fio(struct bench_ctx *b, struct bench_env *env, int run, struct snap_error *err);
int bench_peer_shared_disk(struct bench_ctx *b, struct bench_env *env, int run, struct snap_error *err);
/* commit-image, import-dirty and import-large on a peer (in those
 * workloads' files). */
int bench_peer_commit_image(struct bench_ctx *b, struct bench_env *env, int run, struct snap_error *err);
int bench_peer_import_dirty(struct bench_ctx *b, struct bench_env *env, int run, struct snap_error *err);
int bench_peer_import_large(struct bench_ctx *b, struct bench_env *env, int run, struct snap_error *err);
/* podman asks runc for nofile=1048576 and nproc=32768 by default, which a
 * root without CAP_SYS_RESOURCE (a container sandbox) may not set; lowering
 * a limit is always allowed, and the bench's containers need none of it. */
#define BENCH_PODMAN_RUN "run", "--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"

/* Timing helpers. */
int64_t bench_now_ns(void);
static inline double bench_ms_since(int64_t t0)
{
	return (double)(bench_now_ns() - t0) / 1e6;
}

/* Run a command (argv) and wait; returns its exit status or -errno.  Output
 * goes to /dev/null unless verbose. */
int bench_spawn(struct bench_ctx *b, char *const argv[]);

#endif
