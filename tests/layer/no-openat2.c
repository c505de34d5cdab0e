/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run a command with openat2(2) failing with ENOSYS, as on kernels before
 * 5.6, so the suite also covers the fd-walking fallback of
 * snap_openat_in_root (the way crun's tests force it).
 * Usage: no-openat2 COMMAND [ARG...]
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: no-openat2 COMMAND [ARG...]\n");
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "no-openat2: seccomp_init failed\n");
		return 125;
	}
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		fprintf(stderr, "no-openat2: install filter: %s\n", strerror(-r));
		return 125;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "no-openat2: exec %s: %s\n", argv[1], strerror(errno));
	return 127;
}
