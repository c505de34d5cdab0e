/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Peers: containerd (ctr, with its overlayfs, native and btrfs snapshotters,
 * in a private containerd this bench starts and stops) and podman (overlay,
 * vfs and btrfs storage drivers, private roots), measured on the workloads
 * they can do (unpack, start, commit) in the same run as snapctl's drivers.
 * Absent peers are reported as skipped with the reason.
 *
 * The images they use are the bench's own, exported by snapctl as OCI
 * archives (so every tool unpacks exactly the same layers).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "fs-util.h"
#include "macro.h"

struct peer_containerd {
	pid_t pid;
	char *dir, *sock;
};
static struct peer_containerd cd = { .pid = -1 };

static bool have(const char *prog)
{
	char *argv[] = { "sh", "-c", NULL, NULL };
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	argv[2] = cmd;
	pid_t pid = fork();
	if (pid == 0) {
		execvp("sh", argv);
		_exit(127);
	}
	int st;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int start_containerd(struct bench_ctx *b, char *reason, size_t len)
{
	if (asprintf(&cd.dir, "%s/peer-containerd", b->work) < 0 ||
	    asprintf(&cd.sock, "%s/containerd.sock", cd.dir) < 0 || snap_mkdir_p(cd.dir, 0700) < 0) {
		snprintf(reason, len, "cannot create %s", b->work);
		return -1;
	}
	char cfg[4200];
	snprintf(cfg, sizeof(cfg), "%s/config.toml", cd.dir);
	FILE *f = fopen(cfg, "we");
	if (!f) {
		snprintf(reason, len, "cannot write %s: %m", cfg);
		return -1;
	}
	fprintf(f,
		"version = 2\nroot = \"%s/root\"\nstate = \"%s/state\"\n"
		"[grpc]\n  address = \"%s\"\n"
		"[plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_cgroup = true\n",
		cd.dir, cd.dir, cd.sock);
	fclose(f);
	cd.pid = fork();
	if (cd.pid == 0) {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execlp("containerd", "containerd", "--config", cfg, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		if (access(cd.sock, F_OK) == 0)
			return 0;
		usleep(50000);
	}
	snprintf(reason, len, "containerd did not open %s within 5 s", cd.sock);
	return -1;
}

void bench_peers_add(struct bench_ctx *b, size_t cap)
{
	static const char *const cd_snaps[] = { "overlayfs", "native", "btrfs" };
	static const char *const pm_drivers[] = { "overlay", "vfs", "btrfs" };
	char reason[256] = "";
	bool cd_ok = have("containerd") && have("ctr");
	if (!cd_ok)
		snprintf(reason, sizeof(reason), "containerd or ctr not installed");
	else if (start_containerd(b, reason, sizeof(reason)) < 0)
		cd_ok = false;
	for (size_t i = 0; i < ELEMENTSOF(cd_snaps) && b->n_envs < cap; i++) {
		struct bench_env *e = &b->envs[b->n_envs++];
		if (asprintf((char **)&e->driver, "containerd-%s", cd_snaps[i]) < 0)
			return;
		e->peer = true;
		e->root = strdup(cd_snaps[i]);
		if (!cd_ok)
			snprintf(e->skip_reason, sizeof(e->skip_reason), "%s", reason);
		else if (strcmp(cd_snaps[i], "btrfs") == 0)
			snprintf(e->skip_reason, sizeof(e->skip_reason),
				 "containerd's btrfs snapshotter needs its root on btrfs");
	}
	bool pm_ok = have("podman");
	for (size_t i = 0; i < ELEMENTSOF(pm_drivers) && b->n_envs < cap; i++) {
		struct bench_env *e = &b->envs[b->n_envs++];
		if (asprintf((char **)&e->driver, "podman-%s", pm_drivers[i]) < 0)
			return;
		e->peer = true;
		if (asprintf(&e->root, "%s/peer-podman-%s", b->work, pm_drivers[i]) < 0)
			return;
		if (!pm_ok)
			snprintf(e->skip_reason, sizeof(e->skip_reason), "podman not installed");
		else if (strcmp(pm_drivers[i], "btrfs") == 0)
			snprintf(e->skip_reason, sizeof(e->skip_reason),
				 "podman's btrfs driver needs its root on btrfs");
	}
}

void bench_peers_stop(struct bench_ctx *b)
{
	if (cd.pid > 0) {
		kill(cd.pid, SIGTERM);
		int st;
		for (int i = 0; i < 100 && waitpid(cd.pid, &st, WNOHANG) == 0; i++)
			usleep(50000);
		kill(cd.pid, SIGKILL);
		waitpid(cd.pid, &st, 0);
		cd.pid = -1;
	}
	for (size_t i = 0; i < b->n_envs; i++)
		if (b->envs[i].peer)
			free((char *)b->envs[i].driver);
	free(cd.dir);
	free(cd.sock);
}

/* One peer command line, timed; exit status non-zero is an error. */
static int timed(struct bench_ctx *b, struct bench_env *env, const char *metric, char *const argv[],
		 struct snap_error *err)
{
	int64_t t = bench_now_ns();
	int r = bench_spawn(b, argv);
	double ms = bench_ms_since(t);
	if (r != 0)
		return snap_error_set(err, -EIO, "%s: %s exited with %d", env->driver, argv[0], r);
	return bench_record(b, env, metric, "ms", ms);
}

static int podman(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *const *args,
		  struct snap_error *err)
{
	char runroot[4200];
	snprintf(runroot, sizeof(runroot), "%s-run", env->root);
	const char *drv = strchr(env->driver, '-') + 1;
	char *argv[32] = { "podman", "--root", env->root, "--runroot", runroot, "--storage-driver",
			   (char *)drv, "--cgroup-manager", "cgroupfs", "--events-backend", "none" };
	size_t n = 11;
	for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (!metric)
		return bench_spawn(b, argv) == 0 ? 0 : snap_error_set(err, -EIO, "%s: %s failed", env->driver, args[0]);
	return timed(b, env, metric, argv, err);
}

static int ctr(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *const *args,
	       struct snap_error *err)
{
	char *argv[32] = { "ctr", "--address", cd.sock, "--namespace", "bench" };
	size_t n = 5;
	for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (!metric)
		return bench_spawn(b, argv) == 0 ? 0 : snap_error_set(err, -EIO, "%s: ctr %s failed", env->driver, args[0]);
	return timed(b, env, metric, argv, err);
}

/* The OCI archive of the bench's busybox image, exported once by snapctl
 * from the first driver root that has it. */
static int bench_peer_archive(struct bench_ctx *b, char *out, size_t len, struct snap_error *err)
{
	snprintf(out, len, "%s/peer-busybox.tar", b->work);
	if (access(out, F_OK) == 0)
		return 0;
	char rootfs[4200];
	int r = bench_busybox_rootfs(b, rootfs, sizeof(rootfs), err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < b->n_envs; i++) {
		if (b->envs[i].peer || b->envs[i].skip_reason[0])
			continue;
		/* The start workload may have imported it already: the import
		 * then fails harmlessly and the export still works. */
		char *imp[] = { b->self_exe, "--root", b->envs[i].root, "--driver", (char *)b->envs[i].driver,
				"-q", "import-rootfs", rootfs, "bench-busybox:latest", NULL };
		bench_spawn(b, imp);
		char *argv[] = { b->self_exe, "--root", b->envs[i].root, "--driver", (char *)b->envs[i].driver,
				 "-q", "export", "bench-busybox:latest", out, NULL };
		if (bench_spawn(b, argv) == 0)
			return 0;
	}
	return snap_error_set(err, -ENOENT, "peers: no snapctl root could export bench-busybox:latest");
}

int bench_peer_run(struct bench_ctx *b, struct bench_env *env, const char *workload, int runno,
		   struct snap_error *err)
{
	char archive[4200];
	int r = bench_peer_archive(b, archive, sizeof(archive), err);
	if (r < 0)
		return r;
	bool is_cd = strncmp(env->driver, "containerd-", 11) == 0;
	const char *snap = env->root; /* containerd: the snapshotter name */
	if (strcmp(workload, "unpack") == 0) {
		if (is_cd) {
			const char *imp[] = { "images", "import", "--snapshotter", snap, "--all-platforms", archive, NULL };
			r = ctr(b, env, "busybox image import", imp, err);
			const char *rm[] = { "images", "rm", "--sync", "bench-busybox:latest", NULL };
			struct snap_error e2 = { 0 };
			ctr(b, env, NULL, rm, &e2);
			return r;
		}
		const char *load[] = { "load", "-q", "-i", archive, NULL };
		r = podman(b, env, "busybox image import", load, err);
		const char *rmi[] = { "rmi", "-a", "-f", NULL };
		struct snap_error e2 = { 0 };
		podman(b, env, NULL, rmi, &e2);
		return r;
	}
	if (strcmp(workload, "start") == 0) {
		char name[64];
		snprintf(name, sizeof(name), "bench-%d", runno);
		if (is_cd) {
			const char *imp[] = { "images", "import", "--snapshotter", snap, archive, NULL };
			if (runno <= 0 && (r = ctr(b, env, NULL, imp, err)) < 0)
				return r;
			const char *run[] = { "run", "--rm", "--snapshotter", snap, "--net-host",
					      "docker.io/library/bench-busybox:latest", name, "/bin/true", NULL };
			return ctr(b, env, "run --rm /bin/true", run, err);
		}
		const char *load[] = { "load", "-q", "-i", archive, NULL };
		if (runno <= 0 && (r = podman(b, env, NULL, load, err)) < 0)
			return r;
		const char *run[] = { "run", "--rm", "--network", "host", "bench-busybox:latest", "/bin/true", NULL };
		return podman(b, env, "run --rm /bin/true", run, err);
	}
	if (strcmp(workload, "commit") == 0 && !is_cd) {
		/* podman: a container that writes a file, then podman commit. */
		char name[64], tag[80];
		snprintf(name, sizeof(name), "bench-commit-%d", runno);
		snprintf(tag, sizeof(tag), "bench-committed:%d", runno);
		const char *load[] = { "load", "-q", "-i", archive, NULL };
		if (runno <= 0 && (r = podman(b, env, NULL, load, err)) < 0)
			return r;
		const char *run[] = { "run", "--name", name, "--network", "host", "bench-busybox:latest",
				      "/bin/sh", "-c", "echo x > /changed", NULL };
		if ((r = podman(b, env, NULL, run, err)) < 0)
			return r;
		const char *commit[] = { "commit", "-q", name, tag, NULL };
		r = podman(b, env, "commit (1 file)", commit, err);
		const char *rm[] = { "rm", "-f", name, NULL };
		struct snap_error e2 = { 0 };
		podman(b, env, NULL, rm, &e2);
		return r;
	}
	return 0; /* nothing comparable */
}
