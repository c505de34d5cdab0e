/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark (not a test) of the btrfs driver, in-process, on a loopback
 * image the driver provisions in a temporary root:
 *   - median prepare (create an active child of a committed snapshot),
 *     commit, remove;
 *   - the fast diff of a 100-file change against the generic walk, on a
 *     5,000-file and a 50,000-file base (the fast one should not grow).
 * Usage: bench-btrfs [files-in-big-base]   (default 50000)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "btrfs-test-util.h"
#include "drivers/btrfs/btrfs.h"
#include "layer/layer-internal.h"
#include "util/macro.h"
#include "tests/vfs/tree-util.h"

static const struct snap_driver *drv = &snap_btrfs_driver;
static void *st;
static char *root;
static uint64_t next_id;
static char paths[512][PATH_MAX];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define DIE(...)                                                                               \
	do {                                                                                   \
		fprintf(stderr, __VA_ARGS__);                                                  \
		fputc('\n', stderr);                                                           \
		if (root)                                                                      \
			btrfs_test_destroy_root(root);                                         \
		exit(1);                                                                       \
	} while (0)

static struct snap_ref mkref(int kind)
{
	uint64_t id = ++next_id;
	if (id >= 512)
		DIE("too many snapshots");
	snprintf(paths[id], sizeof(paths[id]), "%s/snapshots/%llu", root, (unsigned long long)id);
	if (mkdir(paths[id], 0700) < 0)
		DIE("mkdir %s: %s", paths[id], strerror(errno));
	return (struct snap_ref){ .id = id, .key = "bench", .path = paths[id], .kind = kind };
}

static int tree_of(const struct snap_ref *s)
{
	int fd;
	struct snap_error err = { 0 };
	if (drv->open_tree(st, s, &fd, &err) < 0)
		DIE("open_tree: %s", err.message);
	return fd;
}

static void create(struct snap_ref *s, struct snap_ref *parent)
{
	struct snap_chain chain = { .refs = parent, .n = parent ? 1 : 0 };
	struct snap_error err = { 0 };
	if (drv->create(st, s, &chain, &err) < 0)
		DIE("create: %s", err.message);
}

static void commit(struct snap_ref *s)
{
	struct snap_error err = { 0 };
	if (drv->commit(st, s, &err) < 0)
		DIE("commit: %s", err.message);
	s->kind = SNAP_KIND_COMMITTED;
}

static void remove_snap(struct snap_ref *s)
{
	struct snap_error err = { 0 };
	if (drv->remove(st, s, &err) < 0)
		DIE("remove: %s", err.message);
}

static void put(int dfd, const char *name, const char *s)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		DIE("write %s: %s", name, strerror(errno));
}

/* A committed base of `files` small files, 100 per directory. */
static struct snap_ref make_base(int files)
{
	struct snap_ref b = mkref(SNAP_KIND_ACTIVE);
	create(&b, NULL);
	_cleanup_close_ int fd = tree_of(&b);
	for (int i = 0; i < files; i++) {
		char n[64];
		if (i % 100 == 0) {
			snprintf(n, sizeof(n), "d%04d", i / 100);
			if (mkdirat(fd, n, 0755) < 0)
				DIE("mkdir: %s", strerror(errno));
		}
		snprintf(n, sizeof(n), "d%04d/f%02d", i / 100, i % 100);
		put(fd, n, n);
	}
	commit(&b);
	return b;
}

static int count_change(struct snap_change_sink *sink, int kind, const char *path, int fd)
{
	(*(uint64_t *)sink->opaque)++;
	return 0;
}

/* Change 100 files spread over the tree; time both diffs (3 runs each,
 * median), warm caches for both. */
