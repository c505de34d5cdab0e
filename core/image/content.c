/* SPDX-License-Identifier: Apache-2.0 */
#include "image/content.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/hash-thread.h"
#include "util/fs-util.h"
#include "util/macro.h"

#define CONTENT_DIR "content"
#define BLOBS_DIR "content/sha256"

struct snap_content_writer {
	struct snap_core *core;
	char *dir;         /* locked staging directory under ROOT/tmp */
	char *staging;     /* dir/blob, NULL once published or dropped */
	int fd;
	struct snap_sha256 hash;
	bool finished;
	bool published;
	char digest[SNAP_DIGEST_MAX];
	uint64_t size;
	uint64_t flushed; /* writeback started up to here (snap_content_writer_write) */
	struct hash_thread *hasher; /* from the first big block on */
	bool hash_inline;              /* the hasher could not start */
};

/* Start the writeback of a blob's pages every this many bytes, without
 * waiting for it, so that the fsync before the rename finds most of the
 * blob on disk already instead of writing all of it then: the disk works
 * while the ingest reads and hashes the rest.  Only our own pages (not a
 * syncfs's neighbours). */
#define WRITEBACK_AHEAD (8u << 20)

/* Blocks from this size on are hashed on the hasher's thread while this
 * one writes them (util/hash-thread.h): an import's ingest reads 1 MiB
 * blocks.  Smaller ones are not worth two thread switches. */
#define HASH_BESIDE_MIN (256u << 10)

