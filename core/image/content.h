/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content store: blobs (layer tars, configs, manifests) under
 * ROOT/content/sha256/<hex>, addressed by their sha256 digest.
 *
 * A blob is written to a staging file under ROOT/tmp while it is hashed,
 * checked against the digest and size it is expected to have, fsynced and
 * only then renamed into place: a blob under content/ is always complete and
 * matches its name.  A digest or size mismatch is an error and nothing is
 * kept.  Which blobs are in use is recorded in the metadata database by the
 * image store (image_blobs rows); unreferenced blobs are removed by
 * snap_image_gc().
 *
 * Processes that add blobs hold the content lock shared, processes that
 * delete blobs hold it exclusive, so a blob published by an import cannot
 * be collected before the import records its reference.
 *
 * Every function returns 0 (or an fd) or a negative errno and fills *err.
 */
#ifndef SNAP_CONTENT_H
#define SNAP_CONTENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "util/digest.h"
#include "util/macro.h"

struct snap_content_writer;

/* A new staging blob under ROOT/tmp. */
int snap_content_writer_new(struct snap_core *core, struct snap_content_writer **ret,
			    struct snap_error *err);
/* Append bytes (hashed as they are written). */
int snap_content_writer_write(struct snap_content_writer *w, const void *buf, size_t len,
			      struct snap_error *err);
/* The staging file's fd, for producers that write themselves (the layer
 * engine's diff).  Bytes written through it are not hashed: finish the
 * writer with snap_content_writer_finish_known(). */
int snap_content_writer_fd(struct snap_content_writer *w);
/* Finish: compute the digest, check it and the size against expected_digest
 * (NULL: any) and expected_size (-1: any), fsync.  The blob is not yet
 * visible; publish it or free the writer to drop it. */
int snap_content_writer_finish(struct snap_content_writer *w, const char *expected_digest,
			       int64_t expected_size, struct snap_error *err);
/* Finish a writer filled through its fd by a producer that computed the
 * digest and size of what it wrote itself. */
int snap_content_writer_finish_known(struct snap_content_writer *w, const char *digest,
				     uint64_t size, struct snap_error *err);
const char *snap_content_writer_digest(const struct snap_content_writer *w);
uint64_t snap_content_writer_size(const struct snap_content_writer *w);
/* Rename a finished blob into place.  A blob already present is kept (it
 * has the same content) and the staging file dropped.  *ret_new (may be
 * NULL) tells whether this call added the blob. */
int snap_content_writer_publish(struct snap_content_writer *w, bool *ret_new,
				struct snap_error *err);
/* Drop the staging file unless published; free. */
void snap_content_writer_free(struct snap_content_writer *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct snap_content_writer, snap_content_writer_free)

/* Write a whole buffer as a blob (finish + publish).  ret_digest may be NULL. */
int snap_content_put(struct snap_core *core, const void *buf, size_t len, const char *expected_digest,
		     char ret_digest[SNAP_DIGEST_MAX], bool *ret_new, struct snap_error *err);

/* Open a blob read-only; returns the fd.  -ENOENT "blob ...: not in the
 * content store" when absent.  ret_size may be NULL. */
int snap_content_open(struct snap_core *core, const char *digest, uint64_t *ret_size,
		      struct snap_error *err);
bool snap_content_exists(struct snap_core *core, const char *digest);
/* How snap_content_read trusts what it reads. */
enum snap_content_read_flags {
	/* Hash the bytes read and fail with -EIO unless they hash to the
	 * digest: for what leaves the store (export) and for verify.  Without
	 * it the blob is taken as stored: it was hashed as it was written
	 * (snap_content_writer), and the first hash in a process costs the
	 * load of libcrypto (~5 ms, a fifth of a `run --rm`). */
	SNAP_CONTENT_VERIFY = 1u << 0,
};

/* Read a small blob (at most `max` bytes) whole, NUL-terminated; flags
 * from enum snap_content_read_flags. */
int snap_content_read(struct snap_core *core, const char *digest, size_t max, unsigned flags, char **ret,
		      size_t *ret_len, struct snap_error *err);
/* Unlink a blob; missing is not an error. */
int snap_content_delete(struct snap_core *core, const char *digest, struct snap_error *err);

/* Call cb for every blob file present (digest form).  cb returns 0 to go
 * on, <0 to fail. */
typedef int (*snap_content_walk_fn)(const char *digest, void *userdata);
int snap_content_walk(struct snap_core *core, snap_content_walk_fn cb, void *userdata,
		      struct snap_error *err);

/* The content lock (flock on ROOT/content): shared while adding blobs,
 * exclusive while deleting.  Returns an fd to close to release it. */
int snap_content_lock(struct snap_core *core, bool exclusive, struct snap_error *err);


/* ---- fs-verity (content-verity.c) ---- */

/* Seal the file of `fd` with fs-verity (sha256, 4096-byte blocks); fd must
 * be read-only and the file have no writer.  Already sealed is fine.  Returns 0 or -errno; see
 * snap_content_verity_unsupported for the codes that only mean "not here". */
int snap_content_verity_enable(int fd);
/* Is code an "fs-verity not supported by this filesystem/kernel" error? */
bool snap_content_verity_unsupported(int code);
/* Does fd's file have fs-verity on? */
bool snap_content_verity_on(int fd);
/* Can blobs of this root be sealed?  1 yes, 0 no; *detail says why (for
 * `snapctl info`). */
int snap_content_verity_probe(struct snap_core *core, char *detail, size_t len);

#endif
