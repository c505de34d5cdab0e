/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run a test as on a kernel without the new mount API: a seccomp filter
 * makes fsopen, fsconfig, fsmount, move_mount, open_tree and mount_setattr
 * fail with ENOSYS, then the test is exec'ed with SNAPCTL_TEST_NO_FSOPEN=1
 * so it knows.  Usage: no-fsopen PROGRAM [ARG...]
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "no-fsopen: seccomp_init failed\n");
		return 77;
	}
	static const char *const calls[] = { "fsopen", "fsconfig", "fsmount", "move_mount", "open_tree",
					     "mount_setattr" };
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(calls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		if (r < 0) {
			fprintf(stderr, "no-fsopen: seccomp rule for %s: %s\n", calls[i], strerror(-r));
			return 77;
		}
	}
	int r = seccomp_load(ctx);
	if (r < 0) {
		fprintf(stderr, "no-fsopen: seccomp_load: %s\n", strerror(-r));
		return 77;
	}
	seccomp_release(ctx);
	setenv("SNAPCTL_TEST_NO_FSOPEN", "1", 1);
	execv(argv[1], argv + 1);
	fprintf(stderr, "no-fsopen: exec %s: %s\n", argv[1], strerror(errno));
	return 127;
}
