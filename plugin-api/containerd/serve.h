/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd's snapshots.v1 gRPC service on a unix socket (`snapctl serve`),
 * built on gRPC's C core library.
 *
 * Threads: a fixed pool of workers sharing one completion queue, each
 * with its own struct snap_core (the core is not thread-safe; one sqlite
 * connection per worker also lets reads run while another worker writes:
 * writers serialise in the core with BEGIN IMMEDIATE).  Whichever worker
 * is free takes the next event, so a slow call (a vfs copy) holds one
 * worker only.  Keys are used exactly as containerd sends them, within
 * the namespace its containerd-namespace header names, or without the
 * header the namespace each key begins with (containerd's own "NS/ID/KEY":
 * containerd sends no header to a proxy plugin); see
 * snap_core_set_namespace.
 *
 * Signals are the program's business: the caller blocks the ones it waits
 * for before snap_serve_start (threads inherit the mask) and calls
 * snap_serve_stop from its own thread.
 */
#ifndef SNAP_SERVE_H
#define SNAP_SERVE_H

#include "core.h"

struct snap_serve;

struct snap_serve_opts {
	const char *address;        /* unix socket path; "unix://" prefix accepted */
	struct snap_core_opts core; /* opened once per worker */
	unsigned workers;           /* 0: SNAP_SERVE_DEFAULT_WORKERS */
	unsigned reserved[4];
};

#define SNAP_SERVE_DEFAULT_WORKERS 4u
#define SNAP_SERVE_MAX_WORKERS 64u

/*
 * Open the root once per worker, remove what a crash left behind (the
 * core's cleanup), listen on the socket (mode 0660; a stale socket is
 * replaced, a live one is an error: -EADDRINUSE) and start the workers.
 * Returns 0 and *ret, or -errno with err set.
 */
int snap_serve_start(const struct snap_serve_opts *opts, struct snap_serve **ret,
		     struct snap_error *err);

/* The socket path being served. */
const char *snap_serve_address(const struct snap_serve *s);

/*
 * Stop accepting calls, let the calls in flight finish for up to grace_ms,
 * cancel what is left, join the workers and remove the socket.  Idempotent.
 * Returns 1 when calls had to be cancelled at the end of the grace period,
 * else 0.
 */
int snap_serve_stop(struct snap_serve *s, unsigned grace_ms);

/* Stop (with no grace) if still running, close the cores, free. */
void snap_serve_free(struct snap_serve *s);
DEFINE_SNAP_CLEANUP(struct snap_serve, snap_serve_free)

#endif
