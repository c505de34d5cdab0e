/* SPDX-License-Identifier: Apache-2.0 */
#include "image/image-source.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"

/* Members up to this size stay in memory (documents, tiny layers), as
 * long as all of them together stay under MEM_TOTAL_MAX. */
#define MEM_ITEM_MAX ((int64_t)1 << 20)
#define MEM_TOTAL_MAX ((int64_t)64 << 20)
#define COPY_CHUNK ((size_t)1 << 20)

struct src_item {
	char *name;
	char *mem; /* or */
	struct snap_content_writer *w;
	size_t len;
};

struct img_source {
	struct snap_core *core;
	char *path;
	int dirfd; /* a directory source, else -EBADF */
	struct src_item *items;
	size_t n_items;
	int64_t mem_total;
	char (*published)[SNAP_DIGEST_MAX];
	size_t n_published;
	snap_image_progress_fn progress;
	void *progress_ctx;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive, archive_read_free)

const char *img_source_path(const struct img_source *s)
{
	return s->path;
}

void img_source_free(struct img_source *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_items; i++) {
		free(s->items[i].name);
		free(s->items[i].mem);
		snap_content_writer_free(s->items[i].w);
	}
	free(s->items);
	free(s->published);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->path);
	free(s);
}

static struct src_item *find_item(struct img_source *s, const char *name)
{
	for (size_t i = 0; i < s->n_items; i++)
		if (strcmp(s->items[i].name, name) == 0)
			return &s->items[i];
	return NULL;
}

static int read_tar_member(struct img_source *s, struct archive *a, struct src_item *it, int64_t size,
			   int64_t archive_size, struct snap_error *err)
{
	if (size <= MEM_ITEM_MAX && s->mem_total + size <= MEM_TOTAL_MAX) {
		s->mem_total += size;
		it->mem = malloc((size_t)size + 1);
		if (!it->mem)
			return snap_error_set(err, -ENOMEM, "%s: out of memory", s->path);
		la_ssize_t n = archive_read_data(a, it->mem, (size_t)size);
		if (n < 0 || n != size)
			return snap_error_set(err, -EIO, "read: %s",
					      n < 0 ? archive_error_string(a) : "short read");
		it->mem[size] = '\0';
		it->len = (size_t)size;
		return 0;
	}
	int r = snap_content_writer_new(s->core, &it->w, err);
	if (r < 0)
		return r;
	const void *buf;
	size_t len;
	la_int64_t off;
	uint64_t written = 0;
	static const char zeros[4096];
	int ar;
	while ((ar = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		/* Sparse members come with holes: fill them, a blob is dense. */
		for (la_int64_t have = (la_int64_t)written; have < off;) {
			size_t z = (size_t)(off - have) < sizeof(zeros) ? (size_t)(off - have) : sizeof(zeros);
			r = snap_content_writer_write(it->w, zeros, z, err);
			if (r < 0)
				return r;
			have += (la_int64_t)z;
			written += z;
		}
		r = snap_content_writer_write(it->w, buf, len, err);
		written += len;
		if (r < 0)
			return r;
		if (s->progress)
			s->progress(s->progress_ctx, "copy", s->path,
				    (uint64_t)archive_filter_bytes(a, -1), (uint64_t)archive_size);
	}
	if (ar != ARCHIVE_EOF)
		return snap_error_set(err, -EIO, "read: %s", archive_error_string(a));
	while (written < (uint64_t)size) {
		size_t z = (uint64_t)size - written < sizeof(zeros) ? (size_t)((uint64_t)size - written)
								     : sizeof(zeros);
		r = snap_content_writer_write(it->w, zeros, z, err);
		if (r < 0)
			return r;
		written += z;
	}
	/* A member named after its digest (OCI archives) is checked as it
	 * is copied: a wrong digest fails here, before anything is kept. */
	const char *expected = NULL;
	char digest[SNAP_DIGEST_MAX];
	if (strncmp(it->name, "blobs/sha256/", 13) == 0) {
		snprintf(digest, sizeof(digest), SNAP_SHA256_PREFIX "%s", it->name + 13);
		if (snap_digest_valid(digest))
			expected = digest;
	}
	return snap_content_writer_finish(it->w, expected, size, err);
}

static int open_tar(struct img_source *s, int fd, int64_t archive_size, struct snap_error *err)
{
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();
	if (!a)
		return snap_error_set(err, -ENOMEM, "%s: out of memory", s->path);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK)
		return snap_error_set(err, -EINVAL, "%s: not an image archive: %s", s->path,
				      archive_error_string(a));
	struct archive_entry *e;
	int ar;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		_cleanup_free_ char *name = snap_path_normalize(archive_entry_pathname(e));
		if (!name)
			return snap_error_set(err, -ENOMEM, "%s: out of memory", s->path);
		if (find_item(s, name))
			return snap_error_set(err, -EINVAL, "%s: member %s appears twice", s->path, name);
		struct src_item *nv = realloc(s->items, (s->n_items + 1) * sizeof(*nv));
		if (!nv)
			return snap_error_set(err, -ENOMEM, "%s: out of memory", s->path);
		s->items = nv;
		struct src_item *it = &s->items[s->n_items++];
		*it = (struct src_item){.name = TAKE_PTR(name)};
		int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
		int r = read_tar_member(s, a, it, size, archive_size, err);
		if (r < 0)
			return snap_error_prefix(err, "import %s: member %s", s->path, it->name);
	}
	if (ar != ARCHIVE_EOF)
		return snap_error_set(err, -EINVAL, "%s: not an image archive: %s", s->path,
				      archive_error_string(a));
	if (s->progress)
		s->progress(s->progress_ctx, "copy", s->path, (uint64_t)archive_size, (uint64_t)archive_size);
	return 0;
}

