/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A blob's sha256 on a helper thread, beside the write of the same bytes:
 * the content writer posts a block, writes it, then waits for its hash, so
 * a block costs the longer of the two rather than their sum.  One block in
 * flight; the caller keeps the block alive until the wait returns.
 */
#pragma once

#include <stddef.h>

#include "util/digest.h"

struct content_hasher;

/* A thread that hashes posted blocks into *h.  -errno when the thread
 * cannot start (the caller then hashes inline). */
int content_hasher_new(struct snap_sha256 *h, struct content_hasher **ret);
/* Hash buf[0..len) into *h on the thread; h is the thread's until the
 * wait. */
void content_hasher_post(struct content_hasher *c, const void *buf, size_t len);
/* Wait for the posted block: 0 or the -errno of snap_sha256_update. */
int content_hasher_wait(struct content_hasher *c);
/* Stop and join the thread (no block may be in flight). */
void content_hasher_free(struct content_hasher *c);
