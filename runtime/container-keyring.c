/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fresh session keyring for the container, as runc gives one: otherwise
 * the container shares the caller's session keyring (a key added inside is
 * readable on the host, and the other way round).  The raw system call:
 * libkeyutils is not needed for one call.  The seccomp profile refuses
 * keyctl afterwards anyway; this protects an unconfined container too.
 */
#include <errno.h>
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container-internal.h"
#include "util/macro.h"

int container_keyring_new(struct snap_error *err)
{
	/* NULL name: a new anonymous keyring (a name would join an existing
	 * keyring of that name that we may search) */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) >= 0)
		return 0;
	if (errno == ENOSYS)
		return 0; /* a kernel without keys: nothing to share */
	return snap_error_set(err, negative_errno(), "create a session keyring: %m");
}
