/* SPDX-License-Identifier: Apache-2.0 */
/* The layer compressors (core/layer/compress*.c): the stream is valid
 * (zlib's gzip inflate checks the CRC and length; libzstd its checksum) and
 * gives back the input, and its bytes are the same for 1, 2 and 4 threads
 * and for any way of cutting the input into writes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <cmocka.h>

#include "layer/compress.h"

struct sink {
	unsigned char *v;
	size_t n, cap;
};

static int sink_out(void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;
	if (s->n + len > s->cap) {
		size_t cap = (s->n + len) * 2;
		unsigned char *v = realloc(s->v, cap);
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	memcpy(s->v + s->n, buf, len);
	s->n += len;
	return 0;
}

/* Text-like and random stretches, so deflate finds matches across blocks
 * and sometimes none: ~3.3 MiB, not a multiple of the 128 KiB block. */
static unsigned char *make_input(size_t *ret_len)
{
	size_t len = (3u << 20) + 300001;
	unsigned char *v = malloc(len);
	assert_non_null(v);
	uint64_t x = 42;
	static const char words[] = "layer snapshot overlay btrfs whiteout commit diff tar ";
	for (size_t i = 0; i < len; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		v[i] = (i / 65536) % 3 == 2 ? (unsigned char)(x >> 56) : (unsigned char)words[(i + (x >> 62)) % (sizeof(words) - 1)];
	}
	*ret_len = len;
	return v;
}

typedef int (*new_fn)(unsigned, int, compress_out_fn, void *, struct compressor **);

static void compress_with(new_fn fn, unsigned threads, const unsigned char *in, size_t len, size_t chunk,
			  struct sink *out)
{
	struct compressor *c = NULL;
	assert_int_equal(fn(threads, 0, sink_out, out, &c), 0);
	for (size_t off = 0; off < len; off += chunk)
		assert_int_equal(compressor_write(c, in + off, len - off < chunk ? len - off : chunk), 0);
	assert_int_equal(compressor_finish(c), 0);
	compressor_free(c);
}

static void gunzip_equals(const struct sink *z, const unsigned char *in, size_t len)
{
	z_stream s = { 0 };
	assert_int_equal(inflateInit2(&s, 16 + 15), Z_OK);
	unsigned char *out = malloc(len + 1);
	assert_non_null(out);
	s.next_in = z->v;
	s.avail_in = (uInt)z->n;
	s.next_out = out;
	s.avail_out = (uInt)len + 1;
	assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END); /* CRC and ISIZE checked */
	assert_int_equal(s.total_out, len);
	assert_int_equal(s.avail_in, 0); /* one member, nothing after it */
	assert_memory_equal(out, in, len);
	inflateEnd(&s);
	free(out);
}

static void unzstd_equals(const struct sink *z, const unsigned char *in, size_t len)
{
	unsigned char *out = malloc(len + 1);
	assert_non_null(out);
	size_t n = ZSTD_decompress(out, len + 1, z->v, z->n);
	assert_false(ZSTD_isError(n));
	assert_int_equal(n, len);
	assert_memory_equal(out, in, len);
	free(out);
}

static void same_bytes(new_fn fn, void (*check)(const struct sink *, const unsigned char *, size_t))
{
	size_t len;
	unsigned char *in = make_input(&len);
	struct sink ref = { 0 };
	compress_with(fn, 1, in, len, 1 << 20, &ref);
	check(&ref, in, len);
	assert_true(ref.n < len); /* it did compress */
	static const unsigned threads[] = { 1, 2, 4 };
	static const size_t chunks[] = { 4097, 131072, 1 << 22 };
	for (size_t t = 0; t < 3; t++)
		for (size_t k = 0; k < 3; k++) {
			struct sink s = { 0 };
			compress_with(fn, threads[t], in, len, chunks[k], &s);
			assert_int_equal(s.n, ref.n);
			assert_memory_equal(s.v, ref.v, ref.n);
			free(s.v);
		}
	free(ref.v);
	free(in);
}

static void test_gzip_same_bytes(void **state)
{
	same_bytes(compressor_gzip_new, gunzip_equals);
}

/* An explicit level deflates with zlib, the default with igzip where
 * snapctl is built with ISA-L: both engines give one valid, thread-count
 * independent stream. */
static int gzip_level6_new(unsigned threads, int level, compress_out_fn out, void *ctx, struct compressor **ret)
{
	return compressor_gzip_new(threads, level ? level : 6, out, ctx, ret);
}

static void test_gzip_zlib_level_same_bytes(void **state)
{
	same_bytes(gzip_level6_new, gunzip_equals);
}

static void test_zstd_same_bytes(void **state)
{
	same_bytes(compressor_zstd_new, unzstd_equals);
}

static void test_empty(void **state)
{
	struct sink g = { 0 }, z = { 0 };
	compress_with(compressor_gzip_new, 2, (const unsigned char *)"", 0, 1, &g);
	gunzip_equals(&g, (const unsigned char *)"", 0);
	compress_with(compressor_zstd_new, 2, (const unsigned char *)"", 0, 1, &z);
	unzstd_equals(&z, (const unsigned char *)"", 0);
	free(g.v);
	free(z.v);
}

static int failing_out(void *ctx, const void *buf, size_t len)
{
	return -ENOSPC;
}

static void test_output_error(void **state)
{
	size_t len;
	unsigned char *in = make_input(&len);
	struct compressor *c = NULL;
	assert_int_equal(compressor_gzip_new(2, 0, failing_out, NULL, &c), 0);
	int r = compressor_write(c, in, len);
	if (r == 0)
		r = compressor_finish(c);
	assert_int_equal(r, -ENOSPC);
	assert_non_null(strstr(compressor_error(c), "No space"));
	compressor_free(c);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip_same_bytes),
		cmocka_unit_test(test_gzip_zlib_level_same_bytes),
		cmocka_unit_test(test_zstd_same_bytes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_output_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
