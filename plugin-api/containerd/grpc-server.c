/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gRPC C-core plumbing of `snapctl serve`: server, one completion
 * queue, calls as state machines, shutdown.  Two kinds of threads: the
 * pollers take every event off the queue and answer the read-only methods
 * (Stat, Usage, Mounts, List) themselves, each with a query-only core (in
 * WAL mode a reader never waits for a writer); a call that changes
 * something goes to a writer thread, with a core of its own, through a
 * queue of ours.  So a poll of Stat or Usage (a kubelet's) never waits in
 * line behind Prepare and Commit: no poller ever blocks on a write.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "util/macro.h"
#include "grpc-status.h"
#include "serve.h"
#include "service-methods.h"
#include "unix-socket.h"

/* Calls are small state machines advanced by whichever poller takes their
 * next event off the completion queue; the tag of every operation is its
 * call.  A read runs in the poller that received its request message, a
 * write in the writer that takes it off the writers' queue, each with its
 * thread's core. */
enum call_state {
	CALL_REQUESTED, /* waiting for grpc_server_request_call to match a call */
	CALL_RECEIVING, /* waiting for the request message */
	CALL_SENDING,   /* a batch of the reply is in flight */
};

struct call {
	struct snap_serve *srv;
	enum call_state state;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	grpc_byte_buffer *in;
	struct snap_grpc_reply reply;
	size_t next_msg;
	bool md_sent, finishing;
	grpc_status_code status;
	grpc_slice status_details;
	int cancelled;
	bool matched; /* counted in the server's in_flight */
	struct call *next; /* in the writers' queue */
};

struct worker {
	struct snap_serve *srv;
	pthread_t thread;
	bool started;
	bool writer;
	struct snap_core *core; /* query-only for a poller */
};

/* The calls waiting for a writer, oldest first. */
struct write_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct call *head, *tail;
	bool closed; /* the writers return once it is empty */
};

struct snap_serve {
	grpc_server *server;
	grpc_completion_queue *cq;          /* shared by the workers */
	grpc_completion_queue *shutdown_cq; /* only for the shutdown tag */
	struct worker *workers; /* n writers, then n pollers */
	size_t n_workers;
	struct write_queue writes;
	char *path;
	atomic_bool stopping;
	/* Calls gRPC handed us and we have not finished: matched by a
	 * request, not yet freed. */
	atomic_size_t in_flight;
	bool grpc_inited;
	bool started;
	bool stopped;
};

/* Outstanding grpc_server_request_call per worker.  A call that arrives
 * while none is outstanding waits in gRPC's own queue, and gRPC cancels
 * those at shutdown instead of letting us answer them: so keep enough
 * requests posted that matched calls wait in our queue instead.  A call
 * costs a few hundred bytes until it arrives. */
#define REQUESTS_PER_WORKER 16

#define TAG_SHUTDOWN ((void *)1)

/* How long the shutdown waits for gRPC once every call it handed us is
 * finished, before it cancels what gRPC still holds (see snap_serve_stop). */
#define SHUTDOWN_IDLE_MS 1000
#define SHUTDOWN_POLL_MS 50

/* The pollers' nice value (the writers keep the process's). */
#define POLLER_NICE (-10)

static void drain_and_destroy(grpc_completion_queue *cq)
{
	if (!cq)
		return;
	grpc_completion_queue_shutdown(cq);
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
	}
	grpc_completion_queue_destroy(cq);
}

static void call_free(struct call *c)
{
	if (c->matched)
		atomic_fetch_sub(&c->srv->in_flight, 1);
	if (c->call)
		grpc_call_unref(c->call);
	grpc_call_details_destroy(&c->details);
	grpc_metadata_array_destroy(&c->md);
	if (c->in)
		grpc_byte_buffer_destroy(c->in);
	snap_grpc_reply_done(&c->reply);
	grpc_slice_unref(c->status_details);
	free(c);
}

/* Post one more request for a new call.  false when gRPC refuses (the
 * server is shutting down) or memory is short; the other outstanding
 * requests keep the service going. */
static bool post_request(struct snap_serve *s)
{
	struct call *c = calloc(1, sizeof(*c));
	if (!c)
		return false;
	c->srv = s;
	c->state = CALL_REQUESTED;
	c->status_details = grpc_empty_slice();
	grpc_call_details_init(&c->details);
	grpc_metadata_array_init(&c->md);
	if (grpc_server_request_call(s->server, &c->call, &c->details, &c->md, s->cq, s->cq, c) !=
	    GRPC_CALL_OK) {
		call_free(c);
		return false;
	}
	return true;
}

