/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-process timings of the snapshotter's operations on a small tree:
 * prepare, mounts+mount+umount, commit, remove; median, p90, min and max.
 *
 * "core" is what the core adds over the driver's own filesystem work: the
 * operation's time minus the time spent inside driver methods (the
 * driver-call wrappers count it per thread, see snap_drv_time_ns) and, for
 * the mount row, minus mount(2)/umount(2) themselves.  "metadata" is that
 * minus the core's own directory syscalls (mkdir, flock, rmdir and the
 * close that evicts a removed directory, snap_core_dir_time_ns), i.e. the
 * sqlite store and the bookkeeping.  The target is a median of at most
 * 0.3 ms per operation.
 *
 * A benchmark, not a test: it prints figures and asserts nothing.
 *   bench-snapshot-ops [--driver NAME] [--iterations N] [--files N] [--root DIR]
 * Mounting needs root (and is best run inside `unshare -m`); without it the
 * mount row is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core-internal.h"
#include "core.h"
#include "snapshot/driver-call.h"
#include "util/fs-util.h"
#include "util/macro.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct series {
	const char *name;
	uint64_t *total;
	uint64_t *core;
	uint64_t *meta;
	size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e6;
}

static void print_row(const char *label, uint64_t *v, size_t n)
{
	printf("  %-30s median %8.3f  p90 %8.3f  min %8.3f  max %8.3f ms\n", label, pct(v, n, 0.5),
	       pct(v, n, 0.9), pct(v, n, 0.0), pct(v, n, 1.0));
}

static void report(struct series *s)
{
	if (s->n == 0) {
		printf("%s: skipped\n", s->name);
		return;
	}
	printf("%s (n=%zu)\n", s->name, s->n);
	print_row("total", s->total, s->n);
	print_row("core (total - driver)", s->core, s->n);
	print_row("metadata (core - dir syscalls)", s->meta, s->n);
}

static void die(const char *what, const struct snap_error *err)
{
	fprintf(stderr, "bench-snapshot-ops: %s: %s\n", what, err->message);
	exit(1);
}

/* The small tree: `files` files of 4 KiB in 8 directories. */
static void fill_tree(int dirfd, int files)
{
	char buf[4096];
	memset(buf, 'b', sizeof(buf));
	for (int d = 0; d < 8; d++) {
		char name[32];
		snprintf(name, sizeof(name), "dir%d", d);
		if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
			perror("mkdir");
			exit(1);
		}
	}
	for (int i = 0; i < files; i++) {
		char name[64];
		snprintf(name, sizeof(name), "dir%d/file%d", i % 8, i);
		int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || snap_write_all(fd, buf, sizeof(buf)) < 0) {
			perror("write");
			exit(1);
		}
		close(fd);
	}
}

static void add(struct series *s, uint64_t total, uint64_t core, uint64_t dirs)
{
	s->total[s->n] = total;
	s->core[s->n] = core;
	s->meta[s->n] = core > dirs ? core - dirs : 0;
	s->n++;
}

