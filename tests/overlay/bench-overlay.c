/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark of the overlay driver (not a test: run it by hand as root).
 *
 *   prepare / commit / remove    in-process, through the core (metadata +
 *                                driver) and through the driver alone
 *   mount+umount, 10 layers      driver mount (new API, or the fallback
 *                                under tests/overlay/no-fsopen) + umount2
 *   mount, 500 layers
 *   diff, 100 changes on a 50,000-file base: the fast diff (upper dir
 *                                only) and the core's generic walking diff,
 *                                change detection only and the whole layer
 *
 * Medians and 90th percentiles in milliseconds; on a loaded machine the
 * CPU-time lines tell what the operation costs without the waits.  Usage:
 *   bench-overlay [DIR [SECTION...]]
 * DIR: where to make the scratch roots (/var/tmp); SECTION: core, driver,
 * mount, diff (all by default).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "util/fs-util.h"
#include "layer/layer-internal.h"
#include "layer/layer.h"
#include "ovl-harness.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this thread (user + system): what the operation itself costs,
 * without the waits for a CPU on a loaded machine. */
static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dcmp);
	printf("%-44s median %8.3f ms   p90 %8.3f ms   (n=%d)\n", what, v[n / 2], v[(n * 9) / 10], n);
}

static void check(int r, const struct snap_error *e, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "bench-overlay: %s: %s\n", what, e->message);
		exit(1);
	}
}

/* ---- through the core ---- */

static void bench_core(const char *dir)
{
	char root[PATH_MAX];
	snprintf(root, sizeof(root), "%s/ovl-bench-core-XXXXXX", dir);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		exit(1);
	}
	struct snap_core_opts o = { .root = root, .driver = "overlay" };
	struct snap_core *core = NULL;
	struct snap_error e = { 0 };
	check(snap_core_open(&o, &core, &e), &e, "open core");
	check(snap_prepare(core, "base-a", NULL, NULL, NULL, &e), &e, "prepare base");
	check(snap_commit(core, "base", "base-a", NULL, &e), &e, "commit base");
	enum { N = 200 };
	static double p[N], c[N], r[N], pc[N], cc[N], rc[N];
	for (int i = 0; i < N; i++) {
		char a[32], n[32];
		snprintf(a, sizeof(a), "a%d", i);
		snprintf(n, sizeof(n), "c%d", i);
		double c0 = cpu_ms(), t0 = now_ms();
		check(snap_prepare(core, a, "base", NULL, NULL, &e), &e, "prepare");
		double t1 = now_ms(), c1 = cpu_ms();
		check(snap_commit(core, n, a, NULL, &e), &e, "commit");
		double c2 = cpu_ms(), t2 = now_ms();
		check(snap_remove(core, n, &e), &e, "remove");
		double t3 = now_ms(), c3 = cpu_ms();
		pc[i] = c1 - c0;
		cc[i] = c2 - c1;
		rc[i] = c3 - c2;
		p[i] = t1 - t0;
		c[i] = t2 - t1;
		r[i] = t3 - t2;
	}
	report("core prepare (child of a committed layer)", p, N);
	report("core commit", c, N);
	report("core remove", r, N);
	report("core prepare (CPU time)", pc, N);
	report("core commit (CPU time)", cc, N);
	report("core remove (CPU time)", rc, N);
	snap_core_close(core);
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snap_rm_children_at(fd);
	close(fd);
	rmdir(root);
}

/* ---- the driver alone ---- */

static void bench_driver_lifecycle(struct th *t)
{
	int base = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	th_commit(t, base);
	enum { N = 200 };
	static double p[N], c[N], r[N], pc[N], rc[N];
	struct snap_error e = { 0 };
	for (int i = 0; i < N; i++) {
		double c0 = cpu_ms(), t0 = now_ms();
		int s = th_create(t, SNAP_KIND_ACTIVE, base, NULL, NULL);
		double t1 = now_ms(), c1 = cpu_ms();
		check(t->drv->commit(t->state, &t->snaps[s].ref, &e), &e, "commit");
		double c2 = cpu_ms(), t2 = now_ms();
		check(t->drv->remove(t->state, &t->snaps[s].ref, &e), &e, "remove");
		double t3 = now_ms(), c3 = cpu_ms();
		pc[i] = c1 - c0;
		rc[i] = c3 - c2;
		rmdir(t->snaps[s].path);
		t->n--; /* reuse the slot */
		p[i] = t1 - t0;
		c[i] = t2 - t1;
		r[i] = t3 - t2;
	}
	report("driver create (incl. mkdir of snapshots/<id>)", p, N);
	report("driver commit", c, N);
	report("driver remove", r, N);
	report("driver create (CPU time)", pc, N);
	report("driver remove (CPU time)", rc, N);
}