/*
 * The next batch of the answer: every reply message (unary: exactly one),
 * then the status.  The last message travels in the same batch as the
 * status, so a unary call is answered with a single batch.  On error no
 * message is sent.  false when the batch could not start.
 */
static bool send_next(struct call *c)
{
	size_t n = c->status == GRPC_STATUS_OK ? c->reply.n : 0;
	grpc_op ops[4];
	size_t k = 0;
	memset(ops, 0, sizeof(ops));
	if (!c->md_sent) {
		ops[k++].op = GRPC_OP_SEND_INITIAL_METADATA;
		c->md_sent = true;
	}
	if (c->next_msg < n) {
		ops[k].op = GRPC_OP_SEND_MESSAGE;
		ops[k++].data.send_message.send_message = c->reply.msgs[c->next_msg++];
	}
	if (c->next_msg >= n) {
		ops[k].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		ops[k].data.send_status_from_server.status = c->status;
		ops[k++].data.send_status_from_server.status_details =
			c->status == GRPC_STATUS_OK ? NULL : &c->status_details;
		ops[k].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
		ops[k++].data.recv_close_on_server.cancelled = &c->cancelled;
		c->finishing = true;
	}
	c->state = CALL_SENDING;
	return grpc_call_start_batch(c->call, ops, k, c, NULL) == GRPC_CALL_OK;
}

