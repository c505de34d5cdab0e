/* SPDX-License-Identifier: Apache-2.0 */
#include "util/digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "util/macro.h"

int snap_sha256_init(struct snap_sha256 *h)
{
	h->size = 0;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		snap_sha256_done(h);
		return -EIO;
	}
	return 0;
}

int snap_sha256_update(struct snap_sha256 *h, const void *buf, size_t len)
{
	if (!h->ctx)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (EVP_DigestUpdate(h->ctx, buf, len) != 1)
		return -EIO;
	h->size += len;
	return 0;
}

int snap_sha256_final(struct snap_sha256 *h, char out[SNAP_DIGEST_MAX])
{
	static const char hexdigits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!h->ctx)
		return -EINVAL;
	int ok = EVP_DigestFinal_ex(h->ctx, md, &n);
	snap_sha256_done(h);
	if (ok != 1 || n != 32)
		return -EIO;
	char *p = stpcpy(out, SNAP_SHA256_PREFIX);
	for (unsigned i = 0; i < n; i++) {
		*p++ = hexdigits[md[i] >> 4];
		*p++ = hexdigits[md[i] & 0xf];
	}
	*p = '\0';
	return 0;
}

void snap_sha256_done(struct snap_sha256 *h)
{
	if (h->ctx) {
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
	}
}

int snap_sha256_buf(const void *buf, size_t len, char out[SNAP_DIGEST_MAX])
{
	struct snap_sha256 h;
	int r = snap_sha256_init(&h);
	if (r < 0)
		return r;
	r = snap_sha256_update(&h, buf, len);
	if (r < 0) {
		snap_sha256_done(&h);
		return r;
	}
	return snap_sha256_final(&h, out);
}

int snap_sha256_fd(int fd, char out[SNAP_DIGEST_MAX], uint64_t *ret_size)
{
	struct snap_sha256 h;
	int r = snap_sha256_init(&h);
	if (r < 0)
		return r;
	_cleanup_free_ char *buf = malloc(1 << 16);
	if (!buf) {
		snap_sha256_done(&h);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 16);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = negative_errno();
			snap_sha256_done(&h);
			return r;
		}
		if (n == 0)
			break;
		snap_sha256_update(&h, buf, (size_t)n);
	}
	uint64_t size = h.size;
	r = snap_sha256_final(&h, out);
	if (r == 0 && ret_size)
		*ret_size = size;
	return r;
}

int snap_digest_valid(const char *s)
{
	if (!s || strncmp(s, SNAP_SHA256_PREFIX, strlen(SNAP_SHA256_PREFIX)) != 0)
		return false;
	s += strlen(SNAP_SHA256_PREFIX);
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

const char *snap_digest_hex(const char *s)
{
	return snap_digest_valid(s) ? s + strlen(SNAP_SHA256_PREFIX) : NULL;
}
