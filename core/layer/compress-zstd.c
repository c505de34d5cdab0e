/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zstd layers (application/vnd.oci.image.layer.v1.tar+zstd) with libzstd's
 * own workers.  nbWorkers >= 1 always, even on one CPU: libzstd's
 * multi-threaded format cuts the input into jobs by its parameters alone,
 * so its output is the same for any number of workers >= 1, but differs
 * from the single-threaded mode (nbWorkers = 0); tests/layer checks the
 * bytes for 1, 2 and 4 workers.  A content checksum is written, as the
 * zstd tool does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "layer/compress.h"

struct zs {
	struct compressor base;
	ZSTD_CCtx *cctx;
	void *buf;
	size_t buf_size;
	int error;
};

static int zs_fail(struct zs *z, int r, const char *what)
{
	if (z->error == 0) {
		z->error = r;
		snprintf(z->base.error, sizeof(z->base.error), "zstd: %s: %s", what, strerror(-r));
	}
	return z->error;
}

static int zs_run(struct zs *z, ZSTD_inBuffer *in, ZSTD_EndDirective mode)
{
	for (;;) {
		ZSTD_outBuffer out = { z->buf, z->buf_size, 0 };
		size_t left = ZSTD_compressStream2(z->cctx, &out, in, mode);
		if (ZSTD_isError(left)) {
			snprintf(z->base.error, sizeof(z->base.error), "zstd: %s", ZSTD_getErrorName(left));
			return z->error = -EIO;
		}
		if (out.pos > 0) {
			int r = z->base.out(z->base.out_ctx, out.dst, out.pos);
			if (r < 0)
				return zs_fail(z, r, "write");
		}
		/* continue: until the input is taken; end: until flushed. */
		if (mode == ZSTD_e_end ? left == 0 : in->pos == in->size)
			return 0;
	}
}

static int zs_write(struct compressor *c, const void *buf, size_t len)
{
	struct zs *z = (struct zs *)c;
	if (z->error)
		return z->error;
	ZSTD_inBuffer in = { buf, len, 0 };
	return zs_run(z, &in, ZSTD_e_continue);
}

static int zs_finish(struct compressor *c)
{
	struct zs *z = (struct zs *)c;
	if (z->error)
		return z->error;
	ZSTD_inBuffer in = { NULL, 0, 0 };
	return zs_run(z, &in, ZSTD_e_end);
}

static void zs_free(struct compressor *c)
{
	struct zs *z = (struct zs *)c;
	ZSTD_freeCCtx(z->cctx);
	free(z->buf);
	free(z);
}

int compressor_zstd_new(unsigned threads, int level, compress_out_fn out, void *ctx, struct compressor **ret)
{
	struct zs *z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->base = (struct compressor){ .write = zs_write, .finish = zs_finish, .free = zs_free, .out = out, .out_ctx = ctx };
	z->buf_size = ZSTD_CStreamOutSize();
	z->cctx = ZSTD_createCCtx();
	z->buf = malloc(z->buf_size);
	if (!z->cctx || !z->buf) {
		zs_free(&z->base);
		return -ENOMEM;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level ? level : ZSTD_CLEVEL_DEFAULT)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1)) ||
	    /* A libzstd built without threads refuses: its single-threaded
	     * bytes would differ, so fail rather than change the digest. */
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_nbWorkers, (int)compressor_threads(threads)))) {
		zs_free(&z->base);
		return -EOPNOTSUPP;
	}
	*ret = &z->base;
	return 0;
}