int img_source_open(struct snap_core *core, const char *path, snap_image_progress_fn progress,
		    void *progress_ctx, struct img_source **ret, struct snap_error *err)
{
	_cleanup_(img_source_freep) struct img_source *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path)))
		return snap_error_set(err, -ENOMEM, "import %s: out of memory", path);
	s->core = core;
	s->dirfd = -EBADF;
	s->progress = progress;
	s->progress_ctx = progress_ctx;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "open %s: %s", path, strerror(-r));
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "stat %s: %s", path, strerror(-r));
	}
	if (S_ISDIR(st.st_mode)) {
		s->dirfd = TAKE_FD(fd);
	} else if (S_ISREG(st.st_mode)) {
		int r = open_tar(s, fd, st.st_size, err);
		if (r < 0)
			return r;
	} else {
		return snap_error_set(err, -EINVAL, "%s: not a directory or an archive", path);
	}
	*ret = TAKE_PTR(s);
	return 0;
}

bool img_source_has(struct img_source *s, const char *name)
{
	if (s->dirfd < 0)
		return find_item(s, name) != NULL;
	_cleanup_close_ int fd = snap_openat_in_root(s->dirfd, name, O_PATH, 0);
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static int read_fd_whole(int fd, const char *what, char **ret, size_t *ret_len, struct snap_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "stat %s: %s", what, strerror(-r));
	}
	if (!S_ISREG(st.st_mode))
		return snap_error_set(err, -EINVAL, "%s: not a regular file", what);
	if ((uint64_t)st.st_size > IMG_DOC_MAX)
		return snap_error_set(err, -EFBIG, "%s: %" PRId64 " bytes, too large for an image document",
				      what, (int64_t)st.st_size);
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "read %s: out of memory", what);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = negative_errno();
			return snap_error_set(err, r, "read %s: %s", what, strerror(-r));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = got;
	return 0;
}

