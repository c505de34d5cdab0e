/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parallel gzip in pigz's manner, over zlib (compress.h says why the bytes
 * do not depend on the thread count).  The caller's thread fills 128 KiB
 * blocks, worker threads deflate them, the caller's thread hands the
 * results on in order.  Each block is a raw deflate (windowBits -15) primed
 * with the 32 KiB of input before it (deflateSetDictionary), so matches
 * reach back across blocks as in one stream, and ends with Z_SYNC_FLUSH,
 * whose empty stored block leaves the next block's bits byte-aligned; the
 * last block ends with Z_FINISH.  The gzip trailer's CRC is the blocks'
 * CRCs joined with crc32_combine.  Memory: (2 * threads + 2) blocks in
 * flight, ~0.5 MiB each.
 *
 * The default level deflates each block with ISA-L's igzip at its level 1
 * where snapctl is built with it (HAVE_ISAL): on this 2-core VM a commit's
 * compression took about half the time of zlib's level 6, for a blob ~6 %
 * larger (docs/core.md, "Commit").  igzip has the same raw-deflate,
 * dictionary and sync-flush operations, so the block scheme is unchanged.
 * Its bytes depend only on the input, like zlib's, within one build; they
 * may differ between CPUs (igzip picks its hash code by CPU features) and
 * library versions, as zlib's differ between its versions: the digest is
 * computed over the bytes written, so it is always right.  An explicit
 * level (1-9) uses zlib.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "config.h"
#if HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif

#include "layer/compress.h"
#include "util/macro.h"

/* A block's CRC-32 (gzip's), joined later with crc32_combine.  ISA-L's
 * carry-less-multiply CRC where built with it: zlib's took 8 % of a worker's
 * time in a commit, ISA-L's the same bytes at a fraction (docs/core.md). */
static uLong block_crc(const unsigned char *p, size_t len)
{
#if HAVE_ISAL
	return crc32_gzip_refl(0, p, (uint64_t)len);
#else
	return crc32_z(0L, p, len);
#endif
}

#define GZ_BLOCK (128u << 10)
#define GZ_DICT (32u << 10)

/* Read and written under the mutex, except JOB_FREE, which only the
 * caller's thread sets (no worker looks at a job it did not take). */
enum job_state { JOB_FREE, JOB_QUEUED, JOB_DONE };

struct gz_job {
	unsigned char *in; /* GZ_DICT of dictionary room, then GZ_BLOCK of data */
	size_t dict_len, len;
	unsigned char *out;
	size_t out_len, out_cap;
	uLong crc;
	bool last;
	int error; /* -errno */
	enum job_state state;
};

struct gz {
	struct compressor base;
	int level;
	bool isal; /* deflate with igzip level 1 (the default level, HAVE_ISAL) */
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	pthread_t *threads;
	unsigned n_threads;
	struct gz_job *jobs;
	size_t n_jobs;
	uint64_t fill_seq;  /* the job being filled */
	uint64_t work_seq;  /* next job a worker takes */
	uint64_t submitted; /* jobs handed to the workers */
	uint64_t out_seq;   /* next job whose output goes out */
	bool stop;
	bool filling; /* the caller's thread has a job at fill_seq */
	unsigned char tail[GZ_DICT]; /* the last GZ_DICT bytes of input so far */
	size_t tail_len;
	uLong crc;
	uint64_t total;
	bool started, finished;
	int error;
};

static struct gz_job *job_at(struct gz *g, uint64_t seq)
{
	return &g->jobs[seq % g->n_jobs];
}

/* Make room for `need` bytes of output in the job's buffer. */
static int job_reserve(struct gz_job *j, size_t need)
{
	if (j->out_cap >= need)
		return 0;
	unsigned char *n = realloc(j->out, need);
	if (!n)
		return -ENOMEM;
	j->out = n;
	j->out_cap = need;
	return 0;
}

