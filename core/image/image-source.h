/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where an import reads from: an image directory (OCI layout, or an
 * unpacked docker save) or a tar of one (OCI archive, docker-save tar).
 *
 * A tar is read once, streaming: members are hashed while they are copied
 * into staging blobs (small ones kept in memory), because the document that
 * says what the members are (index.json, manifest.json) may come last.
 * Nothing is published until the image has been validated.
 */
#ifndef SNAP_IMAGE_SOURCE_H
#define SNAP_IMAGE_SOURCE_H

#include "image/image-internal.h"

struct img_source;

int img_source_open(struct snap_core *core, const char *path, snap_image_progress_fn progress,
		    void *progress_ctx, struct img_source **ret, struct snap_error *err);
void img_source_free(struct img_source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct img_source, img_source_free)

/* Does the source hold a file of that name? */
bool img_source_has(struct img_source *s, const char *name);
/* Read a small file (at most IMG_DOC_MAX) whole, NUL-terminated. */
int img_source_read(struct img_source *s, const char *name, char **ret, size_t *ret_len,
		    struct snap_error *err);
/* Read blobs/sha256/<hex> of an OCI layout whole, checking digest and size. */
int img_source_read_blob(struct img_source *s, const struct oci_desc *d, char **ret, size_t *ret_len,
			 struct snap_error *err);
/* Put the file `name` into the content store, checking it against
 * expected_digest / expected_size when given (NULL / -1); ret_digest and
 * ret_size receive what was stored. */
int img_source_publish(struct img_source *s, const char *name, const char *expected_digest,
		       int64_t expected_size, char ret_digest[SNAP_DIGEST_MAX], uint64_t *ret_size,
		       struct snap_error *err);
/* Put a document held in memory into the content store (checked against
 * expected_digest), remembered for img_source_unpublish. */
int img_source_put(struct img_source *s, const char *buf, size_t len, const char *expected_digest,
		   struct snap_error *err);
/* Undo: delete the blobs this source added that no image references. */
void img_source_unpublish(struct img_source *s);
/* "name" of the source for messages and default image names. */
const char *img_source_path(const struct img_source *s);

#endif