int img_source_read(struct img_source *s, const char *name, char **ret, size_t *ret_len,
		    struct snap_error *err)
{
	char what[512];
	snprintf(what, sizeof(what), "%s: %s", s->path, name);
	if (s->dirfd >= 0) {
		_cleanup_close_ int fd = snap_openat_in_root(s->dirfd, name, O_RDONLY, 0);
		if (fd < 0)
			return snap_error_set(err, fd, "%s: %s", what,
					      fd == -ENOENT ? "missing" : strerror(-fd));
		return read_fd_whole(fd, what, ret, ret_len, err);
	}
	struct src_item *it = find_item(s, name);
	if (!it)
		return snap_error_set(err, -ENOENT, "%s: missing", what);
	if (it->w)
		return read_fd_whole(snap_content_writer_fd(it->w), what, ret, ret_len, err);
	char *buf = malloc(it->len + 1);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "read %s: out of memory", what);
	memcpy(buf, it->mem, it->len + 1);
	*ret = buf;
	*ret_len = it->len;
	return 0;
}

static void blob_name(char *buf, size_t len, const char *digest)
{
	snprintf(buf, len, "blobs/sha256/%s", snap_digest_hex(digest));
}

int img_source_read_blob(struct img_source *s, const struct oci_desc *d, char **ret, size_t *ret_len,
			 struct snap_error *err)
{
	char name[128];
	blob_name(name, sizeof(name), d->digest);
	if ((uint64_t)d->size > IMG_DOC_MAX)
		return snap_error_set(err, -EFBIG, "%s: blob %s: %" PRId64 " bytes, too large for an image document",
				      s->path, d->digest, d->size);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = img_source_read(s, name, &buf, &len, err);
	if (r == -ENOENT)
		return snap_error_set(err, r, "%s: blob %s is missing", s->path, d->digest);
	if (r < 0)
		return r;
	if (len != (uint64_t)d->size)
		return snap_error_set(err, -EINVAL, "%s: blob %s: size mismatch: descriptor says %" PRId64
				      " bytes, blob has %zu", s->path, d->digest, d->size, len);
	char actual[SNAP_DIGEST_MAX];
	r = snap_sha256_buf(buf, len, actual);
	if (r < 0)
		return snap_error_set(err, r, "hash %s: %s", d->digest, strerror(-r));
	if (strcmp(actual, d->digest) != 0)
		return snap_error_set(err, -EINVAL, "%s: blob %s: digest mismatch: content hashes to %s",
				      s->path, d->digest, actual);
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int note_published(struct img_source *s, const char *digest)
{
	char (*nv)[SNAP_DIGEST_MAX] = realloc(s->published, (s->n_published + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	s->published = nv;
	snprintf(s->published[s->n_published++], SNAP_DIGEST_MAX, "%s", digest);
	return 0;
}

static int copy_from_fd(struct img_source *s, int fd, const char *name, struct snap_content_writer *w,
			struct snap_error *err)
{
	_cleanup_free_ char *buf = malloc(COPY_CHUNK);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "copy %s: out of memory", name);
	struct stat st;
	uint64_t total = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0, done = 0;
	for (;;) {
		ssize_t n = read(fd, buf, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = negative_errno();
			return snap_error_set(err, r, "%s: read %s: %s", s->path, name, strerror(-r));
		}
		if (n == 0)
			return 0;
		int r = snap_content_writer_write(w, buf, (size_t)n, err);
		if (r < 0)
			return r;
		done += (uint64_t)n;
		if (s->progress)
			s->progress(s->progress_ctx, "copy", name, done, total);
	}
}

int img_source_publish(struct img_source *s, const char *name, const char *expected_digest,
		       int64_t expected_size, char ret_digest[SNAP_DIGEST_MAX], uint64_t *ret_size,
		       struct snap_error *err)
{
	char what[512];
	snprintf(what, sizeof(what), "%s: %s", s->path, name);
	/* Already stored (a shared base layer): the store's copy was checked
	 * when it was added, so skip reading the source again. */
	if (expected_digest && expected_size >= 0 && snap_content_exists(s->core, expected_digest)) {
		uint64_t have = 0;
		_cleanup_close_ int fd = snap_content_open(s->core, expected_digest, &have, err);
		if (fd < 0)
			return fd;
		if (have != (uint64_t)expected_size)
			return snap_error_set(err, -EINVAL, "%s: size mismatch: descriptor says %" PRId64
					      " bytes, blob %s has %" PRIu64, what, expected_size, expected_digest, have);
		snprintf(ret_digest, SNAP_DIGEST_MAX, "%s", expected_digest);
		*ret_size = have;
		return 0;
	}
	bool added = false;
	int r;
	if (s->dirfd >= 0) {
		_cleanup_close_ int fd = snap_openat_in_root(s->dirfd, name, O_RDONLY, 0);
		if (fd < 0)
			return snap_error_set(err, fd, "%s: %s", what,
					      fd == -ENOENT ? "missing" : strerror(-fd));
		_cleanup_(snap_content_writer_freep) struct snap_content_writer *w = NULL;
		r = snap_content_writer_new(s->core, &w, err);
		if (r == 0)
			r = copy_from_fd(s, fd, name, w, err);
		if (r == 0)
			r = snap_content_writer_finish(w, expected_digest, expected_size, err);
		if (r == 0)
			r = snap_content_writer_publish(w, &added, err);
		if (r < 0)
			return snap_error_prefix(err, "import %s", s->path);
		snprintf(ret_digest, SNAP_DIGEST_MAX, "%s", snap_content_writer_digest(w));
		*ret_size = snap_content_writer_size(w);
	} else {
		struct src_item *it = find_item(s, name);
		if (!it)
			return snap_error_set(err, -ENOENT, "%s: missing", what);
		if (it->w) {
			const char *digest = snap_content_writer_digest(it->w);
			uint64_t size = snap_content_writer_size(it->w);
			if (expected_size >= 0 && (uint64_t)expected_size != size)
				return snap_error_set(err, -EINVAL, "%s: size mismatch: expected %" PRId64
						      " bytes, got %" PRIu64, what, expected_size, size);
			if (expected_digest && strcmp(expected_digest, digest) != 0)
				return snap_error_set(err, -EINVAL, "%s: digest mismatch: expected %s, content hashes to %s",
						      what, expected_digest, digest);
			r = snap_content_writer_publish(it->w, &added, err);
			if (r < 0)
				return r;
			snprintf(ret_digest, SNAP_DIGEST_MAX, "%s", digest);
			*ret_size = size;
		} else {
			if (expected_size >= 0 && (uint64_t)expected_size != it->len)
				return snap_error_set(err, -EINVAL, "%s: size mismatch: expected %" PRId64
						      " bytes, got %zu", what, expected_size, it->len);
			r = snap_content_put(s->core, it->mem, it->len, expected_digest, ret_digest, &added, err);
			if (r < 0)
				return snap_error_prefix(err, "import %s", what);
			*ret_size = it->len;
		}
	}
	if (added && note_published(s, ret_digest) < 0)
		return snap_error_set(err, -ENOMEM, "import %s: out of memory", s->path);
	return 0;
}

int img_source_put(struct img_source *s, const char *buf, size_t len, const char *expected_digest,
		   struct snap_error *err)
{
	bool added = false;
	char digest[SNAP_DIGEST_MAX];
	int r = snap_content_put(s->core, buf, len, expected_digest, digest, &added, err);
	if (r < 0)
		return r;
	if (added && note_published(s, digest) < 0)
		return snap_error_set(err, -ENOMEM, "import %s: out of memory", s->path);
	return 0;
}

void img_source_unpublish(struct img_source *s)
{
	for (size_t i = 0; i < s->n_published; i++)
		if (img_db_blob_referenced(s->core, s->published[i], NULL) == 0)
			snap_content_delete(s->core, s->published[i], NULL);
	s->n_published = 0;
}
