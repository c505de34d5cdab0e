/* SPDX-License-Identifier: Apache-2.0 */
/* Negative errno from the core -> the gRPC status containerd's errdefs expect. */
#ifndef SNAP_GRPC_STATUS_H
#define SNAP_GRPC_STATUS_H

#include <grpc/status.h>

/* containerd's errdefs.FromGRPC turns NotFound, AlreadyExists,
 * FailedPrecondition, InvalidArgument, Unavailable and Unimplemented back
 * into its typed errors; callers (the metadata snapshotter, the garbage
 * collector, the test suite) branch on those.  Returns GRPC_STATUS_OK for 0. */
grpc_status_code snap_grpc_status_from_errno(int code);

#endif
