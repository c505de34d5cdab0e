/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading the default seccomp profile (seccomp-profile.c, compiled to BPF at
 * build time by seccomp-gen.c) in the container's command: one seccomp(2)
 * call, no libseccomp at run time.  The command loads it as its last step
 * before the credentials and exec (container-init.c says why there).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container-internal.h"
#include "seccomp-profile-bpf.h"
#include "util/macro.h"

static const struct sock_fprog profile = {
	.len = ELEMENTSOF(seccomp_profile_bpf),
	.filter = (struct sock_filter *)seccomp_profile_bpf,
};

int container_seccomp_prepare(void **ret, struct snap_error *err)
{
	(void)err;
	*ret = (void *)&profile;
	return 0;
}

int container_seccomp_load(void *filter, struct snap_error *err)
{
	/* no SECCOMP_FILTER_FLAG_*, no no_new_privs: as libseccomp's
	 * seccomp_load with the attributes seccomp-gen set */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, filter) < 0)
		return snap_error_set(err, negative_errno(), "load the seccomp profile: %m");
	return 0;
}

void container_seccomp_free(void *filter)
{
	(void)filter; /* static */
}

void snap_container_seccomp_describe(char *buf, size_t len)
{
	snprintf(buf, len,
		 "docker's default profile (an allowlist of %d system call names), built with libseccomp %s, %s",
		 SECCOMP_PROFILE_N_ALLOWED, SECCOMP_PROFILE_LIBSECCOMP, SECCOMP_PROFILE_ARCHES);
}
