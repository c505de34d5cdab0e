/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workload: what a container start pays for each piece of its isolation,
 * timed in process with the runtime's own functions (the `start` workload
 * times the whole command): the container's cgroup made and removed, the
 * seccomp profile loaded, the masked and read-only paths, the /dev tmpfs
 * with the allowed devices, and the namespaces (a clone with the flags
 * `run` uses, beside a plain fork for scale).  Nothing here depends on the
 * driver: each driver's rows measure the same work again.
 *
 * The pieces that change the calling process (seccomp, mounts) run in a
 * child of their own, which times itself and reports through a pipe; the
 * mounts are made in the child's private mount namespace and go with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container-cgroup.h"
#include "container-internal.h"
#include "util/macro.h"
#include "wl-util.h"

/* What a timing child reports. */
struct piece_result {
	int error;        /* 0 or -errno */
	double ms;
	char message[256];
};

/* The tree the mount pieces work on: ROOT/{proc,sys,dev}. */
struct pieces_state {
	char root[4096];
	int n; /* cgroups made, for unique names */
};

typedef int (*piece_fn)(const struct pieces_state *s, double *ms, struct snap_error *err);

static int wait_child(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return negative_errno();
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/* Run fn in a forked child and return what it timed. */
static int in_child(const struct pieces_state *s, piece_fn fn, const char *what, double *ret_ms,
		    struct snap_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return snap_error_set(err, negative_errno(), "bench start-pieces: pipe: %m");
	pid_t pid = fork();
	if (pid < 0) {
		int r = negative_errno();
		close(p[0]);
		close(p[1]);
		return snap_error_set(err, r, "bench start-pieces: fork: %s", strerror(-r));
	}
	if (pid == 0) {
		struct piece_result res = { 0 };
		struct snap_error cerr = { 0 };
		res.error = fn(s, &res.ms, &cerr);
		if (res.error < 0)
			snprintf(res.message, sizeof(res.message), "%s", cerr.message);
		ssize_t n = write(p[1], &res, sizeof(res));
		_exit(n == (ssize_t)sizeof(res) ? 0 : 1);
	}
	close(p[1]);
	struct piece_result res = { 0 };
	ssize_t n;
	while ((n = read(p[0], &res, sizeof(res))) < 0 && errno == EINTR)
		;
	close(p[0]);
	int r = wait_child(pid);
	if (n != (ssize_t)sizeof(res))
		return snap_error_set(err, -EIO, "bench start-pieces: %s: the child reported nothing (%s)", what,
				      r < 0 ? "it failed" : "short read");
	if (res.error < 0)
		return snap_error_set(err, res.error, "bench start-pieces: %s: %s", what, res.message);
	*ret_ms = res.ms;
	return 0;
}

static int seccomp_load(const struct pieces_state *s, double *ms, struct snap_error *err)
{
	(void)s;
	void *filter = NULL;
	int r = container_seccomp_prepare(&filter, err);
	if (r < 0)
		return r;
	int64_t t = bench_now_ns();
	r = container_seccomp_load(filter, err);
	*ms = bench_ms_since(t);
	container_seccomp_free(filter);
	return r;
}

/* A private mount namespace with proc and sysfs mounted in s->root, as
 * the container's init has them before it masks. */
static int private_proc_sys(const struct pieces_state *s, int *procfd, int *sysfd, struct snap_error *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return snap_error_set(err, negative_errno(), "unshare a mount namespace: %m");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return snap_error_set(err, negative_errno(), "make / private: %m");
	char proc[4200], sys[4200];
	snprintf(proc, sizeof(proc), "%s/proc", s->root);
	snprintf(sys, sizeof(sys), "%s/sys", s->root);
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return snap_error_set(err, negative_errno(), "mount proc on %s: %m", proc);
	if (mount("sysfs", sys, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return snap_error_set(err, negative_errno(), "mount sysfs on %s: %m", sys);
	*procfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	*sysfd = open(sys, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*procfd < 0 || *sysfd < 0)
		return snap_error_set(err, negative_errno(), "open %s or %s: %m", proc, sys);
	return 0;
}

static int masks(const struct pieces_state *s, double *ms, struct snap_error *err)
{
	int procfd, sysfd;
	int r = private_proc_sys(s, &procfd, &sysfd, err);
	if (r < 0)
		return r;
	int64_t t = bench_now_ns();
	r = container_masks_apply(procfd, sysfd, err);
	*ms = bench_ms_since(t);
	return r;
}

static int devices(const struct pieces_state *s, double *ms, struct snap_error *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return snap_error_set(err, negative_errno(), "unshare a mount namespace: %m");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return snap_error_set(err, negative_errno(), "make / private: %m");
	_cleanup_close_ int rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return snap_error_set(err, negative_errno(), "open %s: %m", s->root);
	int64_t t = bench_now_ns();
	int r = container_devices_setup(rootfd, err);
	*ms = bench_ms_since(t);
	return r;
}

/* clone(flags) of a child that exits at once, and its reaping. */
static int clone_exit(unsigned long flags, double *ms, struct snap_error *err)
{
	int64_t t = bench_now_ns();
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0)
		return snap_error_set(err, negative_errno(), "bench start-pieces: clone: %m");
	if (pid == 0)
		_exit(0);
	int r = wait_child(pid);
	*ms = bench_ms_since(t);
	if (r < 0)
		return snap_error_set(err, r, "bench start-pieces: the cloned child failed");
	return 0;
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	(void)env;
	if (geteuid() != 0)
		return snap_error_set(err, -EPERM, "bench start-pieces: needs root (cgroups, mounts)");
	struct pieces_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench start-pieces: out of memory");
	snprintf(s->root, sizeof(s->root), "%s/start-pieces", b->work);
	static const char *const dirs[] = { "", "/proc", "/sys", "/dev" };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		char d[4200];
		snprintf(d, sizeof(d), "%s%s", s->root, dirs[i]);
		if (mkdir(d, 0755) < 0 && errno != EEXIST) {
			int r = snap_error_set(err, negative_errno(), "bench start-pieces: mkdir %s: %m", d);
			free(s);
			return r;
		}
	}
	*state = s;
	return 0;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	(void)runno;
	struct pieces_state *s = state;

	char name[64];
	snprintf(name, sizeof(name), "bench-pieces-%d-%d", (int)getpid(), s->n++);
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	int64_t t = bench_now_ns();
	struct container_cgroup *cg = NULL;
	int r = container_cgroup_create(name, &spec.limits, &cg, err);
	if (r < 0)
		return r;
	if (cg) {
		container_cgroup_close_fds(cg);
		r = container_cgroup_destroy(cg, err);
		if (r < 0)
			return r;
		bench_record(b, env, "cgroup: create with limits, remove", "ms", bench_ms_since(t));
	}

	static const struct {
		const char *metric;
		piece_fn fn;
	} children[] = {
		{ "seccomp: load the profile", seccomp_load },
		{ "masked and read-only paths", masks },
		{ "/dev: tmpfs and the allowed devices", devices },
	};
	for (size_t i = 0; i < ELEMENTSOF(children); i++) {
		double ms = 0;
		r = in_child(s, children[i].fn, children[i].metric, &ms, err);
		if (r < 0)
			return r;
		bench_record(b, env, children[i].metric, "ms", ms);
	}

	double ms = 0;
	r = clone_exit(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET, &ms, err);
	if (r < 0)
		return r;
	bench_record(b, env, "namespaces: clone, exit, wait", "ms", ms);
	r = clone_exit(0, &ms, err);
	if (r < 0)
		return r;
	bench_record(b, env, "plain fork, exit, wait (for scale)", "ms", ms);
	return 0;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	(void)b;
	(void)env;
	free(state);
}

const struct bench_workload bench_wl_start_pieces = {
	.name = "start-pieces",
	.description = "what a container start pays per piece: cgroup, seccomp load, masks, /dev, namespaces",
	.setup = setup,
	.run = run,
	.teardown = teardown,
};