static ProtobufCMessage *decode_request(const struct snap_method *m, grpc_byte_buffer *in)
{
	grpc_byte_buffer_reader reader;
	if (!grpc_byte_buffer_reader_init(&reader, in))
		return NULL;
	grpc_slice s = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	ProtobufCMessage *req = protobuf_c_message_unpack(m->input, NULL, GRPC_SLICE_LENGTH(s),
							  GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	return req;
}

/*
 * Scope the worker's core to the caller's containerd namespace, from the
 * containerd-namespace header, as containerd's metadata store scopes its
 * keys: one namespace neither sees nor builds on another's snapshots.  A
 * call without the header is scoped by each key's first component:
 * containerd itself sends no header to a proxy plugin and names its keys
 * "NS/ID/KEY".  The header is a scope, not a credential: the socket's mode
 * is what keeps strangers out.
 */
static int call_scope(struct worker *w, const struct call *c, struct snap_error *err)
{
	static const char header[] = "containerd-namespace";
	const grpc_slice *value = NULL;
	for (size_t i = 0; i < c->md.count; i++) {
		const grpc_slice *k = &c->md.metadata[i].key;
		if (GRPC_SLICE_LENGTH(*k) != sizeof(header) - 1 ||
		    memcmp(GRPC_SLICE_START_PTR(*k), header, sizeof(header) - 1) != 0)
			continue;
		if (value)
			return snap_error_set(err, -EINVAL, "the call carries two %s headers", header);
		value = &c->md.metadata[i].value;
	}
	if (!value)
		return snap_core_set_namespace(w->core, NULL, err);
	char ns[SNAP_NAMESPACE_MAX + 1];
	size_t len = GRPC_SLICE_LENGTH(*value);
	if (len == 0 || len > SNAP_NAMESPACE_MAX)
		return snap_error_set(err, -EINVAL, "%s header: namespace of %zu bytes (1 to %d)", header, len,
				      SNAP_NAMESPACE_MAX);
	memcpy(ns, GRPC_SLICE_START_PTR(*value), len);
	ns[len] = '\0';
	if (memchr(ns, '\0', len))
		return snap_error_set(err, -EINVAL, "%s header: namespace holds a NUL byte", header);
	return snap_core_set_namespace(w->core, ns, err);
}

/* The request message is in: run the method with this worker's core. */
static void call_run(struct worker *w, struct call *c)
{
	const char *path = (const char *)GRPC_SLICE_START_PTR(c->details.method);
	size_t path_len = GRPC_SLICE_LENGTH(c->details.method);
	const struct snap_method *m = snap_service_method_find(path, path_len);
	struct snap_error err = { 0 };

	if (!m) {
		c->status = GRPC_STATUS_UNIMPLEMENTED;
		snap_error_set(&err, -ENOSYS, "unknown method %.*s", (int)path_len, path);
	} else if (!c->in) {
		c->status = GRPC_STATUS_INVALID_ARGUMENT;
		snap_error_set(&err, -EINVAL, "%s: the call carries no request message", m->name);
	} else if (call_scope(w, c, &err) < 0) {
		c->status = GRPC_STATUS_INVALID_ARGUMENT;
		snap_error_prefix(&err, "%s", m->name);
	} else {
		ProtobufCMessage *req = decode_request(m, c->in);
		if (!req) {
			c->status = GRPC_STATUS_INVALID_ARGUMENT;
			snap_error_set(&err, -EINVAL, "%s: cannot decode the request as %s", m->name,
				       m->input->name);
		} else {
			int r = m->fn(w->core, req, &c->reply, &err);
			protobuf_c_message_free_unpacked(req, NULL);
			c->status = snap_grpc_status_from_errno(r < 0 ? r : 0);
			if (r >= 0 && !m->server_streaming && c->reply.n != 1) {
				c->status = GRPC_STATUS_INTERNAL;
				snap_error_set(&err, -EIO, "%s: the method produced %zu replies", m->name,
					       c->reply.n);
			}
		}
	}
	if (c->status != GRPC_STATUS_OK)
		c->status_details = grpc_slice_from_copied_string(err.message);
}

/* Whether c runs a method that changes something (a writer's work); an
 * unknown method or a call without a message is answered by the poller. */
static bool is_write(const struct call *c)
{
	const struct snap_method *m = snap_service_method_find(
		(const char *)GRPC_SLICE_START_PTR(c->details.method), GRPC_SLICE_LENGTH(c->details.method));
	return m && !m->read_only && c->in;
}

static void write_queue_push(struct write_queue *q, struct call *c)
{
	c->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* The oldest waiting call; NULL once the queue is closed and empty. */
static struct call *write_queue_pop(struct write_queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	struct call *c = q->head;
	if (c) {
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return c;
}

static void write_queue_close(struct write_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* One event of call c, with its success flag. */
static void call_advance(struct worker *w, struct call *c, bool ok)
{
	struct snap_serve *s = w->srv;
	switch (c->state) {
	case CALL_REQUESTED: {
		/* A failed request: the server is shutting down. */
		if (!ok) {
			call_free(c);
			return;
		}
		c->matched = true;
		atomic_fetch_add(&s->in_flight, 1);
		if (!atomic_load(&s->stopping))
			post_request(s);
		/* Every method of the service takes exactly one message. */
		grpc_op op = { .op = GRPC_OP_RECV_MESSAGE, .data.recv_message.recv_message = &c->in };
		c->state = CALL_RECEIVING;
		if (grpc_call_start_batch(c->call, &op, 1, c, NULL) != GRPC_CALL_OK)
			call_free(c);
		return;
	}
	case CALL_RECEIVING:
		/* Not ok: cancelled by the client, its deadline, or shutdown. */
		if (!ok) {
			call_free(c);
			return;
		}
		if (is_write(c)) {
			write_queue_push(&s->writes, c);
			return;
		}
		call_run(w, c);
		if (!send_next(c))
			call_free(c);
		return;
	case CALL_SENDING:
		if (!ok || c->finishing || !send_next(c))
			call_free(c);
		return;
	}
}

/* A writer: run the calls of the writers' queue; their replies' events
 * come back to the pollers. */
static void *writer_main(void *userdata)
{
	struct worker *w = userdata;
	struct call *c;
	while ((c = write_queue_pop(&w->srv->writes))) {
		call_run(w, c);
		if (!send_next(c))
			call_free(c);
	}
	return NULL;
}

static void *poller_main(void *userdata)
{
	struct worker *w = userdata;
	/* A poller's work is short (a read, or handing a write over), so it
	 * may go first: on a busy host a kubelet's Stat must not queue for a
	 * CPU behind the writers' filesystem work.  Without CAP_SYS_NICE the
	 * thread keeps the process's priority. */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), POLLER_NICE);
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(w->srv->cq,
							   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			return NULL;
		if (ev.type == GRPC_OP_COMPLETE)
			call_advance(w, ev.tag, ev.success != 0);
	}
}

static int listen_on(struct snap_serve *s, struct snap_error *err)
{
	int r = snap_socket_make_parents(s->path, err);
	if (r < 0)
		return r;
	r = snap_socket_check(s->path, true, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *uri = NULL;
	if (asprintf(&uri, "unix:%s", s->path) < 0)
		return snap_error_set(err, -ENOMEM, "socket %s: %s", s->path, strerror(ENOMEM));
	grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
	/* gRPC binds here; the umask makes the socket 0660 from its first
	 * instant rather than after a chmod window.  Only this thread and
	 * gRPC's idle threads run now, none of which creates files. */
	mode_t old = umask(0117);
	int port = grpc_server_add_http2_port(s->server, uri, creds);
	umask(old);
	grpc_server_credentials_release(creds);
	if (port == 0)
		return snap_error_set(err, -EADDRNOTAVAIL, "listen on %s: gRPC could not bind the socket",
				      s->path);
	if (chmod(s->path, 0660) < 0)
		return snap_error_set(err, -errno, "chmod 0660 %s: %s", s->path, strerror(errno));
	return 0;
}

static void ignore_info(void *ctx, const char *key, const char *value)
{
}

int snap_serve_start(const struct snap_serve_opts *opts, struct snap_serve **ret,
		     struct snap_error *err)
{
	unsigned n = opts->workers ? opts->workers : SNAP_SERVE_DEFAULT_WORKERS;
	if (n > SNAP_SERVE_MAX_WORKERS)
		return snap_error_set(err, -EINVAL, "serve: %u workers requested, at most %u", n,
				      SNAP_SERVE_MAX_WORKERS);

	_cleanup_(snap_serve_freep) struct snap_serve *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "serve: %s", strerror(ENOMEM));
	int r = snap_socket_normalize(opts->address, &s->path, err);
	if (r < 0)
		return r;
	s->workers = calloc(2 * (size_t)n, sizeof(*s->workers));
	if (!s->workers)
		return snap_error_set(err, -ENOMEM, "serve: %s", strerror(ENOMEM));
	s->n_workers = 2 * (size_t)n;
	pthread_mutex_init(&s->writes.mu, NULL);
	pthread_cond_init(&s->writes.cv, NULL);

	/* A live server on the socket is reported before the root is opened
	 * (which may provision a filesystem); a bad root or driver is
	 * reported before the socket is touched. */
	r = snap_socket_check(s->path, false, err);
	if (r < 0)
		return r;
	/* The writers first: the first open makes the root. */
	struct snap_core_opts poller_opts = opts->core;
	poller_opts.flags |= SNAP_CORE_QUERY_ONLY;
	for (size_t i = 0; i < s->n_workers; i++) {
		struct worker *w = &s->workers[i];
		w->srv = s;
		w->writer = i < n;
		r = snap_core_open(w->writer ? &opts->core : &poller_opts, &w->core, err);
		if (r < 0)
			return r;
	}
	/* Drivers probe kernel features lazily, on their first snapshot, some
	 * by forking a child.  A fork while another worker holds a snapshot
	 * directory's flock gives the child a copy of that lock until it
	 * closes its fds, which on a loaded machine is long enough for the
	 * next Commit of that snapshot to find it "in use".  So let every
	 * worker's driver probe now, while this is the only thread. */
	for (size_t i = 0; i < s->n_workers; i++) {
		struct snap_core *core = s->workers[i].core;
		r = snap_core_driver_info(core, ignore_info, NULL, err);
		if (r < 0)
			return r;
	}
	/* Recovery after a crash: staging dirs and snapshot dirs no row
	 * references are removed before the first call is answered. */
	r = snap_cleanup(s->workers[0].core, err);
	if (r < 0) {
		char why[sizeof(err->message)];
		memcpy(why, err->message, sizeof(why));
		return snap_error_set(err, r, "recover %s: %s", snap_core_root(s->workers[0].core), why);
	}

	grpc_init();
	s->grpc_inited = true;
	s->server = grpc_server_create(NULL, NULL);
	s->cq = grpc_completion_queue_create_for_next(NULL);
	s->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(s->server, s->cq, NULL);
	grpc_server_register_completion_queue(s->server, s->shutdown_cq, NULL);
	r = listen_on(s, err);
	if (r < 0)
		return r;
	grpc_server_start(s->server);
	s->started = true;
	for (size_t i = 0; i < n * REQUESTS_PER_WORKER; i++)
		if (!post_request(s))
			return snap_error_set(err, -ENOMEM, "serve: cannot request calls from gRPC");

	for (size_t i = 0; i < s->n_workers; i++) {
		struct worker *w = &s->workers[i];
		r = -pthread_create(&w->thread, NULL, w->writer ? writer_main : poller_main, w);
		if (r < 0)
			return snap_error_set(err, r, "serve: start worker thread: %s", strerror(-r));
		s->workers[i].started = true;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

const char *snap_serve_address(const struct snap_serve *s)
{
	return s->path;
}

static int64_t mono_ms(void)
{
	gpr_timespec t = gpr_now(GPR_CLOCK_MONOTONIC);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Wait for gRPC's shutdown tag.  gRPC posts it once every call and every
 * connection is gone, and a client that ignores GOAWAY and keeps its
 * connection open holds it back for good (TestSigtermIdleConnection;
 * under load, about one stop in three hundred under ASan waited out the
 * whole grace period so, every worker idle).  So once every call gRPC
 * handed us has been answered, and has stayed so for SHUTDOWN_IDLE_MS,
 * what is left holds no work of ours: cancel it.  Past grace_ms, calls
 * still running are cancelled too (a client that does not read its answer
 * must not keep the process alive).  1 when calls of ours were cancelled,
 * else 0.
 */
static int await_shutdown(struct snap_serve *s, unsigned grace_ms)
{
	int64_t start = mono_ms(), idle_since = -1;
	for (;;) {
		gpr_timespec slice = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
						  gpr_time_from_millis(SHUTDOWN_POLL_MS, GPR_TIMESPAN));
		grpc_event ev = grpc_completion_queue_next(s->shutdown_cq, slice, NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			return 0;
		int64_t now = mono_ms();
		bool idle = atomic_load(&s->in_flight) == 0;
		if (!idle)
			idle_since = -1;
		else if (idle_since < 0)
			idle_since = now;
		bool late = now - start >= (int64_t)grace_ms;
		if (late || (idle && now - idle_since >= SHUTDOWN_IDLE_MS)) {
			grpc_server_cancel_all_calls(s->server);
			grpc_completion_queue_next(s->shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
			return idle ? 0 : 1;
		}
	}
}

int snap_serve_stop(struct snap_serve *s, unsigned grace_ms)
{
	if (!s->started || s->stopped)
		return 0;
	s->stopped = true;
	atomic_store(&s->stopping, true);

	/* Refuses new calls and fails every outstanding request; the calls
	 * already matched are answered by the workers. */
	grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, TAG_SHUTDOWN);
	int cancelled = await_shutdown(s, grace_ms);
	/* Every call is finished, so the writers' queue is empty: the
	 * writers return, the pollers drain what is left (failed requests)
	 * and return when the queue reports shutdown. */
	write_queue_close(&s->writes);
	grpc_completion_queue_shutdown(s->cq);
	for (size_t i = 0; i < s->n_workers; i++)
		if (s->workers[i].started) {
			pthread_join(s->workers[i].thread, NULL);
			s->workers[i].started = false;
		}
	/* Workers that never started (a failed start) left the failed
	 * requests in the queue. */
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE)
			call_free(ev.tag);
	}
	grpc_server_destroy(s->server);
	s->server = NULL;
	grpc_completion_queue_destroy(s->cq);
	s->cq = NULL;
	drain_and_destroy(s->shutdown_cq);
	s->shutdown_cq = NULL;
	unlink(s->path);
	return cancelled;
}

void snap_serve_free(struct snap_serve *s)
{
	if (!s)
		return;
	if (s->started) {
		snap_serve_stop(s, 0);
	} else {
		/* Failed start: nothing was served; the server goes before
		 * the queues registered with it. */
		if (s->server) {
			grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, TAG_SHUTDOWN);
			grpc_completion_queue_next(s->shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
			grpc_server_destroy(s->server);
		}
		drain_and_destroy(s->cq);
		drain_and_destroy(s->shutdown_cq);
	}
	for (size_t i = 0; s->workers && i < s->n_workers; i++)
		if (s->workers[i].core)
			snap_core_close(s->workers[i].core);
	if (s->workers) {
		pthread_mutex_destroy(&s->writes.mu);
		pthread_cond_destroy(&s->writes.cv);
	}
	free(s->workers);
	free(s->path);
	if (s->grpc_inited)
		grpc_shutdown();
	free(s);
}
