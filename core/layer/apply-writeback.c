/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Early writeback of what an apply writes into a tree on btrfs (the btrfs
 * driver's subvolumes, and an overlay upper or vfs root on a btrfs).
 *
 * Every file with data not yet written back holds a metadata reservation
 * (an outstanding extent and its checksums, ~0.5 MiB however small the
 * file).  A layer of a few thousand files runs past what btrfs lets
 * reservations overcommit; file creates then queue behind btrfs's reclaim,
 * which writes back the delalloc of every file on the filesystem, a
 * neighbour's gigabyte included.  Starting the writeback of each file as
 * the apply closes it gives its reservation back within milliseconds, and
 * never waits for it: sync_file_range(WRITE) only queues the I/O.
 *
 * A thread does it, so that the apply's own thread does not pay btrfs's
 * extent allocation: the apply hands each file's fd over instead of
 * closing it, and the thread starts the writeback and closes the fd.  When
 * the queue is full (the thread is behind), the apply does it itself.
 * docs/core.md, "btrfs beside a dirty neighbour: reservations", has the
 * traces and the measurements.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "layer/apply-internal.h"

static void writeback_one(int fd)
{
	/* Best effort: the tree's durability does not depend on it (the
	 * apply's syncfs or the pending-tree rule does). */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	close(fd);
}

static void *writeback_thread(void *arg)
{
	struct apply_writeback *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->n == 0 && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->n == 0)
			break;
		int fd = w->ring[w->head];
		w->head = (w->head + 1) % APPLY_WRITEBACK_QUEUE;
		w->n--;
		pthread_mutex_unlock(&w->mu);
		writeback_one(fd);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

void apply_writeback_start(struct apply_writeback *w, int treefd)
{
	*w = (struct apply_writeback){ 0 };
	struct statfs sfs;
	if (fstatfs(treefd, &sfs) < 0 || sfs.f_type != BTRFS_SUPER_MAGIC)
		return;
	/* Queued files are open files: a quarter of the limit at most, so a
	 * process started with a low one does not run out (EMFILE) in the
	 * apply's own opens. */
	struct rlimit nofile;
	w->cap = APPLY_WRITEBACK_QUEUE;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
	    nofile.rlim_cur / 4 < w->cap)
		w->cap = (size_t)(nofile.rlim_cur / 4);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->enabled = true;
	w->started = pthread_create(&w->thread, NULL, writeback_thread, w) == 0;
}

void apply_writeback_close(struct apply_writeback *w, int fd)
{
	if (!w->enabled) {
		close(fd);
		return;
	}
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		bool queued = w->n < w->cap;
		if (queued) {
			w->ring[(w->head + w->n) % APPLY_WRITEBACK_QUEUE] = fd;
			w->n++;
			pthread_cond_signal(&w->cv);
		}
		pthread_mutex_unlock(&w->mu);
		if (queued)
			return;
	}
	writeback_one(fd);
}

void apply_writeback_stop(struct apply_writeback *w)
{
	if (!w->enabled)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL); /* drains the queue first */
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->enabled = w->started = false;
}
