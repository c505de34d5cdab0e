/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The methods of containerd.services.snapshots.v1.Snapshots on top of the
 * core: decode nothing, send nothing (the server does), only turn a request
 * message into core calls and the reply messages.
 */
#ifndef SNAP_SERVICE_METHODS_H
#define SNAP_SERVICE_METHODS_H

#include <stdbool.h>
#include <grpc/byte_buffer.h>
#include <protobuf-c/protobuf-c.h>

#include "core.h"

/* The packed messages a method answers with: one for unary methods, any
 * number (zero included) for server streaming ones. */
struct snap_grpc_reply {
	grpc_byte_buffer **msgs;
	size_t n, cap;
};
/* Pack m and append it.  0 or -ENOMEM. */
int snap_grpc_reply_add(struct snap_grpc_reply *r, const ProtobufCMessage *m);
void snap_grpc_reply_done(struct snap_grpc_reply *r);

typedef int (*snap_method_fn)(struct snap_core *core, const ProtobufCMessage *req,
			      struct snap_grpc_reply *reply, struct snap_error *err);

struct snap_method {
	const char *name; /* "Prepare" */
	snap_method_fn fn;
	const ProtobufCMessageDescriptor *input;
	bool server_streaming;
	/* Reads only (Stat, Usage, Mounts, List): served on a path of its own
	 * with a read-only core, never queued behind the writes. */
	bool read_only;
};

/* The method for an HTTP/2 path "/containerd.services.snapshots.v1.Snapshots/Prepare",
 * or NULL when the service has no such method. */
const struct snap_method *snap_service_method_find(const char *path, size_t len);
/* The i-th method of the service (NULL past the last). */
const struct snap_method *snap_service_method_at(size_t i);
/* m's HTTP/2 path, "/containerd.services.snapshots.v1.Snapshots/Stat".
 * 0, or -ENAMETOOLONG when it does not fit in len bytes. */
int snap_service_method_path(const struct snap_method *m, char *buf, size_t len);

#endif
