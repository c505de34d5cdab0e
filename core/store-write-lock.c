/* SPDX-License-Identifier: Apache-2.0 */
#include "store-write-lock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/macro.h"

struct snap_write_lock {
	dev_t dev;
	ino_t ino;
	unsigned refs;
	/* Error-checking: a second lock by the holder says EDEADLK instead
	 * of waiting for itself. */
	pthread_mutex_t mu;
	struct snap_write_lock *next;
};

/* The locks of the databases this process has open; few (one per root). */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct snap_write_lock *registry;

int snap_write_lock_get(const char *path, struct snap_write_lock **ret, struct snap_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return snap_error_set(err, negative_errno(), "metadata %s: %s", path, strerror(errno));

	pthread_mutex_lock(&registry_mu);
	struct snap_write_lock *l = registry;
	while (l && (l->dev != st.st_dev || l->ino != st.st_ino))
		l = l->next;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l) {
			pthread_mutex_unlock(&registry_mu);
			return snap_error_set(err, -ENOMEM, "metadata %s: %s", path, strerror(ENOMEM));
		}
		pthread_mutexattr_t attr;
		pthread_mutexattr_init(&attr);
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
		pthread_mutex_init(&l->mu, &attr);
		pthread_mutexattr_destroy(&attr);
		l->dev = st.st_dev;
		l->ino = st.st_ino;
		l->next = registry;
		registry = l;
	}
	l->refs++;
	pthread_mutex_unlock(&registry_mu);
	*ret = l;
	return 0;
}

void snap_write_lock_put(struct snap_write_lock *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&registry_mu);
	if (--l->refs == 0) {
		struct snap_write_lock **p = &registry;
		while (*p != l)
			p = &(*p)->next;
		*p = l->next;
		pthread_mutex_destroy(&l->mu);
		free(l);
	}
	pthread_mutex_unlock(&registry_mu);
}

int snap_write_lock_acquire(struct snap_write_lock *l, unsigned timeout_ms, bool *ret_taken)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	int r = pthread_mutex_clocklock(&l->mu, CLOCK_MONOTONIC, &until);
	if (r == EDEADLK) {
		*ret_taken = false;
		return 0;
	}
	if (r != 0)
		return r == ETIMEDOUT ? -EBUSY : -r;
	*ret_taken = true;
	return 0;
}

void snap_write_lock_release(struct snap_write_lock *l)
{
	pthread_mutex_unlock(&l->mu);
}