int main(int argc, char **argv)
{
	const char *driver = "vfs";
	const char *root_arg = NULL;
	int iterations = 50, files = 64;
	static const struct option longopts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "files", required_argument, NULL, 'f' },
		{ "root", required_argument, NULL, 'r' },
		{ 0 },
	};
	for (int c; (c = getopt_long(argc, argv, "d:n:f:r:", longopts, NULL)) != -1;) {
		switch (c) {
		case 'd':
			driver = optarg;
			break;
		case 'n':
			iterations = atoi(optarg);
			break;
		case 'f':
			files = atoi(optarg);
			break;
		case 'r':
			root_arg = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [--driver NAME] [--iterations N] [--files N] [--root DIR]\n", argv[0]);
			return 2;
		}
	}
	if (iterations < 1 || iterations > 100000 || files < 0) {
		fprintf(stderr, "bench-snapshot-ops: bad --iterations or --files\n");
		return 2;
	}

	char tmpl[4096];
	const char *tmp = getenv("TMPDIR");
	snprintf(tmpl, sizeof(tmpl), "%s/snapctl-bench-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
	if (!root_arg && !mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	const char *root = root_arg ? root_arg : tmpl;

	struct snap_error err = { 0 };
	struct snap_core_opts opts = { .root = root, .driver = driver };
	struct snap_core *core = NULL;
	if (snap_core_open(&opts, &core, &err) < 0)
		die("open", &err);

	/* The base: a committed snapshot holding the small tree. */
	if (snap_prepare(core, "bench-base-active", NULL, NULL, NULL, &err) < 0)
		die("prepare base", &err);
	int tfd = -1;
	if (snap_core_open_tree(core, "bench-base-active", &tfd, &err) < 0)
		die("open base tree", &err);
	fill_tree(tfd, files);
	close(tfd);
	if (snap_commit(core, "bench-base", "bench-base-active", NULL, &err) < 0)
		die("commit base", &err);

	bool can_mount = geteuid() == 0;
	char target[4200];
	snprintf(target, sizeof(target), "%s/bench-mnt", root);
	if (can_mount && mkdir(target, 0755) < 0 && errno != EEXIST)
		can_mount = false;

	size_t n = (size_t)iterations;
	struct series s[4] = {
		{ .name = "prepare" },
		{ .name = "mounts + mount + umount" },
		{ .name = "commit" },
		{ .name = "remove" },
	};
	for (int i = 0; i < 4; i++) {
		s[i].total = calloc(n, sizeof(uint64_t));
		s[i].core = calloc(n, sizeof(uint64_t));
		s[i].meta = calloc(n, sizeof(uint64_t));
		if (!s[i].total || !s[i].core || !s[i].meta)
			return 1;
	}

	for (size_t i = 0; i < n; i++) {
		char key[64], name[64];
		snprintf(key, sizeof(key), "bench-active-%zu", i);
		snprintf(name, sizeof(name), "bench-committed-%zu", i);

		uint64_t d0 = snap_drv_time_ns(), f0 = snap_core_dir_time_ns(), t0 = now_ns();
		if (snap_prepare(core, key, "bench-base", NULL, NULL, &err) < 0)
			die("prepare", &err);
		uint64_t t1 = now_ns(), d1 = snap_drv_time_ns(), f1 = snap_core_dir_time_ns();
		add(&s[0], t1 - t0, (t1 - t0) - (d1 - d0), f1 - f0);

		if (can_mount) {
			/* Metadata of the mount path is the core's lookup and
			 * the mount list: snap_mounts_get minus the driver.
			 * The mount itself is timed in the total. */
			struct snap_mounts m = { 0 };
			d0 = snap_drv_time_ns();
			t0 = now_ns();
			if (snap_mounts_get(core, key, &m, &err) < 0)
				die("mounts", &err);
			uint64_t tm = now_ns();
			d1 = snap_drv_time_ns();
			snap_mounts_done(&m);
			uint64_t meta = (tm - t0) - (d1 - d0);
			if (snap_mount_at(core, key, target, 0, &err) < 0) {
				fprintf(stderr, "bench-snapshot-ops: mount skipped: %s\n", err.message);
				can_mount = false;
			} else if (snap_unmount_at(target, &err) < 0) {
				die("unmount", &err);
			} else {
				add(&s[1], now_ns() - t0, meta, 0);
			}
		}

		d0 = snap_drv_time_ns();
		f0 = snap_core_dir_time_ns();
		t0 = now_ns();
		if (snap_commit(core, name, key, NULL, &err) < 0)
			die("commit", &err);
		t1 = now_ns();
		d1 = snap_drv_time_ns();
		f1 = snap_core_dir_time_ns();
		add(&s[2], t1 - t0, (t1 - t0) - (d1 - d0), f1 - f0);
	}
	for (size_t i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "bench-committed-%zu", i);
		uint64_t d0 = snap_drv_time_ns(), f0 = snap_core_dir_time_ns(), t0 = now_ns();
		if (snap_remove(core, name, &err) < 0)
			die("remove", &err);
		uint64_t t1 = now_ns(), d1 = snap_drv_time_ns(), f1 = snap_core_dir_time_ns();
		add(&s[3], t1 - t0, (t1 - t0) - (d1 - d0), f1 - f0);
	}

	printf("snapshot operations on %s, %d files of 4 KiB, %d iterations, root %s\n",
	       snap_core_driver_name(core), files, iterations, snap_core_root(core));
	for (int i = 0; i < 4; i++)
		report(&s[i]);
	printf("target: metadata median <= 0.300 ms per operation\n");

	snap_remove(core, "bench-base", &err);
	snap_core_close(core);
	if (!root_arg) {
		int fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			snap_rm_children_at(fd);
			close(fd);
		}
		rmdir(tmpl);
	}
	for (int i = 0; i < 4; i++) {
		free(s[i].total);
		free(s[i].core);
		free(s[i].meta);
	}
	return 0;
}
