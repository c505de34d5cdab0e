/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic test data for the workloads: the same seed gives the same
 * tree on every driver and every run, so drivers are compared on equal work. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "util/fs-util.h"
#include "util/macro.h"

/* splitmix64: tiny, fast, and good enough for file sizes and contents. */
uint64_t bench_rng_next(struct bench_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(char *buf, size_t len, struct bench_rng *rng)
{
	size_t i = 0;
	while (i + 8 <= len) {
		uint64_t x = bench_rng_next(rng);
		memcpy(buf + i, &x, 8);
		i += 8;
	}
	while (i < len)
		buf[i++] = (char)bench_rng_next(rng);
}

int bench_gen_file(int dirfd, const char *name, int64_t size, uint64_t seed, struct snap_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "bench: create %s: %m", name);
	struct bench_rng rng = { seed };
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = malloc(CHUNK);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	fill(buf, CHUNK, &rng);
	for (int64_t done = 0; done < size;) {
		size_t n = (size_t)(size - done < CHUNK ? size - done : CHUNK);
		/* Vary the first word per chunk so blocks do not deduplicate. */
		uint64_t tag = bench_rng_next(&rng);
		memcpy(buf, &tag, sizeof(tag));
		int r = snap_write_all(fd, buf, n);
		if (r < 0)
			return snap_error_set(err, r, "bench: write %s: %s", name, strerror(-r));
		done += (int64_t)n;
	}
	return 0;
}

int bench_gen_tree(int dirfd, struct bench_rng *rng, int files, int64_t max_size, struct snap_error *err)
{
	char buf[16384];
	int dir = -1;
	_cleanup_close_ int dfd = -EBADF;
	for (int i = 0; i < files; i++) {
		if (i / 100 != dir) {
			dir = i / 100;
			char dname[32];
			snprintf(dname, sizeof(dname), "d%04d", dir);
			if (mkdirat(dirfd, dname, 0755) < 0 && errno != EEXIST)
				return snap_error_set(err, negative_errno(), "bench: mkdir %s: %m", dname);
			closep(&dfd);
			dfd = openat(dirfd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (dfd < 0)
				return snap_error_set(err, negative_errno(), "bench: open %s: %m", dname);
		}
		char name[32];
		snprintf(name, sizeof(name), "f%06d", i);
		size_t size = max_size > 0 ? (size_t)(bench_rng_next(rng) % (uint64_t)(max_size + 1)) : 0;
		if (size > sizeof(buf))
			size = sizeof(buf);
		fill(buf, size, rng);
		_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return snap_error_set(err, negative_errno(), "bench: create %s: %m", name);
		int r = snap_write_all(fd, buf, size);
		if (r < 0)
			return snap_error_set(err, r, "bench: write %s: %s", name, strerror(-r));
	}
	return 0;
}

/* Stream the layer straight into a gzip tar: no staging tree needed. */
int bench_gen_layer(const char *path, uint64_t seed, int small_files, int large_files,
		    int64_t large_size, struct snap_error *err)
{
	struct archive *a = archive_write_new();
	if (!a)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	archive_write_set_filter_option(a, "gzip", "compression-level", "1");
	if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		int r = snap_error_set(err, -EIO, "bench: create layer %s: %s", path, archive_error_string(a));
		archive_write_free(a);
		return r;
	}
	struct bench_rng rng = { seed };
	int r = 0;
	_cleanup_free_ char *buf = malloc(1 << 20);
	struct archive_entry *e = archive_entry_new();
	if (!buf || !e) {
		archive_write_free(a);
		archive_entry_free(e);
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	}
	int ndirs = (small_files + 99) / 100;
	for (int d = 0; d <= ndirs && r == 0; d++) {
		char name[64];
		snprintf(name, sizeof(name), "d%04d/", d);
		archive_entry_clear(e);
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
		archive_entry_set_mtime(e, 1700000000, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK)
			r = -EIO;
		for (int i = d * 100; i < (d + 1) * 100 && i < small_files && r == 0; i++) {
			size_t size = (size_t)(bench_rng_next(&rng) % 16385);
			snprintf(name, sizeof(name), "d%04d/f%06d", d, i);
			fill(buf, size, &rng);
			archive_entry_clear(e);
			archive_entry_set_pathname(e, name);
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, (la_int64_t)size);
			archive_entry_set_mtime(e, 1700000000, 0);
			if (archive_write_header(a, e) != ARCHIVE_OK ||
			    archive_write_data(a, buf, size) != (la_ssize_t)size)
				r = -EIO;
		}
	}
	fill(buf, 1 << 20, &rng);
	for (int i = 0; i < large_files && r == 0; i++) {
		char name[64];
		snprintf(name, sizeof(name), "large%02d.bin", i);
		archive_entry_clear(e);
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, large_size);
		archive_entry_set_mtime(e, 1700000000, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK)
			r = -EIO;
		for (int64_t done = 0; done < large_size && r == 0;) {
			size_t n = (size_t)(large_size - done < (1 << 20) ? large_size - done : (1 << 20));
			uint64_t tag = bench_rng_next(&rng);
			memcpy(buf, &tag, sizeof(tag));
			if (archive_write_data(a, buf, n) != (la_ssize_t)n)
				r = -EIO;
			done += (int64_t)n;
		}
	}
	if (r < 0)
		snap_error_set(err, r, "bench: write layer %s: %s", path, archive_error_string(a));
	if (archive_write_close(a) != ARCHIVE_OK && r == 0)
		r = snap_error_set(err, -EIO, "bench: close layer %s: %s", path, archive_error_string(a));
	archive_entry_free(e);
	archive_write_free(a);
	if (r < 0)
		unlink(path);
	return r;
}
