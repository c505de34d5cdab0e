/* SPDX-License-Identifier: Apache-2.0 */
/* Workload: import beside a dirty writer.  `snapctl import` of a
 * Debian-sized image (3 gzip layers, ~9.4k entries, ~186 MiB unpacked, as
 * debian:12) into an empty root, once on a quiet filesystem and once while
 * another process keeps >= 1 GiB dirty on the filesystem of the root's
 * snapshots (it rewrites an unnamed file in a loop, never syncing).  A
 * durability that flushes the whole filesystem (syncfs) pays for the
 * writer's pages; one that flushes only what the import wrote does not.
 * Between the two, the control: the same import beside a neighbour that
 * holds as much clean page cache.  It costs what the dirty neighbour's
 * memory costs and nothing of its writeback, so dirty against clean is
 * the durability's share and clean against quiet the memory's. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "wl-image.h"
#include "wl-util.h"

#define IMAGE_NAME "bench-debian-sized:latest"

/* debian:12 is 3 layers in this bench's notes; the files are the bench's
 * generated ones (0-16 KiB, random, so gzip cannot shrink them much).
 * 3 x (3,100 files + 31 directories) ~ 9.4k entries; ~ 76 MiB of small
 * files + 112 MiB of large ones ~ 188 MiB. */
static const struct wl_layer_shape debian_sized[3] = {
	{ 3100, 1, 64 << 20 },
	{ 3100, 1, 32 << 20 },
	{ 3100, 1, 16 << 20 },
};
static const struct wl_layer_shape tiny[3] = {
	{ 100, 1, 1 << 20 },
	{ 100, 0, 0 },
	{ 50, 0, 0 },
};

struct dirty_state {
	struct wl_image_root ir; /* the image's layout, the import's own root */
	int64_t dirty_bytes;
};

static bool is_tiny(const struct bench_ctx *b)
{
	return strcmp(b->scale->name, "tiny") == 0;
}

static struct wl_image image(const struct bench_ctx *b)
{
	return (struct wl_image){ "debian-sized", IMAGE_NAME, is_tiny(b) ? tiny : debian_sized, 3 };
}

static int64_t meminfo_dirty(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	char line[256];
	long long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Dirty: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* The neighbours' data: random, and every 4 KiB page stamped with its
 * offset and pass, so that nothing below the filesystem (a host that
 * compresses or deduplicates a VM's disk) writes it back for less than
 * its size, as it could the one repeated byte used until 2026-12-06. */
static void fill_chunk(char *buf, size_t len, struct bench_rng *rng, int64_t off, uint64_t pass)
{
	if (pass == 0 && off == 0)
		for (size_t i = 0; i + 8 <= len; i += 8) {
			uint64_t v = bench_rng_next(rng);
			memcpy(buf + i, &v, 8);
		}
	for (size_t i = 0; i + 16 <= len; i += 4096) {
		int64_t page = off + (int64_t)i;
		memcpy(buf + i, &page, 8);
		memcpy(buf + i + 8, &pass, 8);
	}
}

/* The neighbour: rewrites an unnamed file of `bytes` on the filesystem of
 * dirfd in a loop, never syncing, as fast as the kernel writes it back:
 * it pauses while the kernel counts `bytes` dirty and writes again when
 * writeback brings it below.  So about `bytes` stay dirty for the whole
 * import at the cost of little CPU: the import competes with its dirty
 * pages, not with a spinning neighbour.  (Until 2026-12-06 it paused only
 * above `bytes` + 16 MiB, which its own file cannot reach: it spun on a
 * core, rewriting pages already dirty.)  Returns once the kernel counts
 * `bytes` dirty (waiting at most 30 s), with the count in *ret_dirty;
 * killed by the parent. */
static pid_t start_writer(int dirfd, int64_t bytes, int64_t *ret_dirty, struct snap_error *err)
{
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "bench: O_TMPFILE for the dirty writer: %m");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		return snap_error_set(err, negative_errno(), "bench: fork: %m");
	}
	if (pid == 0) {
		bench_child_dies_with(parent, SIGKILL);
		static char buf[1 << 20];
		struct bench_rng rng = { 0x6e656967 };
		for (uint64_t pass = 0;; pass++)
			for (int64_t off = 0; off < bytes; off += (int64_t)sizeof(buf)) {
				if ((off >> 20) % 16 == 0)
					while (meminfo_dirty() >= bytes)
						usleep(20 * 1000);
				fill_chunk(buf, sizeof(buf), &rng, off, pass);
				if (pwrite(fd, buf, sizeof(buf), off) < 0)
					_exit(1);
			}
	}
	close(fd);
	/* The kernel counts every dirty page; the neighbour's are the bulk. */
	int64_t dirty = 0;
	for (int i = 0; i < 600 && (dirty = meminfo_dirty()) < bytes; i++)
		usleep(50 * 1000);
	if (ret_dirty)
		*ret_dirty = dirty;
	return pid;
}

/* The control: a neighbour holding `bytes` of clean page cache (an unnamed
 * file written, fdatasync'd and kept open) on the filesystem of dirfd,
 * doing nothing else.  It takes the same memory as the dirty writer's
 * pages but gives writeback nothing to do, so an import slower beside it
 * than quiet is paying for memory (on a VM that returns freed pages to
 * its host, first touches of them), not for the neighbour's durability.
 * Returns once the file is synced; killed by the parent. */
