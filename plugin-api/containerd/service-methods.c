/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grpc/slice.h>

#include "util/macro.h"
#include "service-convert.h"
#include "service-methods.h"
#include "empty.pb-c.h"
#include "field_mask.pb-c.h"

#define PB(name) Containerd__Services__Snapshots__V1__##name

/* containerd's own service sends List replies in blocks of 100 infos. */
#define LIST_BLOCK 100

int snap_grpc_reply_add(struct snap_grpc_reply *r, const ProtobufCMessage *m)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;
		grpc_byte_buffer **v = realloc(r->msgs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->msgs = v;
		r->cap = cap;
	}
	size_t len = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(len);
	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	r->msgs[r->n++] = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return 0;
}

void snap_grpc_reply_done(struct snap_grpc_reply *r)
{
	for (size_t i = 0; i < r->n; i++)
		grpc_byte_buffer_destroy(r->msgs[i]);
	free(r->msgs);
	*r = (struct snap_grpc_reply){ 0 };
}

static int reply_empty(struct snap_grpc_reply *reply)
{
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	return snap_grpc_reply_add(reply, &empty.base);
}

/* Prepare, View and Mounts responses have the same shape: one repeated
 * Mount field, filled in through n_mounts and v. */
static int reply_mounts(struct snap_grpc_reply *reply, const struct snap_mounts *mounts,
			const ProtobufCMessage *msg, size_t *n_mounts, PbMount ***v)
{
	_cleanup_(snap_pb_mounts_done) struct snap_pb_mounts pb = { 0 };
	int r = snap_pb_mounts_init(&pb, mounts);
	if (r < 0)
		return r;
	*n_mounts = pb.n;
	*v = pb.ptrs;
	r = snap_grpc_reply_add(reply, msg);
	*n_mounts = 0;
	*v = NULL;
	return r;
}

static int oom(struct snap_error *err, const char *what)
{
	return snap_error_set(err, -ENOMEM, "%s: %s", what, strerror(ENOMEM));
}

static int m_prepare(struct snap_core *core, const ProtobufCMessage *m,
		     struct snap_grpc_reply *reply, struct snap_error *err)
{
	const PB(PrepareSnapshotRequest) *req = (const void *)m;
	_cleanup_(snap_labels_done) struct snap_labels labels = { 0 };
	_cleanup_(snap_mounts_done) struct snap_mounts mounts = { 0 };

	if (snap_pb_labels_from(&labels, req) < 0)
		return oom(err, "prepare");
	int r = snap_prepare(core, req->key, snap_pb_str_or_null(req->parent), &labels, &mounts, err);
	if (r < 0)
		return r;
	PB(PrepareSnapshotResponse) resp = CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_RESPONSE__INIT;
	r = reply_mounts(reply, &mounts, &resp.base, &resp.n_mounts, &resp.mounts);
	return r < 0 ? oom(err, "prepare") : 0;
}

static int m_view(struct snap_core *core, const ProtobufCMessage *m,
		  struct snap_grpc_reply *reply, struct snap_error *err)
{
	const PB(ViewSnapshotRequest) *req = (const void *)m;
	_cleanup_(snap_labels_done) struct snap_labels labels = { 0 };
	_cleanup_(snap_mounts_done) struct snap_mounts mounts = { 0 };

	if (snap_pb_labels_from(&labels, req) < 0)
		return oom(err, "view");
	int r = snap_view(core, req->key, snap_pb_str_or_null(req->parent), &labels, &mounts, err);
	if (r < 0)
		return r;
	PB(ViewSnapshotResponse) resp = CONTAINERD__SERVICES__SNAPSHOTS__V1__VIEW_SNAPSHOT_RESPONSE__INIT;
	r = reply_mounts(reply, &mounts, &resp.base, &resp.n_mounts, &resp.mounts);
	return r < 0 ? oom(err, "view") : 0;
}

static int m_mounts(struct snap_core *core, const ProtobufCMessage *m,
		    struct snap_grpc_reply *reply, struct snap_error *err)
{
	const PB(MountsRequest) *req = (const void *)m;
	_cleanup_(snap_mounts_done) struct snap_mounts mounts = { 0 };

	int r = snap_mounts_get(core, req->key, &mounts, err);
	if (r < 0)
		return r;
	PB(MountsResponse) resp = CONTAINERD__SERVICES__SNAPSHOTS__V1__MOUNTS_RESPONSE__INIT;
	r = reply_mounts(reply, &mounts, &resp.base, &resp.n_mounts, &resp.mounts);
	return r < 0 ? oom(err, "mounts") : 0;
}

static int m_commit(struct snap_core *core, const ProtobufCMessage *m,
		    struct snap_grpc_reply *reply, struct snap_error *err)
{
	const PB(CommitSnapshotRequest) *req = (const void *)m;
	_cleanup_(snap_labels_done) struct snap_labels labels = { 0 };

