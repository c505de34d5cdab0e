/* SPDX-License-Identifier: Apache-2.0 */
/* A background process that keeps a filesystem busy the way running
 * containers on the same disk do: buffered writes that leave dirty pages
 * for writeback, and an fdatasync every few MiB.  Shared by the workloads
 * that measure an operation on a busy disk against a quiet one. */
#ifndef SNAP_BENCH_DIRTY_WRITER_H
#define SNAP_BENCH_DIRTY_WRITER_H

#include <stdint.h>
#include <sys/types.h>

#include "bench.h"

struct bench_dirty_writer {
	pid_t pid;
	volatile uint64_t *written; /* bytes written so far (shared with the child) */
	int64_t started_ns;
	char path[4200];
};

/* Start writing DIR/dirty-writer.dat (1 MiB writes, fdatasync every 32 MiB,
 * back to offset 0 after `wrap` bytes) and return once the writer has
 * written its first fdatasync'd 32 MiB (or `wrap`), so that the disk is
 * busy when the caller measures.  The child dies with the bench. */
int bench_dirty_writer_start(struct bench_dirty_writer *w, const char *dir, int64_t wrap, struct snap_error *err);

/* Stop it (SIGKILL), remove its file; the writer's mean MB/s since start, or
 * -1 if it was not running. */
double bench_dirty_writer_stop(struct bench_dirty_writer *w);

#endif
