/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "grpc-status.h"

grpc_status_code snap_grpc_status_from_errno(int code)
{
	switch (code) {
	case 0:
		return GRPC_STATUS_OK;
	case -ENOENT:
		return GRPC_STATUS_NOT_FOUND;
	case -EEXIST:
		return GRPC_STATUS_ALREADY_EXISTS;
	case -EINVAL:
	case -ENAMETOOLONG:
	case -E2BIG:
		return GRPC_STATUS_INVALID_ARGUMENT;
	/* The core's "failed precondition": children exist, the parent is
	 * not committed, the snapshot is of the wrong kind. */
	case -EBUSY:
	case -ENOTEMPTY:
		return GRPC_STATUS_FAILED_PRECONDITION;
	case -EPERM:
	case -EACCES:
		return GRPC_STATUS_PERMISSION_DENIED;
	case -EOPNOTSUPP:
	case -ENOSYS:
		return GRPC_STATUS_UNIMPLEMENTED;
	/* sqlite busy past its timeout, a driver that cannot run right now:
	 * containerd retries Unavailable. */
	case -EAGAIN:
	case -ETIMEDOUT:
	case -ESHUTDOWN:
		return GRPC_STATUS_UNAVAILABLE;
	case -ENOSPC:
	case -EDQUOT:
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	case -ECANCELED:
		return GRPC_STATUS_CANCELLED;
	default:
		return GRPC_STATUS_UNKNOWN;
	}
}

const char *snap_grpc_status_name(grpc_status_code code)
{
	static const char *const names[] = {
		[GRPC_STATUS_OK] = "OK",
		[GRPC_STATUS_CANCELLED] = "Canceled",
		[GRPC_STATUS_UNKNOWN] = "Unknown",
		[GRPC_STATUS_INVALID_ARGUMENT] = "InvalidArgument",
		[GRPC_STATUS_DEADLINE_EXCEEDED] = "DeadlineExceeded",
		[GRPC_STATUS_NOT_FOUND] = "NotFound",
		[GRPC_STATUS_ALREADY_EXISTS] = "AlreadyExists",
		[GRPC_STATUS_PERMISSION_DENIED] = "PermissionDenied",
		[GRPC_STATUS_RESOURCE_EXHAUSTED] = "ResourceExhausted",
		[GRPC_STATUS_FAILED_PRECONDITION] = "FailedPrecondition",
		[GRPC_STATUS_ABORTED] = "Aborted",
		[GRPC_STATUS_OUT_OF_RANGE] = "OutOfRange",
		[GRPC_STATUS_UNIMPLEMENTED] = "Unimplemented",
		[GRPC_STATUS_INTERNAL] = "Internal",
		[GRPC_STATUS_UNAVAILABLE] = "Unavailable",
		[GRPC_STATUS_DATA_LOSS] = "DataLoss",
		[GRPC_STATUS_UNAUTHENTICATED] = "Unauthenticated",
	};
	if ((unsigned)code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	return "Unknown";
}
