/* SPDX-License-Identifier: Apache-2.0 */
/* sha256 digests through OpenSSL's EVP interface, formatted the OCI way
 * ("sha256:" + 64 lowercase hex digits). */
#ifndef SNAP_DIGEST_H
#define SNAP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */
#define SNAP_SHA256_PREFIX "sha256:"

struct evp_md_ctx_st;

struct snap_sha256 {
	struct evp_md_ctx_st *ctx;
	uint64_t size; /* bytes hashed so far */
};

/* Start a digest.  Returns 0, -ENOMEM, or -ELIBACC/-ELIBBAD when libcrypto
 * cannot be loaded (it is loaded on the first call: digest.c says why). */
int snap_sha256_init(struct snap_sha256 *h);
/* Hash more bytes.  Returns 0 or -EIO. */
int snap_sha256_update(struct snap_sha256 *h, const void *buf, size_t len);
/* Finish into out ("sha256:<hex>", NUL-terminated); the context is released
 * either way.  Returns 0 or -EIO. */
int snap_sha256_final(struct snap_sha256 *h, char out[SNAP_DIGEST_MAX]);
/* Release a context that was not finished (safe on a zeroed or done one). */
void snap_sha256_done(struct snap_sha256 *h);

/* One-shot helpers.  Return 0 or -errno. */
int snap_sha256_buf(const void *buf, size_t len, char out[SNAP_DIGEST_MAX]);
/* Hash fd from its current offset to EOF; *ret_size (may be NULL) gets the
 * number of bytes read. */
int snap_sha256_fd(int fd, char out[SNAP_DIGEST_MAX], uint64_t *ret_size);

/* Is `s` a well-formed "sha256:<64 lowercase hex>"? */
int snap_digest_valid(const char *s);
/* The hex part of a valid digest, or NULL. */
const char *snap_digest_hex(const char *s);

#endif
