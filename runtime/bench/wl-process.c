/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workload "snapshot-process": one snapshot operation per `snapctl`
 * process, as a shell script or a CLI user pays it: exec, libraries,
 * opening the root and its metadata, the operation, exit.  Each run
 * prepares an active snapshot on a committed base, commits it and removes
 * the commit, each a process of its own; the wall time and the CPU time
 * (user + system, from wait4) of each process are recorded.
 *
 * The root is one of its own (WORK/<driver>-proc) that no process keeps
 * open in between, unlike the other workloads' roots, which the bench
 * process holds open: a lone CLI process is the only user of its root's
 * -shm and rebuilds it, and that belongs in the figure.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/macro.h"
#include "wl-util.h"

struct proc_state {
	char root[4200];
};

/* Run `snapctl --root ROOT --driver D -q ARGS...`; its wall and CPU ms. */
static int spawn_timed(struct bench_ctx *b, struct bench_env *env, const char *root, const char *const *args,
		       double *ret_wall, double *ret_cpu)
{
	char *argv[32] = { b->self_exe, "--root", (char *)root, "--driver", (char *)env->driver, "-q" };
	size_t n = 6;
	if (b->cli->btrfs_size) {
		argv[n++] = "--btrfs-size";
		argv[n++] = (char *)b->cli->btrfs_size;
	}
	for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	int64_t t = bench_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return negative_errno();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			if (b->cli->verbosity < 1)
				dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return negative_errno();
	*ret_wall = bench_ms_since(t);
	*ret_cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int op(struct bench_ctx *b, struct bench_env *env, struct proc_state *s, const char *what,
	      const char *const *args, struct snap_error *err)
{
	double wall = 0, cpu = 0;
	int r = spawn_timed(b, env, s->root, args, &wall, &cpu);
	if (r != 0)
		return snap_error_set(err, r < 0 ? r : -EIO, "bench snapshot-process: snapctl %s on %s exited with %d",
				      what, env->driver, r);
	char metric[64];
	snprintf(metric, sizeof(metric), "%s (process)", what);
	r = bench_record(b, env, metric, "ms", wall);
	snprintf(metric, sizeof(metric), "%s (process CPU)", what);
	return r < 0 ? r : bench_record(b, env, metric, "ms", cpu);
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	struct proc_state *s = state;
	if (!s)
		return;
	bench_unmount_below(s->root);
	char *argv[] = { "rm", "-rf", "--one-file-system", s->root, NULL };
	bench_spawn(b, argv);
	free(s);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct proc_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench snapshot-process: out of memory");
	snprintf(s->root, sizeof(s->root), "%s-proc", env->root);
	*state = s;
	double wall, cpu;
	const char *prep[] = { "snapshot", "prepare", "proc-base-active", NULL };
	const char *commit[] = { "snapshot", "commit", "proc-base", "proc-base-active", NULL };
	if (spawn_timed(b, env, s->root, prep, &wall, &cpu) != 0 ||
	    spawn_timed(b, env, s->root, commit, &wall, &cpu) != 0) {
		snap_error_set(err, -EIO, "bench snapshot-process: cannot make a base snapshot in %s", s->root);
		teardown(b, env, s); /* the runner tears down only what set up */
		*state = NULL;
		return -EIO;
	}
	return 0;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	struct proc_state *s = state;
	char key[64], name[64];
	snprintf(key, sizeof(key), "proc-%d-active", runno);
	snprintf(name, sizeof(name), "proc-%d", runno);
	const char *prep[] = { "snapshot", "prepare", key, "proc-base", NULL };
	int r = op(b, env, s, "prepare", prep, err);
	if (r < 0)
		return r;
	const char *commit[] = { "snapshot", "commit", name, key, NULL };
	r = op(b, env, s, "commit", commit, err);
	const char *rm[] = { "snapshot", "rm", r < 0 ? key : name, NULL };
	struct snap_error rerr = { 0 };
	int q = op(b, env, s, "remove", rm, &rerr);
	if (r == 0 && q < 0) {
		*err = rerr;
		r = q;
	}
	return r;
}

const struct bench_workload bench_wl_snapshot_process = {
	.name = "snapshot-process",
	.description = "snapshot prepare, commit and rm, each its own snapctl process: wall and CPU ms",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.peers = true,
};
