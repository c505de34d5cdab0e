/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Between the core's types and the protobuf-c messages of containerd's
 * snapshots.v1 API.  The messages built here point into the core's
 * structures (no copies): keep those alive until the message is packed.
 */
#ifndef SNAP_SERVICE_CONVERT_H
#define SNAP_SERVICE_CONVERT_H

#include "core.h"
#include "snapshots.pb-c.h"

typedef Containerd__Services__Snapshots__V1__Info PbInfo;
typedef Containerd__Services__Snapshots__V1__Info__LabelsEntry PbInfoLabel;
typedef Containerd__Types__Mount PbMount;
typedef Google__Protobuf__Timestamp PbTimestamp;

/* Labels of any request message (every `map<string, string> labels` field
 * is a repeated LabelsEntry with key and value) into *out.  0 or -errno. */
#define snap_pb_labels_from(out, msg)                                                  \
	({                                                                             \
		int _r = 0;                                                            \
		for (size_t _i = 0; _r >= 0 && _i < (msg)->n_labels; _i++)             \
			_r = snap_labels_set((out), (msg)->labels[_i]->key,            \
					     (msg)->labels[_i]->value ? (msg)->labels[_i]->value : ""); \
		_r;                                                                    \
	})

/* An Info message with its timestamps and label entries. */
struct snap_pb_info {
	PbInfo msg;
	PbTimestamp created, updated;
	PbInfoLabel *labels;
	PbInfoLabel **label_ptrs;
};
int snap_pb_info_init(struct snap_pb_info *pb, const struct snap_info *info);
void snap_pb_info_done(struct snap_pb_info *pb);

/* A repeated Mount field. */
struct snap_pb_mounts {
	PbMount *v;
	PbMount **ptrs;
	size_t n;
};
int snap_pb_mounts_init(struct snap_pb_mounts *pb, const struct snap_mounts *m);
void snap_pb_mounts_done(struct snap_pb_mounts *pb);

/* Empty protobuf strings are "" (never NULL) in protobuf-c; the core takes
 * NULL for "no parent". */
static inline const char *snap_pb_str_or_null(const char *s)
{
	return s && *s ? s : NULL;
}

#endif
