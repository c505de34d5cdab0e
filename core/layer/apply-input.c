/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input of a layer apply: two libarchive readers are stacked.  The
 * first reads the fd in "raw" format with every decompression filter, so
 * what it returns is the uncompressed stream itself: that is the only place
 * where the bytes of the diff ID can be hashed (a tar reader hands out
 * entries, not the stream).  The second reader parses tar from those bytes.
 * The fd bytes are hashed in the first reader's read callback (the blob
 * digest).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer/apply-internal.h"
#include "util/macro.h"

#define READ_BUF (1 << 17)

int apply_tar_fail(struct apply *a, struct apply_input *in, const char *what)
{
	const char *s = in->raw_error[0] ? in->raw_error : archive_error_string(a->tar);
	int e = in->io_error ? in->io_error : archive_errno(a->tar) > 0 ? -archive_errno(a->tar) : -EIO;
	return apply_fail(a, e, "%s: %s", what, s ? s : "corrupt input");
}

static la_ssize_t fd_read(struct archive *ar, void *ctx, const void **buf)
{
	struct apply_input *in = ctx;
	for (;;) {
		ssize_t n = read(in->fd, in->fdbuf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			in->io_error = negative_errno();
			archive_set_error(ar, errno, "read layer: %s", strerror(errno));
			return -1;
		}
		snap_sha256_update(&in->blob, in->fdbuf, (size_t)n);
		*buf = in->fdbuf;
		return n;
	}
}

static la_ssize_t raw_read(struct archive *ar, void *ctx, const void **buf)
{
	struct apply_input *in = ctx;
	la_ssize_t n = archive_read_data(in->raw, in->rawbuf, READ_BUF);
	if (n < 0) {
		const char *s = archive_error_string(in->raw);
		snprintf(in->raw_error, sizeof(in->raw_error), "decompress: %s", s ? s : "corrupt input");
		archive_set_error(ar, archive_errno(in->raw) > 0 ? archive_errno(in->raw) : EIO, "%s",
				  in->raw_error);
		return -1;
	}
	if (!in->plain)
		snap_sha256_update(&in->diff, in->rawbuf, (size_t)n);
	*buf = in->rawbuf;
	return n;
}

void apply_input_done(struct apply_input *in)
{
	if (in->raw)
		archive_read_free(in->raw);
	snap_sha256_done(&in->blob);
	snap_sha256_done(&in->diff);
	free(in->fdbuf);
	free(in->rawbuf);
}

int apply_input_open(struct apply_input *in, int fd, struct archive **ret_tar, struct snap_error *err)
{
	in->fd = fd;
	if (snap_sha256_init(&in->blob) < 0 || snap_sha256_init(&in->diff) < 0 ||
	    !(in->fdbuf = malloc(READ_BUF)) || !(in->rawbuf = malloc(READ_BUF)) ||
	    !(in->raw = archive_read_new()))
		return snap_error_set(err, -ENOMEM, "apply layer: out of memory");
	/* Only filters built into libarchive: none spawns an external
	 * program on untrusted input. */
	archive_read_support_filter_gzip(in->raw);
	archive_read_support_filter_zstd(in->raw);
	archive_read_support_filter_xz(in->raw);
	archive_read_support_filter_bzip2(in->raw);
	archive_read_support_format_raw(in->raw);
	struct archive_entry *e;
	if (archive_read_open(in->raw, in, NULL, fd_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(in->raw, &e) != ARCHIVE_OK) {
		const char *s = archive_error_string(in->raw);
		int code = in->io_error ? in->io_error : -EINVAL;
		return snap_error_set(err, code, "apply layer: %s", s ? s : "empty input");
	}
	in->plain = archive_filter_code(in->raw, 0) == ARCHIVE_FILTER_NONE;
	struct archive *tar = archive_read_new();
	if (!tar)
		return snap_error_set(err, -ENOMEM, "apply layer: out of memory");
	archive_read_support_format_tar(tar);
	if (archive_read_open(tar, in, NULL, raw_read, NULL) != ARCHIVE_OK) {
		const char *s = in->raw_error[0] ? in->raw_error : archive_error_string(tar);
		int r = snap_error_set(err, -EINVAL, "apply layer: not a tar: %s", s ? s : "unknown format");
		archive_read_free(tar);
		return r;
	}
	*ret_tar = tar;
	return 0;
}

/* Hash what the tar reader left: the end-of-archive padding and anything
 * after it, so the digests cover the whole stream and the whole blob. */
int apply_input_drain(struct apply_input *in, struct snap_error *err)
{
	for (;;) {
		la_ssize_t n = archive_read_data(in->raw, in->rawbuf, READ_BUF);
		if (n < 0) {
			const char *s = archive_error_string(in->raw);
			return snap_error_set(err, -EINVAL, "apply layer: decompress: %s",
					      s ? s : "corrupt input");
		}
		if (n == 0)
			break;
		if (!in->plain)
			snap_sha256_update(&in->diff, in->rawbuf, (size_t)n);
	}
	for (;;) {
		ssize_t n = read(in->fd, in->fdbuf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return snap_error_set(err, negative_errno(), "apply layer: read: %s", strerror(errno));
		if (n == 0)
			return 0;
		snap_sha256_update(&in->blob, in->fdbuf, (size_t)n);
	}
}
