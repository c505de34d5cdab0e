/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PAX records libarchive would cut: a `path` or `linkpath` value holding a
 * NUL byte.  libarchive keeps the name up to the NUL and says nothing, so a
 * scanner reading the tar and the runtime reading the tree would disagree
 * about the entry's name; Go's archive/tar (containerd, docker) refuses it,
 * and so do we.
 *
 * libarchive exposes no PAX record, only its result, so this looks back at
 * the raw headers of the current entry: archive_read_header_position() is
 * where the entry's header sequence starts in the uncompressed stream, and
 * the last two chunks of that stream are still in memory (apply-input.c).
 * Extended headers ('x') are read record by record; a header sequence that
 * is no longer in memory (a PAX header of more than ~128 KiB) is not
 * checked.  This reads tar headers only to check what libarchive parsed; it
 * never decides what is applied.
 */
#include <archive.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layer/apply-internal.h"
#include "util/macro.h"

#define BLOCK 512

/* Copy stream bytes [off, off + len) into dst; false when not in memory. */
static bool stream_copy(const struct apply_input *in, uint64_t off, char *dst, size_t len)
{
	while (len > 0) {
		int k = -1;
		for (int i = 0; i < 2; i++)
			if (in->chunk_len[i] && off >= in->chunk_off[i] && off < in->chunk_off[i] + in->chunk_len[i])
				k = i;
		if (k < 0)
			return false;
		size_t at = (size_t)(off - in->chunk_off[k]);
		size_t n = in->chunk_len[k] - at < len ? in->chunk_len[k] - at : len;
		memcpy(dst, in->chunk[k] + at, n);
		dst += n;
		off += n;
		len -= n;
	}
	return true;
}

/* The size field of a header: octal, or base-256 with the high bit set. */
static uint64_t header_size(const unsigned char *h)
{
	const unsigned char *f = h + 124;
	uint64_t v = 0;
	if (f[0] & 0x80) {
		for (int i = 1; i < 12; i++)
			v = v << 8 | f[i];
		return v;
	}
	for (int i = 0; i < 12 && f[i] >= '0' && f[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(f[i] - '0');
	return v;
}

/* 1 when a `path` or `linkpath` record of these PAX records has a NUL. */
static int records_have_nul(const char *p, size_t n, const char **ret_key)
{
	while (n > 0) {
		char *end;
		unsigned long len = strtoul(p, &end, 10);
		if (end == p || *end != ' ' || len == 0 || len > n)
			return 0; /* malformed: libarchive reports it itself */
		const char *key = end + 1, *eq = memchr(key, '=', (size_t)(p + len - key));
		if (eq) {
			size_t klen = (size_t)(eq - key);
			const char *val = eq + 1;
			size_t vlen = (size_t)(p + len - 1 - val); /* without the '\n' */
			if (((klen == 4 && !memcmp(key, "path", 4)) || (klen == 8 && !memcmp(key, "linkpath", 8))) &&
			    memchr(val, '\0', vlen)) {
				*ret_key = klen == 4 ? "path" : "linkpath";
				return 1;
			}
		}
		p += len;
		n -= len;
	}
	return 0;
}

int apply_pax_check(struct apply *a, struct apply_input *in)
{
	la_int64_t pos = archive_read_header_position(a->tar);
	if (pos < 0)
		return 0;
	uint64_t off = (uint64_t)pos;
	unsigned char h[BLOCK];
	/* The extension headers before the entry's own: at most a few. */
	for (int n = 0; n < 8 && stream_copy(in, off, (char *)h, BLOCK); n++) {
		char type = (char)h[156];
		if (type != 'x' && type != 'g' && type != 'L' && type != 'K')
			return 0;
		uint64_t size = header_size(h);
		if (type == 'x' && size > 0 && size <= 2 * (uint64_t)(1 << 17)) {
			_cleanup_free_ char *rec = malloc(size);
			if (!rec)
				return apply_fail(a, -ENOMEM, "out of memory");
			const char *key;
			if (stream_copy(in, off + BLOCK, rec, size) && records_have_nul(rec, size, &key))
				return apply_fail(a, -EINVAL, "PAX %s record holds a NUL byte", key);
		}
		off += BLOCK + (size + BLOCK - 1) / BLOCK * BLOCK;
	}
	return 0;
}
