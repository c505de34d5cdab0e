/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "service-convert.h"

static void timestamp_from_ns(PbTimestamp *ts, int64_t ns)
{
	*ts = (PbTimestamp)GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts->seconds = ns / 1000000000;
	ts->nanos = (int32_t)(ns % 1000000000);
	/* Timestamps before 1970 keep nanos in [0, 1e9) as the proto requires. */
	if (ts->nanos < 0) {
		ts->seconds--;
		ts->nanos += 1000000000;
	}
}

static Containerd__Services__Snapshots__V1__Kind kind_to_pb(int kind)
{
	switch (kind) {
	case SNAP_KIND_VIEW:
		return CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__VIEW;
	case SNAP_KIND_ACTIVE:
		return CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__ACTIVE;
	case SNAP_KIND_COMMITTED:
		return CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__COMMITTED;
	default:
		return CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__UNKNOWN;
	}
}

int snap_pb_info_init(struct snap_pb_info *pb, const struct snap_info *info)
{
	*pb = (struct snap_pb_info){ .msg = CONTAINERD__SERVICES__SNAPSHOTS__V1__INFO__INIT };
	pb->msg.name = info->key;
	pb->msg.parent = info->parent ? info->parent : (char *)"";
	pb->msg.kind = kind_to_pb(info->kind);
	timestamp_from_ns(&pb->created, info->created_ns);
	timestamp_from_ns(&pb->updated, info->updated_ns);
	pb->msg.created_at = &pb->created;
	pb->msg.updated_at = &pb->updated;

	size_t n = info->labels.n;
	if (n == 0)
		return 0;
	pb->labels = calloc(n, sizeof(*pb->labels));
	pb->label_ptrs = calloc(n, sizeof(*pb->label_ptrs));
	if (!pb->labels || !pb->label_ptrs) {
		snap_pb_info_done(pb);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		pb->labels[i] = (PbInfoLabel)CONTAINERD__SERVICES__SNAPSHOTS__V1__INFO__LABELS_ENTRY__INIT;
		pb->labels[i].key = (char *)info->labels.v[i].key;
		pb->labels[i].value = (char *)info->labels.v[i].value;
		pb->label_ptrs[i] = &pb->labels[i];
	}
	pb->msg.n_labels = n;
	pb->msg.labels = pb->label_ptrs;
	return 0;
}

void snap_pb_info_done(struct snap_pb_info *pb)
{
	free(pb->labels);
	free(pb->label_ptrs);
	pb->labels = NULL;
	pb->label_ptrs = NULL;
	pb->msg.n_labels = 0;
	pb->msg.labels = NULL;
}

int snap_pb_mounts_init(struct snap_pb_mounts *pb, const struct snap_mounts *m)
{
	*pb = (struct snap_pb_mounts){ 0 };
	if (m->n == 0)
		return 0;
	pb->v = calloc(m->n, sizeof(*pb->v));
	pb->ptrs = calloc(m->n, sizeof(*pb->ptrs));
	if (!pb->v || !pb->ptrs) {
		snap_pb_mounts_done(pb);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct snap_mount *sm = &m->v[i];
		PbMount *pm = &pb->v[i];
		*pm = (PbMount)CONTAINERD__TYPES__MOUNT__INIT;
		pm->type = sm->type ? sm->type : (char *)"";
		pm->source = sm->source ? sm->source : (char *)"";
		pm->n_options = sm->n_options;
		pm->options = sm->options;
		pb->ptrs[i] = pm;
	}
	pb->n = m->n;
	return 0;
}

void snap_pb_mounts_done(struct snap_pb_mounts *pb)
{
	free(pb->v);
	free(pb->ptrs);
	*pb = (struct snap_pb_mounts){ 0 };
}
