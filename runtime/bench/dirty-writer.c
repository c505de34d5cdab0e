/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dirty-writer.h"
#include "util/macro.h"

#define CHUNK (1 << 20)
#define SYNC_EVERY ((int64_t)32 << 20)

static _Noreturn void writer_main(const char *path, int64_t wrap, volatile uint64_t *written)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char *buf = malloc(CHUNK);
	if (fd < 0 || !buf)
		_exit(1);
	struct bench_rng rng = { 0x5eed };
	for (size_t i = 0; i + 8 <= CHUNK; i += 8) {
		uint64_t v = bench_rng_next(&rng);
		memcpy(buf + i, &v, 8);
	}
	for (int64_t off = 0, since_sync = 0;;) {
		if (pwrite(fd, buf, CHUNK, off) != CHUNK)
			_exit(1);
		buf[0]++; /* no two chunks alike */
		off = off + CHUNK >= wrap ? 0 : off + CHUNK;
		since_sync += CHUNK;
		if (since_sync >= SYNC_EVERY) {
			fdatasync(fd);
			since_sync = 0;
		}
		__atomic_add_fetch(written, CHUNK, __ATOMIC_RELAXED);
	}
}

int bench_dirty_writer_start(struct bench_dirty_writer *w, const char *dir, int64_t wrap, struct snap_error *err)
{
	*w = (struct bench_dirty_writer){ .pid = -1 };
	snprintf(w->path, sizeof(w->path), "%s/dirty-writer.dat", dir);
	void *shared = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return snap_error_set(err, negative_errno(), "bench: dirty writer: mmap: %m");
	w->written = shared;
	*w->written = 0;
	if (wrap < CHUNK)
		wrap = CHUNK;
	pid_t parent = getpid();
	w->pid = fork();
	if (w->pid < 0) {
		int r = snap_error_set(err, negative_errno(), "bench: dirty writer: fork: %m");
		munmap(shared, sizeof(uint64_t));
		w->written = NULL;
		return r;
	}
	if (w->pid == 0) {
		bench_child_dies_with(parent, SIGKILL);
		writer_main(w->path, wrap, w->written);
	}
	w->started_ns = bench_now_ns();
	/* Busy means past the first fdatasync: poll for it, generously
	 * bounded (a loaded disk may take long), and give up if it died. */
	uint64_t want = (uint64_t)(wrap < SYNC_EVERY ? wrap : SYNC_EVERY) + CHUNK;
	for (int i = 0; i < 12000; i++) {
		if (__atomic_load_n(w->written, __ATOMIC_RELAXED) >= want)
			return 0;
		int st;
		if (waitpid(w->pid, &st, WNOHANG) == w->pid) {
			w->pid = -1;
			bench_dirty_writer_stop(w);
			return snap_error_set(err, -EIO, "bench: dirty writer in %s exited", dir);
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	bench_dirty_writer_stop(w);
	return snap_error_set(err, -ETIMEDOUT, "bench: dirty writer in %s wrote less than %llu bytes in 120 s", dir,
			      (unsigned long long)want);
}

double bench_dirty_writer_stop(struct bench_dirty_writer *w)
{
	double mbs = -1;
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
		double s = (double)(bench_now_ns() - w->started_ns) / 1e9;
		mbs = s > 0 ? (double)*w->written / 1e6 / s : -1;
	}
	w->pid = -1;
	if (w->written)
		munmap((void *)w->written, sizeof(uint64_t));
	w->written = NULL;
	if (w->path[0])
		unlink(w->path);
	w->path[0] = '\0';
	return mbs;
}