/* A worker's deflater: zlib at the asked level, or igzip (g->isal). */
struct deflater {
	bool ready;
	z_stream z;
#if HAVE_ISAL
	struct isal_zstream is;
	uint8_t *level_buf;
#endif
};

static int zlib_job(z_stream *s, struct gz_job *j)
{
	if (deflateReset(s) != Z_OK)
		return -EINVAL;
	if (j->dict_len && deflateSetDictionary(s, j->in + GZ_DICT - j->dict_len, (uInt)j->dict_len) != Z_OK)
		return -EINVAL;
	int r = job_reserve(j, deflateBound(s, (uLong)j->len) + 64);
	if (r < 0)
		return r;
	s->next_in = j->in + GZ_DICT;
	s->avail_in = (uInt)j->len;
	s->next_out = j->out;
	s->avail_out = (uInt)j->out_cap;
	int flush = j->last ? Z_FINISH : Z_SYNC_FLUSH;
	r = deflate(s, flush);
	/* deflateBound covers the block and the flush marker: one call does. */
	if ((j->last && r != Z_STREAM_END) || (!j->last && (r != Z_OK || s->avail_in != 0 || s->avail_out == 0)))
		return -EIO;
	j->out_len = j->out_cap - s->avail_out;
	return 0;
}

#if HAVE_ISAL
static int isal_job(struct deflater *d, struct gz_job *j)
{
	struct isal_zstream *s = &d->is;
	isal_deflate_reset(s);
	if (j->dict_len && isal_deflate_set_dict(s, j->in + GZ_DICT - j->dict_len, (uint32_t)j->dict_len) != COMP_OK)
		return -EINVAL;
	s->next_in = j->in + GZ_DICT;
	s->avail_in = (uint32_t)j->len;
	s->end_of_stream = j->last;
	s->flush = j->last ? NO_FLUSH : SYNC_FLUSH;
	/* igzip has no deflateBound: start with the block's size plus a
	 * stored block's overhead and grow until it has flushed all
	 * (the end state for the last block, the next block's header state
	 * after a sync flush: igzip_lib.h's documented test). */
	size_t done = 0;
	for (size_t cap = j->len + j->len / 16 + 1024;; cap *= 2) {
		int r = job_reserve(j, cap);
		if (r < 0)
			return r;
		s->next_out = j->out + done;
		s->avail_out = (uint32_t)(j->out_cap - done);
		if (isal_deflate(s) != COMP_OK)
			return -EIO;
		done = j->out_cap - s->avail_out;
		enum isal_zstate_state st = s->internal_state.state;
		if (s->avail_in == 0 && (j->last ? st == ZSTATE_END : st == ZSTATE_NEW_HDR))
			break;
	}
	j->out_len = done;
	return 0;
}
#endif

