/* SPDX-License-Identifier: Apache-2.0 */
#include "util/hash-thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct hash_thread {
	struct snap_sha256 *h;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu: the posted block (buf NULL: none, or hashed), its
	 * result once buf is NULL again, and the order to stop. */
	const void *buf;
	size_t len;
	bool quit;
	int result;
};

static void *hasher_main(void *arg)
{
	struct hash_thread *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->buf && !c->quit)
			pthread_cond_wait(&c->cv, &c->mu);
		if (!c->buf)
			break;
		const void *buf = c->buf;
		size_t len = c->len;
		pthread_mutex_unlock(&c->mu);
		int r = snap_sha256_update(c->h, buf, len);
		pthread_mutex_lock(&c->mu);
		c->buf = NULL;
		c->result = r;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int hash_thread_new(struct snap_sha256 *h, struct hash_thread **ret)
{
	struct hash_thread *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->h = h;
	int r = pthread_mutex_init(&c->mu, NULL);
	if (r == 0) {
		r = pthread_cond_init(&c->cv, NULL);
		if (r != 0)
			pthread_mutex_destroy(&c->mu);
	}
	if (r == 0) {
		r = pthread_create(&c->thread, NULL, hasher_main, c);
		if (r != 0) {
			pthread_cond_destroy(&c->cv);
			pthread_mutex_destroy(&c->mu);
		}
	}
	if (r != 0) {
		free(c);
		return -r;
	}
	*ret = c;
	return 0;
}

void hash_thread_post(struct hash_thread *c, const void *buf, size_t len)
{
	pthread_mutex_lock(&c->mu);
	c->buf = buf;
	c->len = len;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

int hash_thread_wait(struct hash_thread *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->buf)
		pthread_cond_wait(&c->cv, &c->mu);
	int r = c->result;
	pthread_mutex_unlock(&c->mu);
	return r;
}

void hash_thread_free(struct hash_thread *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->quit = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