static int ensure_dir_at(int dirfd, const char *path)
{
	if (mkdirat(dirfd, path, 0700) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

static int ensure_blobs_dir(struct snap_core *core, struct snap_error *err)
{
	int rootfd = snap_core_rootfd(core);
	int r = ensure_dir_at(rootfd, CONTENT_DIR);
	if (r == 0)
		r = ensure_dir_at(rootfd, BLOBS_DIR);
	if (r < 0)
		return snap_error_set(err, r, "create %s/%s: %s", snap_core_root(core), BLOBS_DIR,
				      strerror(-r));
	return 0;
}

static void writer_release_dir(struct snap_content_writer *w)
{
	if (!w->dir)
		return;
	rmdir(w->dir);
	snap_core_staging_done(w->core, w->dir);
	free(w->dir);
	w->dir = NULL;
}

int snap_content_writer_new(struct snap_core *core, struct snap_content_writer **ret,
			    struct snap_error *err)
{
	_cleanup_(snap_content_writer_freep) struct snap_content_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return snap_error_set(err, -ENOMEM, "new blob: out of memory");
	w->core = core;
	w->fd = -EBADF;
	/* A staging directory of the core's kind (locked while we live), so
	 * that a concurrent check/gc never takes our half-written blob for a
	 * crash leftover. */
	int r = snap_core_mkstaging(core, "blob", &w->dir, err);
	if (r < 0)
		return snap_error_prefix(err, "new blob");
	if (asprintf(&w->staging, "%s/blob", w->dir) < 0) {
		w->staging = NULL;
		return snap_error_set(err, -ENOMEM, "new blob: out of memory");
	}
	w->fd = open(w->staging, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		r = negative_errno();
		snap_error_set(err, r, "create staging blob %s: %s", w->staging, strerror(-r));
		free(w->staging);
		w->staging = NULL;
		return r;
	}
	r = snap_sha256_init(&w->hash);
	if (r < 0)
		return snap_error_set(err, r, "new blob: sha256: %s", strerror(-r));
	*ret = TAKE_PTR(w);
	return 0;
}

int snap_content_writer_write(struct snap_content_writer *w, const void *buf, size_t len,
			      struct snap_error *err)
{
	if (w->finished)
		return snap_error_set(err, -EINVAL, "write blob %s: already finished", w->staging);
	if (len >= HASH_BESIDE_MIN && !w->hasher && !w->hash_inline)
		w->hash_inline = hash_thread_new(&w->hash, &w->hasher) < 0;
	int r, h;
	if (len >= HASH_BESIDE_MIN && w->hasher) {
		hash_thread_post(w->hasher, buf, len);
		r = snap_write_all(w->fd, buf, len);
		h = hash_thread_wait(w->hasher);
	} else {
		r = snap_write_all(w->fd, buf, len);
		h = r < 0 ? 0 : snap_sha256_update(&w->hash, buf, len);
	}
	if (r < 0)
		return snap_error_set(err, r, "write staging blob %s: %s", w->staging, strerror(-r));
	if (h < 0)
		return snap_error_set(err, h, "hash staging blob %s: %s", w->staging, strerror(-h));
	uint64_t end = w->hash.size;
	if (end - w->flushed >= WRITEBACK_AHEAD && !snap_core_no_sync(w->core)) {
		/* Errors are the fsync's to report. */
		(void)sync_file_range(w->fd, (off_t)w->flushed, (off_t)(end - w->flushed), SYNC_FILE_RANGE_WRITE);
		w->flushed = end;
	}
	return 0;
}

int snap_content_writer_fd(struct snap_content_writer *w)
{
	return w->fd;
}

static int writer_sync(struct snap_content_writer *w, struct snap_error *err)
{
	/* The data must be on disk before the rename publishes the name: a
	 * crash must never leave a blob whose content does not match it. */
	if (!snap_core_no_sync(w->core) && fsync(w->fd) < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "fsync staging blob %s: %s", w->staging, strerror(-r));
	}
	w->finished = true;
	return 0;
}

int snap_content_writer_finish(struct snap_content_writer *w, const char *expected_digest,
			       int64_t expected_size, struct snap_error *err)
{
	if (w->finished)
		return snap_error_set(err, -EINVAL, "finish blob %s: already finished", w->staging);
	/* No more blocks: the hasher's thread goes (an archive's blobs wait
	 * for their publication finished, not with a thread each). */
	hash_thread_free(w->hasher);
	w->hasher = NULL;
	w->size = w->hash.size;
	int r = snap_sha256_final(&w->hash, w->digest);
	if (r < 0)
		return snap_error_set(err, r, "hash staging blob %s: %s", w->staging, strerror(-r));
	if (expected_size >= 0 && (uint64_t)expected_size != w->size)
		return snap_error_set(err, -EINVAL, "blob %s: size mismatch: expected %" PRId64
				      " bytes, got %" PRIu64,
				      expected_digest ? expected_digest : w->digest, expected_size, w->size);
	if (expected_digest && strcmp(expected_digest, w->digest) != 0)
		return snap_error_set(err, -EINVAL, "blob %s: digest mismatch: content hashes to %s",
				      expected_digest, w->digest);
	return writer_sync(w, err);
}

int snap_content_writer_finish_known(struct snap_content_writer *w, const char *digest,
				     uint64_t size, struct snap_error *err)
{
	if (w->finished)
		return snap_error_set(err, -EINVAL, "finish blob %s: already finished", w->staging);
	if (!snap_digest_valid(digest))
		return snap_error_set(err, -EINVAL, "finish blob %s: invalid digest '%s'", w->staging,
				      digest);
	hash_thread_free(w->hasher);
	w->hasher = NULL;
	snap_sha256_done(&w->hash);
	snprintf(w->digest, sizeof(w->digest), "%s", digest);
	w->size = size;
	return writer_sync(w, err);
}

const char *snap_content_writer_digest(const struct snap_content_writer *w)
{
	return w->finished ? w->digest : NULL;
}

uint64_t snap_content_writer_size(const struct snap_content_writer *w)
{
	return w->size;
}

static void blob_relpath(char *buf, size_t len, const char *digest)
{
	snprintf(buf, len, BLOBS_DIR "/%s", snap_digest_hex(digest));
}

int snap_content_writer_publish(struct snap_content_writer *w, bool *ret_new, struct snap_error *err)
{
	if (!w->finished)
		return snap_error_set(err, -EINVAL, "publish blob %s: not finished", w->staging);
	if (w->published) {
		if (ret_new)
			*ret_new = false;
		return 0;
	}
	int r = ensure_blobs_dir(w->core, err);
	if (r < 0)
		return r;
	char rel[128];
	blob_relpath(rel, sizeof(rel), w->digest);
	/* RENAME_NOREPLACE: a blob already in place has the same content and
	 * may be open by readers; keep it and drop ours. */
	bool added = true;
	if (renameat2(AT_FDCWD, w->staging, snap_core_rootfd(w->core), rel, RENAME_NOREPLACE) < 0) {
		r = negative_errno();
		if (r != -EEXIST)
			return snap_error_set(err, r, "publish blob %s: rename %s: %s", w->digest,
					      w->staging, strerror(-r));
		unlink(w->staging);
		added = false;
	}
	/* The name too, before an image row names the blob. */
	if (added && !snap_core_no_sync(w->core)) {
		_cleanup_close_ int dfd = openat(snap_core_rootfd(w->core), BLOBS_DIR,
						 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) < 0)
			return snap_error_set(err, negative_errno(), "publish blob %s: fsync %s: %s", w->digest,
					      BLOBS_DIR, strerror(errno));
	}
	if (added) {
		/* Sealed once in place.  The kernel refuses verity while a
		 * writer exists, so our read-write fd is swapped for a
		 * read-only one (callers may still read the blob through it).
		 * Unsupported is fine: the digest stays the reference
		 * (content-verity.c); any other failure leaves a published,
		 * intact blob that is only not sealed, which `snapctl verify`
		 * reports. */
		int rfd = openat(snap_core_rootfd(w->core), rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (rfd >= 0) {
			close(w->fd);
			w->fd = rfd;
			(void)snap_content_verity_enable(rfd);
		}
	}
	free(w->staging);
	w->staging = NULL;
	writer_release_dir(w);
	w->published = true;
	if (ret_new)
		*ret_new = added;
	return 0;
}

void snap_content_writer_free(struct snap_content_writer *w)
{
	if (!w)
		return;
	if (w->staging) {
		unlink(w->staging);
		free(w->staging);
	}
	writer_release_dir(w);
	if (w->fd >= 0)
		close(w->fd);
	hash_thread_free(w->hasher);
	snap_sha256_done(&w->hash);
	free(w);
}

int snap_content_put(struct snap_core *core, const void *buf, size_t len, const char *expected_digest,
		     char ret_digest[SNAP_DIGEST_MAX], bool *ret_new, struct snap_error *err)
{
	_cleanup_(snap_content_writer_freep) struct snap_content_writer *w = NULL;
	int r = snap_content_writer_new(core, &w, err);
	if (r < 0)
		return r;
	r = snap_content_writer_write(w, buf, len, err);
	if (r < 0)
		return r;
	r = snap_content_writer_finish(w, expected_digest, -1, err);
	if (r < 0)
		return r;
	r = snap_content_writer_publish(w, ret_new, err);
	if (r < 0)
		return r;
	if (ret_digest)
		memcpy(ret_digest, w->digest, SNAP_DIGEST_MAX);
	return 0;
}

int snap_content_open(struct snap_core *core, const char *digest, uint64_t *ret_size,
		      struct snap_error *err)
{
	if (!snap_digest_valid(digest))
		return snap_error_set(err, -EINVAL, "open blob: invalid digest '%s'", digest);
	char rel[128];
	blob_relpath(rel, sizeof(rel), digest);
	_cleanup_close_ int fd = openat(snap_core_rootfd(core), rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int r = negative_errno();
		if (r == -ENOENT)
			return snap_error_set(err, r, "blob %s: not in the content store", digest);
		return snap_error_set(err, r, "open blob %s: %s", digest, strerror(-r));
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "stat blob %s: %s", digest, strerror(-r));
	}
	if (!S_ISREG(st.st_mode))
		return snap_error_set(err, -EINVAL, "blob %s: not a regular file", digest);
	if (ret_size)
		*ret_size = (uint64_t)st.st_size;
	return TAKE_FD(fd);
}