static int chain(struct th *t, int n)
{
	int parent = -1;
	for (int i = 0; i < n; i++) {
		int s = th_create(t, SNAP_KIND_ACTIVE, parent, NULL, NULL);
		char name[32], *fs = th_fs(t, s, NULL);
		snprintf(name, sizeof(name), "f%d", i);
		th_write(fs, name, name);
		free(fs);
		th_commit(t, s);
		parent = s;
	}
	return th_create(t, SNAP_KIND_ACTIVE, parent, NULL, NULL);
}

static void bench_mounts(struct th *t)
{
	struct snap_error e = { 0 };
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "%.3000s/tmp/bench-mnt", t->root);
	mkdir(target, 0755);
	struct snap_chain ch;

	int top10 = chain(t, 10);
	enum { N = 100 };
	static double m[N], mo[N], um[N], mc[N];
	for (int i = 0; i < N; i++) {
		double t0 = now_ms(), c0 = cpu_ms();
		check(t->drv->mount(t->state, &t->snaps[top10].ref, th_chain(t, top10, &ch), target, 0, &e), &e,
		      "mount 10");
		double t1 = now_ms();
		if (umount2(target, 0) < 0) {
			perror("umount");
			exit(1);
		}
		m[i] = now_ms() - t0;
		mc[i] = cpu_ms() - c0;
		mo[i] = t1 - t0;
		um[i] = now_ms() - t1;
	}
	report("mount+umount, 10-layer chain", m, N);
	report("  of which mount", mo, N);
	report("  of which umount", um, N);
	report("mount+umount, 10-layer chain (CPU time)", mc, N);
	/* A lazy unmount need not wait for an RCU grace period (kernels
	 * with deferred MNT_DETACH). */
	for (int i = 0; i < N; i++) {
		double t0 = now_ms();
		check(t->drv->mount(t->state, &t->snaps[top10].ref, &ch, target, 0, &e), &e, "mount 10");
		if (umount2(target, MNT_DETACH) < 0) {
			perror("umount");
			exit(1);
		}
		m[i] = now_ms() - t0;
	}
	report("mount+umount(MNT_DETACH), 10-layer chain", m, N);

	int top500 = chain(t, 500);
	enum { M = 20 };
	static double m5[M], u5[M];
	for (int i = 0; i < M; i++) {
		double t0 = now_ms();
		check(t->drv->mount(t->state, &t->snaps[top500].ref, th_chain(t, top500, &ch), target, 0, &e), &e,
		      "mount 500");
		double t1 = now_ms();
		umount2(target, 0);
		m5[i] = t1 - t0;
		u5[i] = now_ms() - t1;
	}
	report("mount, 500-layer chain", m5, M);
	report("umount, 500-layer chain", u5, M);
	rmdir(target);
}

static int count_change(struct snap_change_sink *s, int kind, const char *path, int src)
{
	(*(long *)s->opaque)++;
	return 0;
}

