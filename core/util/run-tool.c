/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "run-tool.h"

/* The child's exit status when execvp failed. */
#define EXIT_CANNOT_RUN 127

/* Read fd to its end into out (NUL-terminated), keeping the tail when the
 * output is longer than out: the last lines say what failed. */
static void read_tail(int fd, char *out, size_t size)
{
	size_t len = 0;
	for (;;) {
		ssize_t k = read(fd, out + len, size - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		if (len == size - 1) {
			memmove(out, out + len / 2, len - len / 2);
			len -= len / 2;
		}
	}
	/* without the trailing blank lines */
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		len--;
	out[len] = '\0';
}

int snap_run_tool(char *const argv[], const char *package, struct snap_error *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return snap_error_set(err, negative_errno(), "%s: pipe: %s", argv[0], strerror(errno));
	_cleanup_close_ int rd = pipefd[0];
	_cleanup_close_ int wr = pipefd[1];
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return snap_error_set(err, negative_errno(), "open /dev/null: %s", strerror(errno));

	pid_t pid = fork();
	if (pid < 0)
		return snap_error_set(err, negative_errno(), "%s: fork: %s", argv[0], strerror(errno));
	if (pid == 0) {
		/* Only async-signal-safe calls from here on. */
		if (dup2(devnull, STDIN_FILENO) < 0 || dup2(wr, STDOUT_FILENO) < 0 ||
		    dup2(wr, STDERR_FILENO) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(EXIT_CANNOT_RUN);
	}
	close(TAKE_FD(wr));

	char out[4096];
	read_tail(rd, out, sizeof(out));
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return snap_error_set(err, negative_errno(), "%s: wait: %s", argv[0], strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_CANNOT_RUN && !*out)
		return snap_error_set(err, -ENOENT, "cannot run %s (install %s)", argv[0], package);

	char *last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	int code = strstr(out, "No space left") ? -ENOSPC : -EIO;
	return snap_error_set(err, code, "%s failed (%s %d): %s", argv[0],
			      WIFEXITED(status) ? "exit status" : "signal",
			      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			      *last ? last : "no output");
}
