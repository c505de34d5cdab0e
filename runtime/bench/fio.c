/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fio jobs through a driver's mounted tree, one after the other in one fio
 * process, its JSON (--output-format=json) read with jansson:
 *
 *   seq write        1 MiB writes to a new file, end_fsync      MB/s
 *   seq read         1 MiB reads of the lower file, cache dropped MB/s
 *   rand read 4k     of the lower file, cache dropped            IOPS
 *   rand write 4k    into the other lower file: overlay copies it
 *                    up at fio's open, btrfs CoWs each block, vfs
 *                    writes in place; end_fsync                  IOPS
 *   fsync write 4k   each write followed by fsync                IOPS
 *   file create      empty files (fio's filecreate engine)       IOPS
 *   file unlink      the same files (filedelete)                 IOPS
 *
 * and p50 and p99 completion latency of each (of the fsync for the fsync
 * job) in microseconds.  fio opens its files before its clock starts, so the
 * copy-up overlay does at that open is timed here, before fio runs: an
 * open for writing of the lower file ("copy-up at open", ms); the rand
 * write figures then include the end_fsync, which on overlay also writes
 * back the copied-up file.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fio.h"
#include "util/fs-util.h"
#include "util/macro.h"

int bench_fio_fill_lower(int dirfd, const struct bench_ctx *b, struct snap_error *err)
{
	int r = bench_gen_file(dirfd, BENCH_FIO_LOWER, b->scale->fio_size, b->seed, err);
	return r < 0 ? r : bench_gen_file(dirfd, BENCH_FIO_LOWER_RW, b->scale->fio_size, b->seed + 1, err);
}

bool bench_fio_available(char *reason, size_t len)
{
	static const char *const dirs[] = { "/usr/bin/fio", "/usr/local/bin/fio", "/bin/fio" };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (access(dirs[i], X_OK) == 0)
			return true;
	snprintf(reason, len, "fio not installed (scripts/setup.sh installs it)");
	return false;
}

enum fio_kind { FIO_BW, FIO_IOPS, FIO_FSYNC };

struct fio_job {
	const char *name; /* metric prefix */
	enum fio_kind kind;
	const char *args[8];
};

/* Percentile `p` ("50.000000") of a lat object, in microseconds; -1 if absent. */
static double percentile_us(json_t *lat, const char *p)
{
	json_t *v = json_object_get(json_object_get(lat, "percentile"), p);
	return json_is_number(v) ? json_number_value(v) / 1000.0 : -1;
}

static int record_job(struct bench_ctx *b, struct bench_env *env, const struct fio_job *job, json_t *j,
		      struct snap_error *err)
{
	/* filecreate and filedelete account their operations as reads. */
	json_t *rd = json_object_get(j, "read"), *wr = json_object_get(j, "write");
	json_t *sec = json_integer_value(json_object_get(wr, "total_ios")) > 0 ? wr : rd;
	if (json_integer_value(json_object_get(sec, "total_ios")) <= 0)
		return snap_error_set(err, -EINVAL, "bench fio: %s: no I/O in fio's report", job->name);
	char metric[128];
	int r;
	if (job->kind == FIO_BW) {
		snprintf(metric, sizeof(metric), "%s, bandwidth", job->name);
		r = bench_record(b, env, metric, "MB/s",
				 (double)json_integer_value(json_object_get(sec, "bw_bytes")) / 1e6);
	} else {
		snprintf(metric, sizeof(metric), "%s, IOPS", job->name);
		r = bench_record(b, env, metric, "IOPS", json_number_value(json_object_get(sec, "iops")));
	}
	json_t *lat = job->kind == FIO_FSYNC ? json_object_get(json_object_get(j, "sync"), "lat_ns")
					     : json_object_get(sec, "clat_ns");
	static const char *const pct[][2] = { { "50.000000", "p50" }, { "99.000000", "p99" } };
	for (size_t i = 0; i < ELEMENTSOF(pct) && r >= 0; i++) {
		double us = percentile_us(lat, pct[i][0]);
		if (us < 0)
			continue;
		snprintf(metric, sizeof(metric), "%s, %s latency%s", job->name, pct[i][1],
			 job->kind == FIO_FSYNC ? " (fsync)" : "");
		r = bench_record(b, env, metric, "us", us);
	}
	return r;
}

/* All jobs in one fio process, one after the other (stonewall); fio's
 * option values hold no user input: sizes and names made here. */
static int run_jobs(struct bench_ctx *b, struct bench_env *env, const char *dir, const struct fio_job *jobs,
		    size_t n_jobs, struct snap_error *err)
{
	char out[4200], outarg[4300], dirarg[4200], seed[48];
	snprintf(out, sizeof(out), "%s/fio-%s.json", b->work, env->driver);
	snprintf(outarg, sizeof(outarg), "--output=%s", out);
	snprintf(dirarg, sizeof(dirarg), "--directory=%s", dir);
	snprintf(seed, sizeof(seed), "--randseed=%llu", (unsigned long long)b->seed);
	char *argv[128] = { "fio", "--output-format=json", outarg, dirarg, seed };
	size_t n = 5;
	_cleanup_free_ char *names = calloc(n_jobs, 16);
	if (!names)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	for (size_t i = 0; i < n_jobs; i++) {
		snprintf(names + 16 * i, 16, "--name=job%zu", i);
		argv[n++] = names + 16 * i;
		argv[n++] = "--stonewall";
		for (size_t k = 0; k < ELEMENTSOF(jobs[i].args) && jobs[i].args[k] && n < ELEMENTSOF(argv) - 1; k++)
			argv[n++] = (char *)jobs[i].args[k];
	}
	argv[n] = NULL;
	unlink(out);
	int r = bench_spawn(b, argv);
	if (r != 0)
		return snap_error_set(err, -EIO, "bench fio: fio in %s exited with %d", dir, r);
	json_error_t jerr;
	json_t *doc = json_load_file(out, 0, &jerr);
	unlink(out);
	if (!doc)
		return snap_error_set(err, -EINVAL, "bench fio: %s: line %d: %s", out, jerr.line, jerr.text);
	json_t *arr = json_object_get(doc, "jobs");
	if (json_array_size(arr) != n_jobs)
		r = snap_error_set(err, -EINVAL, "bench fio: %zu jobs in fio's report, %zu run",
				   json_array_size(arr), n_jobs);
	for (size_t i = 0; i < n_jobs && r >= 0; i++)
		r = record_job(b, env, &jobs[i], json_array_get(arr, i), err);
	json_decref(doc);
	return r;
}

/* Open for writing (and close) of the lower file that takes the random
 * writes: overlay's copy-up, nothing elsewhere. */
static int copy_up_at_open(struct bench_ctx *b, struct bench_env *env, const char *dir, struct snap_error *err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(err, negative_errno(), "bench fio: open %s: %m", dir);
	int64_t t = bench_now_ns();
	int fd = openat(dfd, BENCH_FIO_LOWER_RW, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "bench fio: open %s/%s for writing: %m", dir,
				      BENCH_FIO_LOWER_RW);
	close(fd);
	return bench_record(b, env, "rand write 4k (lower file), copy-up at open", "ms", bench_ms_since(t));
}

int bench_fio_jobs(struct bench_ctx *b, struct bench_env *env, const char *dir, struct snap_error *err)
{
	const struct bench_scale *s = b->scale;
	char size[48], rand_bytes[48], fsync_size[48], files[48];
	snprintf(size, sizeof(size), "--size=%lld", (long long)s->fio_size);
	snprintf(rand_bytes, sizeof(rand_bytes), "--io_size=%lld", (long long)s->fio_rand_bytes);
	snprintf(fsync_size, sizeof(fsync_size), "--size=%lld", (long long)s->fio_fsyncs * 4096);
	snprintf(files, sizeof(files), "--nrfiles=%d", s->fio_files);
	const struct fio_job jobs[] = {
		{ "seq write", FIO_BW, { "--rw=write", "--bs=1M", size, "--filename=seq.dat", "--end_fsync=1" } },
		{ "seq read", FIO_BW, { "--rw=read", "--bs=1M", size, "--filename=" BENCH_FIO_LOWER, "--invalidate=1" } },
		{ "rand read 4k", FIO_IOPS,
		  { "--rw=randread", "--bs=4k", size, rand_bytes, "--filename=" BENCH_FIO_LOWER, "--invalidate=1" } },
		{ "rand write 4k (lower file)", FIO_IOPS,
		  { "--rw=randwrite", "--bs=4k", size, rand_bytes, "--filename=" BENCH_FIO_LOWER_RW, "--end_fsync=1" } },
		{ "fsync write 4k", FIO_FSYNC, { "--rw=write", "--bs=4k", fsync_size, "--fsync=1", "--filename=fsync.dat" } },
		{ "file create", FIO_IOPS,
		  { "--ioengine=filecreate", files, "--filesize=4k", "--openfiles=1", "--filename_format=small.$filenum" } },
		{ "file unlink", FIO_IOPS,
		  { "--ioengine=filedelete", files, "--filesize=4k", "--openfiles=1", "--filename_format=small.$filenum" } },
	};
	int r = copy_up_at_open(b, env, dir, err);
	if (r == 0)
		r = run_jobs(b, env, dir, jobs, ELEMENTSOF(jobs), err);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		unlinkat(dfd, "seq.dat", 0);
		unlinkat(dfd, "fsync.dat", 0);
		for (int i = 0; i < s->fio_files; i++) {
			char name[32];
			snprintf(name, sizeof(name), "small.%d", i);
			unlinkat(dfd, name, 0);
		}
	}
	return r;
}
