/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sha256 on a helper thread, beside other work on the same bytes: the
 * caller posts a block, does its work (the content writer writes the block;
 * the layer writer goes on producing the next one), then waits for the
 * hash, so a block costs the longer of the two rather than their sum.  One
 * block in flight; the caller keeps the block alive until the wait returns.
 */
#pragma once

#include <stddef.h>

#include "util/digest.h"

struct hash_thread;

/* A thread that hashes posted blocks into *h.  -errno when the thread
 * cannot start (the caller then hashes inline). */
int hash_thread_new(struct snap_sha256 *h, struct hash_thread **ret);
/* Hash buf[0..len) into *h on the thread; h is the thread's until the
 * wait. */
void hash_thread_post(struct hash_thread *c, const void *buf, size_t len);
/* Wait for the posted block: 0 or the -errno of snap_sha256_update. */
int hash_thread_wait(struct hash_thread *c);
/* Stop and join the thread (no block may be in flight). */
void hash_thread_free(struct hash_thread *c);