static int deflater_init(struct deflater *d, int level, bool isal)
{
#if HAVE_ISAL
	if (isal) {
		d->level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
		if (!d->level_buf)
			return -ENOMEM;
		isal_deflate_init(&d->is);
		d->is.level = 1;
		d->is.level_buf = d->level_buf;
		d->is.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
		d->is.gzip_flag = IGZIP_DEFLATE; /* raw: the gzip frame is ours */
		d->ready = true;
		return 0;
	}
#else
	(void)isal;
#endif
	if (deflateInit2(&d->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	d->ready = true;
	return 0;
}

static void deflater_end(struct deflater *d)
{
#if HAVE_ISAL
	if (d->level_buf) {
		free(d->level_buf);
		return;
	}
#endif
	if (d->ready)
		deflateEnd(&d->z);
}

static int deflate_job(struct deflater *d, struct gz_job *j)
{
	int r;
#if HAVE_ISAL
	if (d->level_buf)
		r = isal_job(d, j);
	else
#endif
		r = zlib_job(&d->z, j);
	if (r == 0)
		j->crc = block_crc(j->in + GZ_DICT, j->len);
	return r;
}

static void *gz_worker(void *arg)
{
	struct gz *g = arg;
	struct deflater d = { 0 };
	int init = deflater_init(&d, g->level, g->isal);
	pthread_mutex_lock(&g->mu);
	for (;;) {
		while (!g->stop && g->work_seq == g->submitted)
			pthread_cond_wait(&g->work_cv, &g->mu);
		if (g->stop)
			break;
		struct gz_job *j = job_at(g, g->work_seq++);
		pthread_mutex_unlock(&g->mu);
		int r = init == 0 ? deflate_job(&d, j) : init;
		pthread_mutex_lock(&g->mu);
		j->error = r;
		j->state = JOB_DONE;
		pthread_cond_broadcast(&g->done_cv);
	}
	pthread_mutex_unlock(&g->mu);
	deflater_end(&d);
	return NULL;
}

static int gz_fail(struct gz *g, int r, const char *what)
{
	if (g->error == 0) {
		g->error = r;
		snprintf(g->base.error, sizeof(g->base.error), "gzip: %s: %s", what, strerror(-r));
	}
	return g->error;
}

static int put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	return 4;
}

/* Hand on the oldest job's output; wait for it when `wait`.  Returns 1
 * when one went out, 0 when none was ready, -errno. */
static int emit_one(struct gz *g, bool wait)
{
	if (g->out_seq == g->submitted)
		return 0;
	struct gz_job *j = job_at(g, g->out_seq);
	pthread_mutex_lock(&g->mu);
	while (wait && j->state != JOB_DONE)
		pthread_cond_wait(&g->done_cv, &g->mu);
	bool done = j->state == JOB_DONE;
	pthread_mutex_unlock(&g->mu);
	if (!done)
		return 0;
	if (j->error < 0)
		return gz_fail(g, j->error, "deflate");
	if (!g->started) {
		/* No name, no timestamp (MTIME 0): the same tree gives the
		 * same blob.  OS 3 (Unix), as gzip -n writes. */
		static const unsigned char header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
		int r = g->base.out(g->base.out_ctx, header, sizeof(header));
		if (r < 0)
			return gz_fail(g, r, "write");
		g->started = true;
	}
	int r = g->base.out(g->base.out_ctx, j->out, j->out_len);
	if (r < 0)
		return gz_fail(g, r, "write");
	g->crc = crc32_combine(g->crc, j->crc, (z_off_t)j->len);
	g->total += j->len;
	j->state = JOB_FREE;
	g->out_seq++;
	return 1;
}

/* The job to fill, set up with the dictionary; waits for a free slot. */
static int start_job(struct gz *g, struct gz_job **ret)
{
	struct gz_job *j = job_at(g, g->fill_seq);
	if (g->filling) {
		*ret = j;
		return 0;
	}
	while (g->fill_seq - g->out_seq >= g->n_jobs) {
		int r = emit_one(g, true);
		if (r < 0)
			return r;
	}
	memcpy(j->in + GZ_DICT - g->tail_len, g->tail, g->tail_len);
	j->dict_len = g->tail_len;
	j->len = 0;
	j->last = false;
	g->filling = true;
	*ret = j;
	return 0;
}

static void submit(struct gz *g, struct gz_job *j, bool last)
{
	/* The next block's dictionary: the last GZ_DICT bytes so far. */
	if (j->len >= GZ_DICT) {
		memcpy(g->tail, j->in + GZ_DICT + j->len - GZ_DICT, GZ_DICT);
		g->tail_len = GZ_DICT;
	} else {
		size_t keep = g->tail_len + j->len > GZ_DICT ? GZ_DICT - j->len : g->tail_len;
		memmove(g->tail, g->tail + g->tail_len - keep, keep);
		memcpy(g->tail + keep, j->in + GZ_DICT, j->len);
		g->tail_len = keep + j->len;
	}
	g->filling = false;
	pthread_mutex_lock(&g->mu);
	j->last = last;
	j->state = JOB_QUEUED;
	g->submitted++;
	g->fill_seq++;
	pthread_cond_signal(&g->work_cv);
	pthread_mutex_unlock(&g->mu);
}

static int gz_write(struct compressor *c, const void *buf, size_t len)
{
	struct gz *g = (struct gz *)c;
	if (g->error)
		return g->error;
	const unsigned char *p = buf;
	while (len > 0) {
		struct gz_job *j;
		int r = start_job(g, &j);
		if (r < 0)
			return r;
		size_t n = GZ_BLOCK - j->len < len ? GZ_BLOCK - j->len : len;
		memcpy(j->in + GZ_DICT + j->len, p, n);
		j->len += n;
		p += n;
		len -= n;
		if (j->len == GZ_BLOCK) {
			submit(g, j, false);
			/* Hand on whatever is ready, without waiting. */
			while ((r = emit_one(g, false)) > 0)
				;
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int gz_finish(struct compressor *c)
{
	struct gz *g = (struct gz *)c;
	if (g->error)
		return g->error;
	if (g->finished)
		return 0;
	struct gz_job *j;
	int r = start_job(g, &j); /* the last block, maybe empty */
	if (r < 0)
		return r;
	submit(g, j, true);
	while ((r = emit_one(g, true)) > 0)
		;
	if (r < 0)
		return r;
	unsigned char trailer[8];
	put_le32(trailer, (uint32_t)g->crc);
	put_le32(trailer + 4, (uint32_t)g->total); /* ISIZE: the length mod 2^32 */
	if ((r = c->out(c->out_ctx, trailer, sizeof(trailer))) < 0)
		return gz_fail(g, r, "write");
	g->finished = true;
	return 0;
}

static void gz_free(struct compressor *c)
{
	struct gz *g = (struct gz *)c;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_broadcast(&g->work_cv);
	pthread_mutex_unlock(&g->mu);
	for (unsigned i = 0; i < g->n_threads; i++)
		pthread_join(g->threads[i], NULL);
	for (size_t i = 0; g->jobs && i < g->n_jobs; i++) {
		free(g->jobs[i].in);
		free(g->jobs[i].out);
	}
	free(g->jobs);
	free(g->threads);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->work_cv);
	pthread_cond_destroy(&g->done_cv);
	free(g);
}

int compressor_gzip_new(unsigned threads, int level, compress_out_fn out, void *ctx, struct compressor **ret)
{
	if (level < 0 || level > 9)
		return -EINVAL;
	struct gz *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->base = (struct compressor){ .write = gz_write, .finish = gz_finish, .free = gz_free, .out = out, .out_ctx = ctx };
	g->level = level ? level : Z_DEFAULT_COMPRESSION;
#if HAVE_ISAL
	g->isal = level == 0;
#endif
	g->crc = crc32(0L, Z_NULL, 0);
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->work_cv, NULL);
	pthread_cond_init(&g->done_cv, NULL);
	unsigned n = compressor_threads(threads);
	g->n_jobs = 2 * (size_t)n + 2;
	g->jobs = calloc(g->n_jobs, sizeof(*g->jobs));
	g->threads = calloc(n, sizeof(*g->threads));
	bool ok = g->jobs && g->threads;
	for (size_t i = 0; ok && i < g->n_jobs; i++)
		ok = (g->jobs[i].in = malloc(GZ_DICT + GZ_BLOCK)) != NULL;
	for (unsigned i = 0; ok && i < n; i++) {
		int r = pthread_create(&g->threads[i], NULL, gz_worker, g);
		if (r != 0) {
			gz_free(&g->base);
			return -r;
		}
		g->n_threads++;
	}
	if (!ok) {
		gz_free(&g->base);
		return -ENOMEM;
	}
	*ret = &g->base;
	return 0;
}