	if (snap_pb_labels_from(&labels, req) < 0)
		return oom(err, "commit");
	int r = snap_commit(core, req->name, req->key, &labels, err);
	if (r < 0)
		return r;
	return reply_empty(reply) < 0 ? oom(err, "commit") : 0;
}

static int m_remove(struct snap_core *core, const ProtobufCMessage *m,
		    struct snap_grpc_reply *reply, struct snap_error *err)
{
	const PB(RemoveSnapshotRequest) *req = (const void *)m;

	int r = snap_remove(core, req->key, err);
	if (r < 0)
		return r;
	return reply_empty(reply) < 0 ? oom(err, "remove") : 0;
}

static int reply_info(struct snap_grpc_reply *reply, const struct snap_info *info,
		      ProtobufCMessage *resp, PbInfo **slot)
{
	_cleanup_(snap_pb_info_done) struct snap_pb_info pb = { 0 };
	int r = snap_pb_info_init(&pb, info);
	if (r < 0)
		return r;
	*slot = &pb.msg;
	r = snap_grpc_reply_add(reply, resp);
	*slot = NULL;
	return r;
}

static int m_stat(struct snap_core *core, const ProtobufCMessage *m,
		  struct snap_grpc_reply *reply, struct snap_error *err)
{
	const PB(StatSnapshotRequest) *req = (const void *)m;
	_cleanup_(snap_info_done) struct snap_info info = { 0 };

	int r = snap_stat(core, req->key, &info, err);
	if (r < 0)
		return r;
	PB(StatSnapshotResponse) resp = CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_RESPONSE__INIT;
	return reply_info(reply, &info, &resp.base, &resp.info) < 0 ? oom(err, "stat") : 0;
}

static int m_update(struct snap_core *core, const ProtobufCMessage *m,
		    struct snap_grpc_reply *reply, struct snap_error *err)
{
	const PB(UpdateSnapshotRequest) *req = (const void *)m;
	_cleanup_(snap_labels_done) struct snap_labels labels = { 0 };
	_cleanup_(snap_info_done) struct snap_info info = { 0 };

	if (!req->info)
		return snap_error_set(err, -EINVAL, "update: the request names no snapshot (info is empty)");
	if (snap_pb_labels_from(&labels, req->info) < 0)
		return oom(err, "update");

	/* No mask, or an empty one, means "replace every updatable field":
	 * containerd's metadata stores treat len(fieldpaths) == 0 that way. */
	const char *const *paths = NULL;
	size_t n_paths = 0;
	if (req->update_mask && req->update_mask->n_paths > 0) {
		paths = (const char *const *)req->update_mask->paths;
		n_paths = req->update_mask->n_paths;
	}
	int r = snap_update(core, req->info->name, &labels, paths, n_paths, &info, err);
	if (r < 0)
		return r;
	PB(UpdateSnapshotResponse) resp = CONTAINERD__SERVICES__SNAPSHOTS__V1__UPDATE_SNAPSHOT_RESPONSE__INIT;
	return reply_info(reply, &info, &resp.base, &resp.info) < 0 ? oom(err, "update") : 0;
}

/* List collects every match first and sends afterwards: the walk may hold
 * a read transaction, which must not wait on a slow client's flow control. */
struct list_acc {
	struct snap_info *v;
	size_t n, cap;
};

static void list_acc_done(struct list_acc *acc)
{
	for (size_t i = 0; i < acc->n; i++)
		snap_info_done(&acc->v[i]);
	free(acc->v);
	*acc = (struct list_acc){ 0 };
}