bool snap_content_exists(struct snap_core *core, const char *digest)
{
	if (!snap_digest_valid(digest))
		return false;
	char rel[128];
	struct stat st;
	blob_relpath(rel, sizeof(rel), digest);
	return fstatat(snap_core_rootfd(core), rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int snap_content_read(struct snap_core *core, const char *digest, size_t max, unsigned flags, char **ret,
		      size_t *ret_len, struct snap_error *err)
{
	uint64_t size;
	_cleanup_close_ int fd = snap_content_open(core, digest, &size, err);
	if (fd < 0)
		return fd;
	if (size > max)
		return snap_error_set(err, -EFBIG, "blob %s: %" PRIu64 " bytes, more than the %zu allowed",
				      digest, size, max);
	_cleanup_free_ char *buf = malloc(size + 1);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "read blob %s: out of memory", digest);
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = negative_errno();
			return snap_error_set(err, r, "read blob %s: %s", digest, strerror(-r));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (got != size)
		return snap_error_set(err, -EIO, "blob %s: %zu bytes read of %" PRIu64 " (truncated meanwhile)",
				      digest, got, size);
	if (flags & SNAP_CONTENT_VERIFY) {
		char actual[SNAP_DIGEST_MAX];
		int r = snap_sha256_buf(buf, got, actual);
		if (r < 0)
			return snap_error_set(err, r, "hash blob %s: %s", digest, strerror(-r));
		if (strcmp(actual, digest) != 0)
			return snap_error_set(err, -EIO, "blob %s: corrupt in the content store (hashes to %s)",
					      digest, actual);
	}
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = got;
	return 0;
}

int snap_content_delete(struct snap_core *core, const char *digest, struct snap_error *err)
{
	if (!snap_digest_valid(digest))
		return snap_error_set(err, -EINVAL, "delete blob: invalid digest '%s'", digest);
	char rel[128];
	blob_relpath(rel, sizeof(rel), digest);
	if (unlinkat(snap_core_rootfd(core), rel, 0) < 0 && errno != ENOENT) {
		int r = negative_errno();
		return snap_error_set(err, r, "delete blob %s: %s", digest, strerror(-r));
	}
	return 0;
}

int snap_content_walk(struct snap_core *core, snap_content_walk_fn cb, void *userdata,
		      struct snap_error *err)
{
	int fd = openat(snap_core_rootfd(core), BLOBS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		int r = negative_errno();
		return snap_error_set(err, r, "open %s/%s: %s", snap_core_root(core), BLOBS_DIR,
				      strerror(-r));
	}
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		close(fd);
		return snap_error_set(err, r, "read %s/%s: %s", snap_core_root(core), BLOBS_DIR,
				      strerror(-r));
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		char digest[SNAP_DIGEST_MAX];
		if (strlen(de->d_name) != 64)
			continue;
		snprintf(digest, sizeof(digest), SNAP_SHA256_PREFIX "%s", de->d_name);
		if (!snap_digest_valid(digest))
			continue;
		int r = cb(digest, userdata);
		if (r < 0)
			return r;
	}
	if (errno) {
		int r = negative_errno();
		return snap_error_set(err, r, "read %s/%s: %s", snap_core_root(core), BLOBS_DIR,
				      strerror(-r));
	}
	return 0;
}

int snap_content_lock(struct snap_core *core, bool exclusive, struct snap_error *err)
{
	int r = ensure_blobs_dir(core, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = openat(snap_core_rootfd(core), CONTENT_DIR,
					O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		return snap_error_set(err, r, "open %s/%s: %s", snap_core_root(core), CONTENT_DIR,
				      strerror(-r));
	}
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		r = negative_errno();
		return snap_error_set(err, r, "lock %s/%s: %s", snap_core_root(core), CONTENT_DIR,
				      strerror(-r));
	}
	return TAKE_FD(fd);
}
