/* SPDX-License-Identifier: Apache-2.0 */
#include "util/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/macro.h"

/* In a forked probe child: close every fd but a and b (async-signal-safe).
 * Other threads may fork their own probe children at the same time, each
 * inheriting the others' pipe ends: a child holding a sibling's write end
 * keeps that sibling's read from ever seeing EOF (and the sibling ours),
 * and a child holding the parent's stdout keeps whoever reads it waiting. */
void snap_child_close_fds_except(int a, int b)
{
	if (a > b) {
		int t = a;
		a = b;
		b = t;
	}
	if (a > 0)
		close_range(0, (unsigned)a - 1, 0);
	if (b > a + 1)
		close_range((unsigned)a + 1, (unsigned)b - 1, 0);
	close_range((unsigned)b + 1, ~0u, 0);
}

int snap_userns_fd(void)
{
	int to_child[2], from_child[2];
	if (pipe2(to_child, O_CLOEXEC) < 0)
		return negative_errno();
	if (pipe2(from_child, O_CLOEXEC) < 0) {
		close(to_child[0]);
		close(to_child[1]);
		return negative_errno();
	}
	pid_t pid = fork();
	if (pid < 0) {
		int r = negative_errno();
		close(to_child[0]);
		close(to_child[1]);
		close(from_child[0]);
		close(from_child[1]);
		return r;
	}
	if (pid == 0) {
		char c = 0;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snap_child_close_fds_except(to_child[0], from_child[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		if (write(from_child[1], &c, 1) != 1)
			_exit(1);
		(void)!read(to_child[0], &c, 1);
		_exit(0);
	}
	close(to_child[0]);
	close(from_child[1]);
	char c;
	int r = 0;
	if (read(from_child[0], &c, 1) != 1)
		r = -EOPNOTSUPP;
	int fd = -EBADF;
	if (r == 0) {
		char path[64];
		static const char map[] = "0 100000 65536\n";
		for (int i = 0; i < 2 && r == 0; i++) {
			snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, i ? "gid_map" : "uid_map");
			_cleanup_close_ int mfd = open(path, O_WRONLY | O_CLOEXEC);
			if (mfd < 0 || write(mfd, map, sizeof(map) - 1) != (ssize_t)(sizeof(map) - 1))
				r = -EPERM;
		}
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		if (r == 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			r = negative_errno();
	}
	close(to_child[1]);
	close(from_child[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : fd;
}