static pid_t start_holder(int dirfd, int64_t bytes, struct snap_error *err)
{
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "bench: O_TMPFILE for the clean neighbour: %m");
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		int r = snap_error_set(err, negative_errno(), "bench: pipe: %m");
		close(fd);
		return r;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int r = snap_error_set(err, negative_errno(), "bench: fork: %m");
		close(fd);
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		bench_child_dies_with(parent, SIGKILL);
		static char buf[1 << 20];
		struct bench_rng rng = { 0x686f6c64 };
		for (int64_t off = 0; off < bytes; off += (int64_t)sizeof(buf)) {
			fill_chunk(buf, sizeof(buf), &rng, off, 0);
			if (pwrite(fd, buf, sizeof(buf), off) < 0)
				_exit(1);
		}
		if (fdatasync(fd) < 0 || write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fd);
	close(p[1]);
	char c;
	ssize_t n = read(p[0], &c, 1);
	close(p[0]);
	if (n != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return snap_error_set(err, -EIO, "bench: the clean neighbour could not write and sync %lld MiB",
				      (long long)(bytes >> 20));
	}
	return pid;
}

static void stop_neighbour(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct dirty_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	s->dirty_bytes = is_tiny(b) ? 64 << 20 : (int64_t)1 << 30;
	struct wl_image img = image(b);
	return wl_image_root_make(b, env, &img, "import-dirty", &s->ir, err);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	struct dirty_state *s = state;
	double quiet_ms, dirty_ms;
	int r = wl_image_import(b, env, &s->ir, IMAGE_NAME, &quiet_ms, err);
	if (r < 0)
		return r;
	char snaps[4400];
	snprintf(snaps, sizeof(snaps), "%s/snapshots", s->ir.root);
	_cleanup_close_ int dfd = open(snaps, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(err, negative_errno(), "bench: open %s: %m", snaps);
	double clean_ms;
	pid_t pid = start_holder(dfd, s->dirty_bytes, err);
	if (pid < 0)
		return pid;
	r = wl_image_import(b, env, &s->ir, IMAGE_NAME, &clean_ms, err);
	stop_neighbour(pid);
	if (r < 0)
		return r;
	int64_t dirty = 0;
	pid = start_writer(dfd, s->dirty_bytes, &dirty, err);
	if (pid < 0)
		return pid;
	r = wl_image_import(b, env, &s->ir, IMAGE_NAME, &dirty_ms, err);
	int64_t dirty_after = meminfo_dirty();
	stop_neighbour(pid);
	if (r < 0)
		return r;
	char metric[128];
	bench_record(b, env, "Debian-sized import, quiet", "ms", quiet_ms);
	snprintf(metric, sizeof(metric), "Debian-sized import, %lld MiB dirty", (long long)(s->dirty_bytes >> 20));
	bench_record(b, env, metric, "ms", dirty_ms);
	snprintf(metric, sizeof(metric), "Debian-sized import, %lld MiB clean", (long long)(s->dirty_bytes >> 20));
	bench_record(b, env, metric, "ms", clean_ms);
	/* What the kernel counted dirty when the import started and ended. */
	bench_record(b, env, "dirty at start", "bytes", (double)dirty);
	return bench_record(b, env, "dirty at end", "bytes", (double)dirty_after);
}

/* The same two imports on a peer, the writer on the filesystem of the
 * peer's store. */
int bench_peer_import_dirty(struct bench_ctx *b, struct bench_env *env, int runno, struct snap_error *err)
{
	(void)runno;
	char archive[4200], dir[4200];
	struct wl_image img = image(b);
	int r = wl_image_archive(b, "import-dirty", &img, archive, sizeof(archive), err);
	if (r < 0)
		return r;
	int64_t bytes = is_tiny(b) ? 64 << 20 : (int64_t)1 << 30;
	if ((r = wl_image_peer_import(b, env, archive, IMAGE_NAME, "Debian-sized import, quiet", err)) < 0)
		return r;
	bench_peer_store_dir(env, dir, sizeof(dir));
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(err, negative_errno(), "bench: open %s: %m", dir);
	char metric[128];
	snprintf(metric, sizeof(metric), "Debian-sized import, %lld MiB clean", (long long)(bytes >> 20));
	pid_t pid = start_holder(dfd, bytes, err);
	if (pid < 0)
		return pid;
	r = wl_image_peer_import(b, env, archive, IMAGE_NAME, metric, err);
	stop_neighbour(pid);
	if (r < 0)
		return r;
	if ((pid = start_writer(dfd, bytes, NULL, err)) < 0)
		return pid;
	snprintf(metric, sizeof(metric), "Debian-sized import, %lld MiB dirty", (long long)(bytes >> 20));
	r = wl_image_peer_import(b, env, archive, IMAGE_NAME, metric, err);
	stop_neighbour(pid);
	return r;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	struct dirty_state *s = state;
	if (s)
		wl_image_root_remove(&s->ir);
	free(s);
}

const struct bench_workload bench_wl_import_dirty = {
	.name = "import-dirty",
	.description = "import a Debian-sized image quiet, beside 1 GiB of clean page cache, then beside a writer keeping 1 GiB dirty",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.peers = true,
};
