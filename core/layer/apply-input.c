/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input of a layer apply: two libarchive readers are stacked.  The
 * first reads the fd in "raw" format with every decompression filter, so
 * what it returns is the uncompressed stream itself: that is the only place
 * where the bytes of the diff ID can be hashed (a tar reader hands out
 * entries, not the stream).  The second reader parses tar from those bytes.
 * The fd bytes are hashed in the first reader's read callback (the blob
 * digest).
 *
 * gzip, the common case, is inflated before the first reader, with ISA-L's
 * igzip where snapctl is built with it (HAVE_ISAL: it inflates about twice
 * as fast as zlib here, docs/core.md "Import"), else with zlib:
 * libarchive's gzip filter never checks a member's CRC-32 and length
 * trailer, so a layer whose trailer is wrong would be accepted.  Both check
 * both (igzip with crc_flag ISAL_GZIP parses the header and verifies the
 * trailer); members follow each other (gzip's multi-member form), and
 * anything else after the last member is refused, as Go's gzip reader
 * (containerd) refuses it.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "config.h"
#if HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif
#include "layer/apply-internal.h"
#include "util/macro.h"

#define READ_BUF (1 << 17)

int apply_tar_fail(struct apply *a, struct apply_input *in, const char *what)
{
	apply_input_stop(in); /* its error fields are ours from here */
	const char *s = in->raw_error[0] ? in->raw_error : archive_error_string(a->tar);
	int e = in->io_error ? in->io_error : archive_errno(a->tar) > 0 ? -archive_errno(a->tar) : -EIO;
	return apply_fail(a, e, "%s: %s", what, s ? s : "corrupt input");
}

/* The next bytes of the fd into fdbuf, hashed (the blob digest); the
 * bytes sniffed at open come first. */
static ssize_t fd_fill(struct apply_input *in)
{
	if (in->fd_pending) {
		ssize_t n = (ssize_t)in->fd_pending;
		in->fd_pending = 0;
		return n;
	}
	for (;;) {
		ssize_t n = read(in->fd, in->fdbuf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return in->io_error = negative_errno();
		if (in->blob_unhashed)
			in->blob.size += (uint64_t)n;
		else
			snap_sha256_update(&in->blob, in->fdbuf, (size_t)n);
		return n;
	}
}

static la_ssize_t fd_read(struct archive *ar, void *ctx, const void **buf)
{
	struct apply_input *in = ctx;
	ssize_t n = fd_fill(in);
	if (n < 0) {
		archive_set_error(ar, (int)-n, "read layer: %s", strerror((int)-n));
		return -1;
	}
	*buf = in->fdbuf;
	return n;
}

static la_ssize_t gz_fail(struct archive *ar, struct apply_input *in, const char *what)
{
	snprintf(in->raw_error, sizeof(in->raw_error), "gzip: %s", what);
	archive_set_error(ar, EINVAL, "%s", in->raw_error);
	return -1;
}

/* One inflate step of the current member into gzbuf: the bytes produced,
 * with *ret_end set when the member (its trailer checked) ended; -1 with
 * raw_error set on corrupt input. */
#if HAVE_ISAL
static const char *isal_error(int r)
{
	switch (r) {
	case ISAL_INCORRECT_CHECKSUM:
		return "incorrect checksum or length in the trailer";
	case ISAL_INVALID_WRAPPER:
		return "not in gzip format";
	case ISAL_UNSUPPORTED_METHOD:
		return "unknown compression method";
	case ISAL_INVALID_LOOKBACK:
		return "invalid distance too far back";
	case ISAL_INVALID_SYMBOL:
		return "invalid code";
	default:
		return "invalid block";
	}
}

static int inflate_member_start(struct apply_input *in)
{
	struct inflate_state *st = in->z;
	isal_inflate_reset(st);
	st->crc_flag = ISAL_GZIP; /* parse the header, verify CRC-32 and ISIZE */
	return 0;
}

static la_ssize_t inflate_step(struct archive *ar, struct apply_input *in, bool *ret_end)
{
	struct inflate_state *st = in->z;
	st->next_out = (uint8_t *)in->gzbuf;
	st->avail_out = READ_BUF;
	int r = isal_inflate(st);
	if (r < 0 || r == ISAL_NEED_DICT) /* the positive others are progress */
		return gz_fail(ar, in, isal_error(r));
	*ret_end = st->block_state == ISAL_BLOCK_FINISH;
	return READ_BUF - st->avail_out;
}

static void inflate_feed(struct apply_input *in, ssize_t n)
{
	struct inflate_state *st = in->z;
	st->next_in = (uint8_t *)in->fdbuf;
	st->avail_in = (uint32_t)n;
}

static size_t inflate_avail(struct apply_input *in, const unsigned char **ret_next)
{
	struct inflate_state *st = in->z;
	*ret_next = st->next_in;
	return st->avail_in;
}

static void *inflater_new(void)
{
	struct inflate_state *st = malloc(sizeof(*st));
	if (st) {
		isal_inflate_init(st);
		st->crc_flag = ISAL_GZIP;
	}
	return st;
}

static void inflater_free(void *z)
{
	free(z);
}
#else
static int inflate_member_start(struct apply_input *in)
{
	return inflateReset(in->z) == Z_OK ? 0 : -EINVAL;
}

static la_ssize_t inflate_step(struct archive *ar, struct apply_input *in, bool *ret_end)
{
	z_stream *z = in->z;
	z->next_out = (Bytef *)in->gzbuf;
	z->avail_out = READ_BUF;
	int r = inflate(z, Z_NO_FLUSH);
	if (r == Z_NEED_DICT || r == Z_DATA_ERROR || r == Z_MEM_ERROR || r == Z_STREAM_ERROR)
		return gz_fail(ar, in, z->msg ? z->msg : "corrupt input");
	*ret_end = r == Z_STREAM_END;
	return READ_BUF - z->avail_out;
}

static void inflate_feed(struct apply_input *in, ssize_t n)
{
	z_stream *z = in->z;
	z->next_in = (Bytef *)in->fdbuf;
	z->avail_in = (uInt)n;
}

static size_t inflate_avail(struct apply_input *in, const unsigned char **ret_next)
{
	z_stream *z = in->z;
	*ret_next = z->next_in;
	return z->avail_in;
}

static void *inflater_new(void)
{
	z_stream *z = calloc(1, sizeof(*z));
	if (z && inflateInit2(z, 15 + 16) != Z_OK) { /* gzip wrapper only */
		free(z);
		return NULL;
	}
	return z;
}

static void inflater_free(void *z)
{
	inflateEnd(z);
	free(z);
}
#endif

static la_ssize_t gz_read(struct archive *ar, void *ctx, const void **buf)
{
	struct apply_input *in = ctx;
	for (;;) {
		const unsigned char *next;
		if (inflate_avail(in, &next) == 0) {
			ssize_t n = fd_fill(in);
			if (n < 0) {
				archive_set_error(ar, (int)-n, "read layer: %s", strerror((int)-n));
				return -1;
			}
			if (n == 0)
				return in->gz_member_end ? 0 : gz_fail(ar, in, "truncated input");
			inflate_feed(in, n);
			inflate_avail(in, &next);
		}
		if (in->gz_member_end) {
			if (next[0] != 0x1f)
				return gz_fail(ar, in, "data after the end of the stream");
			if (inflate_member_start(in) < 0)
				return gz_fail(ar, in, "reset failed");
			in->gz_member_end = false;
		}
		bool end = false;
		la_ssize_t produced = inflate_step(ar, in, &end);
		if (produced < 0)
			return produced;
		in->gz_member_end = end;
		if (produced) {
			*buf = in->gzbuf;
			return produced;
		}
	}
}

/* Hash the rest of the blob (the bytes the decompressor left). */
static int hash_fd_tail(struct apply_input *in)
{
	ssize_t n;
	while ((n = fd_fill(in)) > 0)
		;
	return (int)n;
}

/* The reader thread: fills the ring with the uncompressed stream (hashed:
 * the diff ID) until its end, then hashes what is left of the fd (the
 * blob digest covers the whole blob), unless told to stop.  A chunk may be
 * overwritten once the tar reader has taken two after it. */
static void *reader_thread(void *arg)
{
	struct apply_input *in = arg;
	bool failed = false;
	for (;;) {
		pthread_mutex_lock(&in->mu);
		while (!in->stop && !in->draining && in->produced + 2 >= in->taken + APPLY_RING)
			pthread_cond_wait(&in->cv, &in->mu);
		bool stop = in->stop;
		size_t slot = (size_t)(in->produced % APPLY_RING);
		pthread_mutex_unlock(&in->mu);
		if (stop)
			break;
		la_ssize_t n = archive_read_data(in->raw, in->ring[slot], READ_BUF);
		if (n < 0) {
			if (!in->raw_error[0]) {
				const char *e = archive_error_string(in->raw);
				snprintf(in->raw_error, sizeof(in->raw_error), "%s", e ? e : "corrupt input");
			}
			in->raw_errno = archive_errno(in->raw) > 0 ? archive_errno(in->raw) : EIO;
			failed = true;
			break;
		}
		if (n == 0) {
			failed = hash_fd_tail(in) < 0;
			if (failed)
				snprintf(in->raw_error, sizeof(in->raw_error), "read: %s", strerror(-in->io_error));
			break;
		}
		if (!in->plain)
			snap_sha256_update(&in->diff, in->ring[slot], (size_t)n);
		in->ring_len[slot] = (size_t)n;
		pthread_mutex_lock(&in->mu);
		in->produced++;
		pthread_cond_broadcast(&in->cv);
		pthread_mutex_unlock(&in->mu);
	}
	pthread_mutex_lock(&in->mu);
	in->done = true;
	in->failed = failed;
	pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
	return NULL;
}

void apply_input_stop(struct apply_input *in)
{
	if (!in->started)
		return;
	pthread_mutex_lock(&in->mu);
	in->stop = true;
	pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
	pthread_join(in->thread, NULL);
	in->started = false;
}

/* The tar reader's read callback: the next chunk of the reader thread. */
static la_ssize_t raw_read(struct archive *ar, void *ctx, const void **buf)
{
	struct apply_input *in = ctx;
	pthread_mutex_lock(&in->mu);
	while (in->produced == in->taken && !in->done)
		pthread_cond_wait(&in->cv, &in->mu);
	bool have = in->produced > in->taken;
	size_t slot = (size_t)(in->taken % APPLY_RING);
	if (have) {
		in->taken++;
		pthread_cond_broadcast(&in->cv);
	}
	bool failed = in->failed;
	pthread_mutex_unlock(&in->mu);
	if (!have && failed) {
		/* done: the thread wrote its error and no longer runs */
		if (!in->reported) {
			char what[sizeof(in->raw_error)];
			snprintf(what, sizeof(what), "%s", in->raw_error);
			snprintf(in->raw_error, sizeof(in->raw_error), "decompress: %s", what);
			in->reported = true;
		}
		archive_set_error(ar, in->raw_errno ? in->raw_errno : in->io_error ? -in->io_error : EIO, "%s",
				  in->raw_error);
		return -1;
	}
	if (!have)
		return 0;
	size_t n = in->ring_len[slot];
	/* The other of the two chunks the tar reader keeps. */
	int k = in->cur ^ 1;
	in->cur = k;
	in->chunk[k] = in->ring[slot];
	in->chunk_off[k] = in->raw_size;
	in->chunk_len[k] = n;
	in->raw_size += n;
	*buf = in->ring[slot];
	return (la_ssize_t)n;
}

void apply_input_done(struct apply_input *in)
{
	apply_input_stop(in);
	if (in->raw)
		archive_read_free(in->raw);
	snap_sha256_done(&in->blob);
	snap_sha256_done(&in->diff);
	free(in->fdbuf);
	if (in->z)
		inflater_free(in->z);
	free(in->gzbuf);
	for (size_t i = 0; i < APPLY_RING; i++)
		free(in->ring[i]);
	if (in->sync_init) {
		pthread_cond_destroy(&in->cv);
		pthread_mutex_destroy(&in->mu);
	}
}

int apply_input_open(struct apply_input *in, int fd, struct archive **ret_tar, struct snap_error *err)
{
	in->fd = fd;
	if (snap_sha256_init(&in->blob) < 0 || snap_sha256_init(&in->diff) < 0 ||
	    !(in->fdbuf = malloc(READ_BUF)) || !(in->raw = archive_read_new()))
		return snap_error_set(err, -ENOMEM, "apply layer: out of memory");
	for (size_t i = 0; i < APPLY_RING; i++)
		if (!(in->ring[i] = malloc(READ_BUF)))
			return snap_error_set(err, -ENOMEM, "apply layer: out of memory");
	/* Only filters built into libarchive: none spawns an external
	 * program on untrusted input. */
	archive_read_support_filter_gzip(in->raw);
	archive_read_support_filter_zstd(in->raw);
	archive_read_support_filter_xz(in->raw);
	archive_read_support_filter_bzip2(in->raw);
	archive_read_support_format_raw(in->raw);
	/* Sniff: gzip goes through zlib (see the top of this file). */
	ssize_t n = fd_fill(in);
	if (n < 0)
		return snap_error_set(err, (int)n, "apply layer: read: %s", strerror((int)-n));
	in->fd_pending = (size_t)n;
	in->gzip = n >= 2 && (unsigned char)in->fdbuf[0] == 0x1f && (unsigned char)in->fdbuf[1] == 0x8b;
	/* The sniffed bytes were hashed; the digest is then never finished. */
	in->blob_unhashed = in->no_blob_digest && in->gzip;
	if (in->gzip) {
		if (!(in->gzbuf = malloc(READ_BUF)) || !(in->z = inflater_new()))
			return snap_error_set(err, -ENOMEM, "apply layer: gzip: out of memory");
	}
	struct archive_entry *e;
	if (archive_read_open(in->raw, in, NULL, in->gzip ? gz_read : fd_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(in->raw, &e) != ARCHIVE_OK) {
		const char *s = in->raw_error[0] ? in->raw_error : archive_error_string(in->raw);
		int code = in->io_error ? in->io_error : -EINVAL;
		return snap_error_set(err, code, "apply layer: %s", s ? s : "empty input");
	}
	in->plain = !in->gzip && archive_filter_code(in->raw, 0) == ARCHIVE_FILTER_NONE;
	/* One compression at most (OCI media types name one): libarchive
	 * would peel gzip inside gzip, or zstd inside xz, without a word. */
	if (archive_filter_count(in->raw) > (in->gzip ? 1 : 2))
		return snap_error_set(err, -EINVAL, "apply layer: nested compression (%s inside %s)",
				      archive_filter_name(in->raw, 0),
				      in->gzip ? "gzip" : archive_filter_name(in->raw, 1));
	struct archive *tar = archive_read_new();
	if (!tar)
		return snap_error_set(err, -ENOMEM, "apply layer: out of memory");
	archive_read_support_format_tar(tar);
	if (pthread_mutex_init(&in->mu, NULL) != 0 || pthread_cond_init(&in->cv, NULL) != 0) {
		archive_read_free(tar);
		return snap_error_set(err, -ENOMEM, "apply layer: out of memory");
	}
	in->sync_init = true;
	int q = pthread_create(&in->thread, NULL, reader_thread, in);
	if (q != 0) {
		archive_read_free(tar);
		return snap_error_set(err, -q, "apply layer: start the reader thread: %s", strerror(q));
	}
	in->started = true;
	if (archive_read_open(tar, in, NULL, raw_read, NULL) != ARCHIVE_OK) {
		apply_input_stop(in);
		const char *s = in->raw_error[0] ? in->raw_error : archive_error_string(tar);
		int r = snap_error_set(err, -EINVAL, "apply layer: not a tar: %s", s ? s : "unknown format");
		archive_read_free(tar);
		return r;
	}
	*ret_tar = tar;
	return 0;
}

/* Let the reader thread hash what the tar reader left (the end-of-archive
 * padding and anything after it, so the digests cover the whole stream
 * and the whole blob) and wait for it. */
int apply_input_drain(struct apply_input *in, struct snap_error *err)
{
	if (!in->started)
		return 0;
	pthread_mutex_lock(&in->mu);
	in->draining = true;
	pthread_cond_broadcast(&in->cv);
	while (!in->done)
		pthread_cond_wait(&in->cv, &in->mu);
	bool failed = in->failed;
	pthread_mutex_unlock(&in->mu);
	pthread_join(in->thread, NULL);
	in->started = false;
	if (!failed)
		return 0;
	if (in->io_error)
		return snap_error_set(err, in->io_error, "apply layer: %s", in->raw_error);
	return snap_error_set(err, -EINVAL, "apply layer: decompress: %s", in->raw_error);
}
