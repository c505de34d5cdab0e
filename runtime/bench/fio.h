/* SPDX-License-Identifier: Apache-2.0 */
/* fio's jobs run against one directory (a mounted snapshot, a peer's
 * container root, the bare backing filesystem) and its JSON parsed into
 * bench results (fio.c). */
#ifndef SNAP_BENCH_FIO_H
#define SNAP_BENCH_FIO_H

#include "bench.h"

/* The files the jobs expect in a lower layer: lower.dat (read) and
 * lower-rw.dat (random writes: copy-up and CoW), fio_size bytes each. */
#define BENCH_FIO_LOWER "lower.dat"
#define BENCH_FIO_LOWER_RW "lower-rw.dat"
int bench_fio_fill_lower(int dirfd, const struct bench_ctx *b, struct snap_error *err);

/* Whether fio is installed; reason set if not. */
bool bench_fio_available(char *reason, size_t len);

/* Every job, one fio process each, against dir (which holds the lower
 * files); records MB/s or IOPS and p50/p99 latency per job for env.  The
 * files the jobs create are removed again; the lower files stay (with the
 * random writes in lower-rw.dat). */
int bench_fio_jobs(struct bench_ctx *b, struct bench_env *env, const char *dir, struct snap_error *err);

#endif
