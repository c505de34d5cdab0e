/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer compressors on more than one core: the tar writer hands them the
 * uncompressed stream, they hand the compressed stream, in order, to an
 * output callback on the caller's thread (which hashes and writes it: one
 * pass, no re-read).  Both give the same bytes for the same input whatever
 * the number of threads and however the input is cut into writes, so a
 * layer's blob digest depends only on its content:
 *
 *   compress-gzip.c  gzip in pigz's manner over zlib or igzip (ISA-L, the
 *                    default level where built with it): independent 128 KiB
 *                    blocks, each a raw deflate primed with the 32 KiB
 *                    before it and ended by a sync flush (the last by
 *                    Z_FINISH), CRCs joined with crc32_combine: one valid
 *                    gzip member any gunzip reads
 *   compress-zstd.c  libzstd with its own workers (ZSTD_c_nbWorkers >= 1,
 *                    whose output does not depend on their number)
 */
#ifndef SNAP_LAYER_COMPRESS_H
#define SNAP_LAYER_COMPRESS_H

#include <stddef.h>

/* Receives compressed bytes in order; returns 0 or -errno. */
typedef int (*compress_out_fn)(void *ctx, const void *buf, size_t len);

struct compressor;

/* threads: 0 = one per online CPU (at most 8).  level: the library's
 * level, 0 = its default (gzip: igzip level 1 where built with ISA-L,
 * otherwise zlib 6; zstd 3).  Returns 0 or -errno. */
int compressor_gzip_new(unsigned threads, int level, compress_out_fn out, void *ctx, struct compressor **ret);
int compressor_zstd_new(unsigned threads, int level, compress_out_fn out, void *ctx, struct compressor **ret);

/* 0 or -errno; after a failure, compressor_error() says what failed. */
int compressor_write(struct compressor *c, const void *buf, size_t len);
/* Flush the rest and end the stream (gzip trailer, zstd frame end). */
int compressor_finish(struct compressor *c);
const char *compressor_error(const struct compressor *c);
/* Stops the threads; safe on any state, NULL included. */
void compressor_free(struct compressor *c);

/* For the implementations. */
struct compressor {
	int (*write)(struct compressor *c, const void *buf, size_t len);
	int (*finish)(struct compressor *c);
	void (*free)(struct compressor *c);
	compress_out_fn out;
	void *out_ctx;
	char error[256];
};

unsigned compressor_threads(unsigned threads);

#endif