static int list_collect(const struct snap_info *info, void *userdata)
{
	struct list_acc *acc = userdata;
	if (acc->n == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 64;
		struct snap_info *v = realloc(acc->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		acc->v = v;
		acc->cap = cap;
	}
	struct snap_info *c = &acc->v[acc->n];
	*c = (struct snap_info){
		.id = info->id,
		.kind = info->kind,
		.created_ns = info->created_ns,
		.updated_ns = info->updated_ns,
	};
	c->key = strdup(info->key);
	c->parent = info->parent ? strdup(info->parent) : NULL;
	acc->n++; /* counted before the checks so list_acc_done frees it */
	if (!c->key || (info->parent && !c->parent))
		return -ENOMEM;
	return snap_labels_copy(&c->labels, &info->labels);
}

static int list_send_block(struct snap_grpc_reply *reply, const struct snap_info *v, size_t n)
{
	struct snap_pb_info *pbs = calloc(n, sizeof(*pbs));
	PbInfo **ptrs = calloc(n, sizeof(*ptrs));
	int r = pbs && ptrs ? 0 : -ENOMEM;
	size_t done = 0;
	for (; r >= 0 && done < n; done++) {
		r = snap_pb_info_init(&pbs[done], &v[done]);
		ptrs[done] = &pbs[done].msg;
	}
	if (r >= 0) {
		PB(ListSnapshotsResponse) resp = CONTAINERD__SERVICES__SNAPSHOTS__V1__LIST_SNAPSHOTS_RESPONSE__INIT;
		resp.n_info = n;
		resp.info = ptrs;
		r = snap_grpc_reply_add(reply, &resp.base);
	}
	for (size_t i = 0; pbs && i < done; i++)
		snap_pb_info_done(&pbs[i]);
	free(pbs);
	free(ptrs);
	return r;
}

static int m_list(struct snap_core *core, const ProtobufCMessage *m,
		  struct snap_grpc_reply *reply, struct snap_error *err)
{
	const PB(ListSnapshotsRequest) *req = (const void *)m;
	_cleanup_(list_acc_done) struct list_acc acc = { 0 };

	int r = snap_walk(core, (const char *const *)req->filters, req->n_filters, list_collect, &acc, err);
	if (r < 0)
		/* A failure of list_collect comes back without a message. */
		return err->code ? r : snap_error_set(err, r, "list snapshots: %s", strerror(-r));
	for (size_t i = 0; i < acc.n; i += LIST_BLOCK) {
		size_t n = acc.n - i < LIST_BLOCK ? acc.n - i : LIST_BLOCK;
		if (list_send_block(reply, acc.v + i, n) < 0)
			return oom(err, "list");
	}
	return 0;
}

static int m_usage(struct snap_core *core, const ProtobufCMessage *m,
		   struct snap_grpc_reply *reply, struct snap_error *err)
{
	const PB(UsageRequest) *req = (const void *)m;
	struct snap_usage usage = { 0 };

	int r = snap_usage_get(core, req->key, &usage, err);
	if (r < 0)
		return r;
	PB(UsageResponse) resp = CONTAINERD__SERVICES__SNAPSHOTS__V1__USAGE_RESPONSE__INIT;
	resp.size = usage.size;
	resp.inodes = usage.inodes;
	return snap_grpc_reply_add(reply, &resp.base) < 0 ? oom(err, "usage") : 0;
}

static int m_cleanup(struct snap_core *core, const ProtobufCMessage *m,
		     struct snap_grpc_reply *reply, struct snap_error *err)
{
	int r = snap_cleanup(core, err);
	if (r < 0)
		return r;
	return reply_empty(reply) < 0 ? oom(err, "cleanup") : 0;
}

#define METHOD(n, f, in, stream, ro)                                                   \
	{ .name = n, .fn = f, .input = &containerd__services__snapshots__v1__##in##__descriptor, \
	  .server_streaming = stream, .read_only = ro }

static const struct snap_method methods[] = {
	METHOD("Prepare", m_prepare, prepare_snapshot_request, false, false),
	METHOD("View", m_view, view_snapshot_request, false, false),
	METHOD("Mounts", m_mounts, mounts_request, false, true),
	METHOD("Commit", m_commit, commit_snapshot_request, false, false),
	METHOD("Remove", m_remove, remove_snapshot_request, false, false),
	METHOD("Stat", m_stat, stat_snapshot_request, false, true),
	METHOD("Update", m_update, update_snapshot_request, false, false),
	METHOD("List", m_list, list_snapshots_request, true, true),
	METHOD("Usage", m_usage, usage_request, false, true),
	METHOD("Cleanup", m_cleanup, cleanup_request, false, false),
};

const struct snap_method *snap_service_method_at(size_t i)
{
	return i < ELEMENTSOF(methods) ? &methods[i] : NULL;
}

int snap_service_method_path(const struct snap_method *m, char *buf, size_t len)
{
	const char *service = containerd__services__snapshots__v1__snapshots__descriptor.name;
	int n = snprintf(buf, len, "/%s/%s", service, m->name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

const struct snap_method *snap_service_method_find(const char *path, size_t len)
{
	/* The service's full name comes from the generated descriptor, so a
	 * renamed package in the .proto cannot silently mismatch. */
	const char *service = containerd__services__snapshots__v1__snapshots__descriptor.name;
	size_t slen = strlen(service);
	if (len < slen + 3 || path[0] != '/' || memcmp(path + 1, service, slen) != 0 ||
	    path[slen + 1] != '/')
		return NULL;
	const char *name = path + slen + 2;
	size_t nlen = len - slen - 2;
	for (size_t i = 0; i < ELEMENTSOF(methods); i++)
		if (strlen(methods[i].name) == nlen && memcmp(methods[i].name, name, nlen) == 0)
			return &methods[i];
	return NULL;
}
