/* SPDX-License-Identifier: Apache-2.0 */
#include "util/digest.h"

#include <dlfcn.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util/macro.h"

/*
 * libcrypto is loaded on the first digest, not at start-up: it is the
 * biggest library snapctl links (4.7 MB, 21,000 relocations, most of what
 * the dynamic loader did before main() in a snapshot command), and most
 * commands (every snapshot operation, ps, rm) never hash.  Five functions
 * of the stable EVP interface, looked up once; the library stays loaded.
 */
static struct {
	typeof(&EVP_MD_CTX_new) ctx_new;
	typeof(&EVP_MD_CTX_free) ctx_free;
	typeof(&EVP_DigestInit_ex) init;
	typeof(&EVP_DigestUpdate) update;
	typeof(&EVP_DigestFinal_ex) final;
	typeof(&EVP_sha256) sha256;
} crypto;
static int crypto_error;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void crypto_load(void)
{
	void *lib = dlopen(SNAPCTL_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		crypto_error = -ELIBACC;
		return;
	}
	crypto.ctx_new = (typeof(crypto.ctx_new))dlsym(lib, "EVP_MD_CTX_new");
	crypto.ctx_free = (typeof(crypto.ctx_free))dlsym(lib, "EVP_MD_CTX_free");
	crypto.init = (typeof(crypto.init))dlsym(lib, "EVP_DigestInit_ex");
	crypto.update = (typeof(crypto.update))dlsym(lib, "EVP_DigestUpdate");
	crypto.final = (typeof(crypto.final))dlsym(lib, "EVP_DigestFinal_ex");
	crypto.sha256 = (typeof(crypto.sha256))dlsym(lib, "EVP_sha256");
	if (!crypto.ctx_new || !crypto.ctx_free || !crypto.init || !crypto.update || !crypto.final ||
	    !crypto.sha256)
		crypto_error = -ELIBBAD;
}

int snap_sha256_init(struct snap_sha256 *h)
{
	h->size = 0;
	h->ctx = NULL;
	pthread_once(&crypto_once, crypto_load);
	if (crypto_error < 0)
		return crypto_error;
	h->ctx = crypto.ctx_new();
	if (!h->ctx)
		return -ENOMEM;
	if (crypto.init(h->ctx, crypto.sha256(), NULL) != 1) {
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
	if (crypto.update(h->ctx, buf, len) != 1)
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
	int ok = crypto.final(h->ctx, md, &n);
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
		crypto.ctx_free(h->ctx);
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
