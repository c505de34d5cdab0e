/* SPDX-License-Identifier: Apache-2.0 */
/* The default seccomp profile (seccomp-profile.c), for the build-time
 * generator (seccomp-gen.c). */
#ifndef SNAP_SECCOMP_PROFILE_H
#define SNAP_SECCOMP_PROFILE_H

#include <seccomp.h>
#include <stddef.h>

/* Add the profile's architectures and rules to ctx (made with a default
 * action of SCMP_ACT_ERRNO(EPERM)).  0 or -errno. */
int seccomp_profile_build(scmp_filter_ctx ctx);
/* System call names the allowlist holds (for `snapctl info`). */
size_t seccomp_profile_n_allowed(void);
/* "x86_64 x86 x32": the ABIs covered, native first. */
extern const char seccomp_profile_arches[];

#endif
