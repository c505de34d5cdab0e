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