static void bench_diff(struct snap_ref *base, int files, double *fast, double *generic,
		       uint64_t *n_fast, uint64_t *n_generic)
{
	struct snap_ref c = mkref(SNAP_KIND_ACTIVE);
	create(&c, base);
	_cleanup_close_ int cfd = tree_of(&c);
	_cleanup_close_ int bfd = tree_of(base);
	int dirs = files / 100;
	for (int i = 0; i < 100; i++) {
		char n[64];
		/* 100 changes: 60 rewrites, 20 new files, 20 deletions */
		int d = (i * 37) % dirs;
		if (i < 60)
			snprintf(n, sizeof(n), "d%04d/f%02d", d, i % 100), put(cfd, n, "changed");
		else if (i < 80)
			snprintf(n, sizeof(n), "d%04d/new%02d", d, i), put(cfd, n, "new");
		else if (snprintf(n, sizeof(n), "d%04d/f%02d", d, 99 - i % 100),
			 unlinkat(cfd, n, 0) < 0 && errno != ENOENT)
			DIE("unlink %s: %s", n, strerror(errno));
	}
	sync();
	double tf[3], tg[3];
	for (int k = 0; k < 3; k++) {
		uint64_t n = 0;
		struct snap_change_sink sink = { .opaque = &n, .change = count_change };
		struct snap_chain chain = { .refs = base, .n = 1 };
		struct snap_error err = { 0 };
		double t0 = now_ms();
		if (drv->diff(st, &c, &chain, &sink, &err) < 0)
			DIE("fast diff: %s", err.message);
		tf[k] = now_ms() - t0;
		*n_fast = n;

		n = 0;
		t0 = now_ms();
		if (snap_diff_trees(bfd, cfd, 0, &sink, &err) < 0)
			DIE("generic diff: %s", err.message);
		tg[k] = now_ms() - t0;
		*n_generic = n;
	}
	*fast = median(tf, 3);
	*generic = median(tg, 3);
	close(TAKE_FD(cfd));
	remove_snap(&c);
}

int main(int argc, char **argv)
{
	const char *why = btrfs_test_skip_reason();
	if (why) {
		fprintf(stderr, "skip: %s\n", why);
		return 77;
	}
	int big = argc > 1 ? atoi(argv[1]) : 50000;
	if (big < 1000)
		big = 1000;
	if (btrfs_test_private_ns() < 0) {
		fprintf(stderr, "skip: no private mount namespace\n");
		return 77;
	}
	root = tree_mkdtemp();
	struct snap_driver_opts opts = { .root = root, .btrfs_size = "4G" };
	struct snap_error err = { 0 };
	if (drv->open(&opts, &st, &err) < 0)
		DIE("open: %s", err.message);

	/* prepare / commit / remove on a small committed parent */
	struct snap_ref parent = make_base(1000);
	enum { N = 41 };
	double tp[N], tc[N], tr[N];
	for (int i = 0; i < N; i++) {
		struct snap_ref s = mkref(SNAP_KIND_ACTIVE);
		double t0 = now_ms();
		create(&s, &parent);
		tp[i] = now_ms() - t0;
		_cleanup_close_ int fd = tree_of(&s);
		put(fd, "d0000/written", "a container wrote this");
		close(TAKE_FD(fd));
		t0 = now_ms();
		commit(&s);
		tc[i] = now_ms() - t0;
		t0 = now_ms();
		remove_snap(&s);
		tr[i] = now_ms() - t0;
		if (rmdir(s.path) < 0)
			DIE("rmdir: %s", strerror(errno));
	}
	printf("btrfs prepare median: %.2f ms (target <= 5)\n", median(tp, N));
	printf("btrfs commit  median: %.2f ms (target <= 5)\n", median(tc, N));
	printf("btrfs remove  median: %.2f ms (target <= 10)\n", median(tr, N));

	int sizes[2] = { big / 10, big };
	for (int i = 0; i < 2; i++) {
		struct snap_ref base = make_base(sizes[i]);
		double fast, generic;
		uint64_t nf, ng;
		bench_diff(&base, sizes[i], &fast, &generic, &nf, &ng);
		printf("diff of 100 changes on a %d-file base: fast %.2f ms (%llu changes), "
		       "generic walk %.2f ms (%llu changes): %.1fx\n",
		       sizes[i], fast, (unsigned long long)nf, generic, (unsigned long long)ng,
		       generic / fast);
		remove_snap(&base);
	}
	drv->close(st);
	btrfs_test_destroy_root(root);
	free(root);
	return 0;
}