static void bench_diff(struct th *t, int files)
{
	/* Base: `files` small files in dirs of 500. */
	int base = th_create(t, SNAP_KIND_ACTIVE, -1, NULL, NULL);
	char *fs = th_fs(t, base, NULL);
	for (int d = 0; d * 500 < files; d++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%.3000s/d%03d", fs, d);
		mkdir(p, 0755);
		for (int f = 0; f < 500 && d * 500 + f < files; f++) {
			char rel[64];
			snprintf(rel, sizeof(rel), "d%03d/f%03d", d, f);
			th_write(fs, rel, "content");
		}
	}
	free(fs);
	th_commit(t, base);
	int c = th_create(t, SNAP_KIND_ACTIVE, base, NULL, NULL);
	struct snap_error e = { 0 };
	int r;
	const char *m = th_mount(t, c, 0, &e, &r);
	check(r, &e, "mount child");
	/* 100 changes: 50 modified, 30 new, 20 deleted, spread over dirs. */
	for (int i = 0; i < 100; i++) {
		char rel[64], p[PATH_MAX];
		int d = (i * 7) % (files / 500);
		if (i < 50) {
			snprintf(rel, sizeof(rel), "d%03d/f%03d", d, i);
			th_write(m, rel, "modified content");
		} else if (i < 80) {
			snprintf(rel, sizeof(rel), "d%03d/new%03d", d, i);
			th_write(m, rel, "new");
		} else {
			snprintf(p, sizeof(p), "%s/d%03d/f%03d", m, d, i);
			unlink(p);
		}
	}
	char newp[PATH_MAX];
	snprintf(newp, sizeof(newp), "%s", m);
	int v = th_create(t, SNAP_KIND_VIEW, base, NULL, NULL);
	const char *old = th_mount(t, v, 0, &e, &r);
	check(r, &e, "mount parent view");
	int oldfd = open(old, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int newfd = open(newp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct snap_chain ch;
	th_chain(t, c, &ch);

	enum { N = 7 };
	double fast[N], gen[N], fastw[N], genw[N];
	long nf = 0, ng = 0;
	for (int i = 0; i < N; i++) {
		struct snap_change_sink s = { .opaque = &nf, .change = count_change };
		nf = 0;
		double t0 = now_ms();
		check(t->drv->diff(t->state, &t->snaps[c].ref, &ch, &s, &e), &e, "fast diff");
		fast[i] = now_ms() - t0;
		s.opaque = &ng;
		ng = 0;
		t0 = now_ms();
		check(snap_diff_trees(oldfd, newfd, t->snaps[c].ref.prepared_ns, &s, &e), &e, "generic diff");
		gen[i] = now_ms() - t0;

		int out = memfd_create("layer", MFD_CLOEXEC);
		struct snap_diff_collector *col = NULL;
		snap_diff_collector_new(newfd, oldfd, &col);
		t0 = now_ms();
		check(t->drv->diff(t->state, &t->snaps[c].ref, &ch, snap_diff_collector_sink(col), &e), &e, "fast");
		check(snap_diff_collector_write(col, out, SNAP_COMPRESS_NONE, NULL, &e), &e, "write");
		fastw[i] = now_ms() - t0;
		snap_diff_collector_free(col);
		close(out);
		out = memfd_create("layer", MFD_CLOEXEC);
		t0 = now_ms();
		check(snap_layer_diff_dirfd(oldfd, newfd, out, NULL, NULL, &e), &e, "generic layer");
		genw[i] = now_ms() - t0;
		close(out);
	}
	if (nf != ng)
		fprintf(stderr, "bench-overlay: change counts differ: fast %ld, generic %ld\n", nf, ng);
	char what[128];
	snprintf(what, sizeof(what), "fast diff, %ld changes / %d files", nf, files);
	report(what, fast, N);
	snprintf(what, sizeof(what), "generic diff, %ld changes / %d files", ng, files);
	report(what, gen, N);
	snprintf(what, sizeof(what), "fast diff + layer tar, %d files", files);
	report(what, fastw, N);
	snprintf(what, sizeof(what), "generic diff + layer tar, %d files", files);
	report(what, genw, N);
	printf("%-44s %.1fx\n", "fast vs generic (change detection)", gen[N / 2] / fast[N / 2]);
	close(oldfd);
	close(newfd);
	th_umount(t, newp);
	th_umount(t, old);
}

static bool want(int argc, char **argv, const char *section)
{
	if (argc <= 2)
		return true;
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], section) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	const char *why;
	if (!th_can_run(&why)) {
		fprintf(stderr, "bench-overlay: cannot run: %s\n", why);
		return 77;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("bench-overlay: private mount namespace");
		return 1;
	}
	printf("overlay driver benchmark (%s)\n", th_legacy() ? "new mount API blocked: mount(2) fallback"
							      : "new mount API where the kernel has it");
	if (want(argc, argv, "core"))
		bench_core(dir);
	struct th *t = th_new();
	if (want(argc, argv, "driver"))
		bench_driver_lifecycle(t);
	if (want(argc, argv, "mount"))
		bench_mounts(t);
	th_free(t);
	if (want(argc, argv, "diff")) {
		t = th_new();
		bench_diff(t, 5000);
		th_free(t);
		t = th_new();
		bench_diff(t, 50000);
		th_free(t);
	}
	return 0;
}
