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
#include "util/fs-util.h"
#include "util/macro.h"

struct peer_state {
	pid_t cd_pid;
	char *cd_dir, *cd_sock;
	char *run_dir;   /* podman run roots: podman refuses runroots over 50 characters */
	char *btrfs_dir; /* a loopback btrfs for the peers' btrfs snapshotter/driver */
};
static struct peer_state ps = { .cd_pid = -1 };

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

/* A sparse btrfs image mounted with `mount -o loop` (autoclear: the
 * loop device goes away with the last unmount, which the bench's clean-up
 * does, or the end of its private mount namespace). */
static int make_peer_btrfs(struct bench_ctx *b, char *reason, size_t len)
{
	char img[4200];
	snprintf(img, sizeof(img), "%s/peer-btrfs.img", b->work);
	if (asprintf(&ps.btrfs_dir, "%s/peer-btrfs", b->work) < 0 || snap_mkdir_p(ps.btrfs_dir, 0700) < 0) {
		snprintf(reason, len, "cannot create the peers' btrfs mount point");
		return -1;
	}
	int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	/* A sparse file, so room costs nothing: the fio image's two lower
	 * files in containerd's content store, in its snapshot and in
	 * podman's layer (6 fio files), then per run a sequential file and a
	 * copied-up lower file in each peer's container (4 more), with room
	 * for btrfs' metadata: 12 fio files, 1 GiB at least.  With 6, podman
	 * btrfs ran out of space after containerd btrfs at --scale small. */
	off_t size = (off_t)1 << 30;
	if (size < 12 * b->scale->fio_size)
		size = (off_t)(12 * b->scale->fio_size);
	if (fd < 0 || ftruncate(fd, size) < 0) {
		snprintf(reason, len, "cannot create %s: %m", img);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	char *mkfs[] = { "mkfs.btrfs", "-q", img, NULL };
	char *mnt[] = { "mount", "-o", "loop", img, ps.btrfs_dir, NULL };
	if (bench_spawn(b, mkfs) != 0) {
		snprintf(reason, len, "mkfs.btrfs of the peers' loopback image failed");
		return -1;
	}
	if (bench_spawn(b, mnt) != 0) {
		snprintf(reason, len, "mount -o loop of the peers' btrfs image failed");
		return -1;
	}
	return 0;
}

static int start_containerd(struct bench_ctx *b, char *reason, size_t len)
{
	if (asprintf(&ps.cd_dir, "%s/peer-containerd", b->work) < 0 ||
	    asprintf(&ps.cd_sock, "%s/containerd.sock", ps.cd_dir) < 0 || snap_mkdir_p(ps.cd_dir, 0700) < 0) {
		snprintf(reason, len, "cannot create %s", b->work);
		return -1;
	}
	char cfg[4200], log[4200];
	snprintf(cfg, sizeof(cfg), "%s/config.toml", ps.cd_dir);
	snprintf(log, sizeof(log), "%s/containerd.log", ps.cd_dir);
	FILE *f = fopen(cfg, "we");
	if (!f) {
		snprintf(reason, len, "cannot write %s: %m", cfg);
		return -1;
	}
	/* Its own root, state, socket and (when the loopback btrfs is there)
	 * btrfs snapshotter root; no CRI, which would want CNI. */
	fprintf(f,
		"version = 2\nroot = \"%s/root\"\nstate = \"%s/state\"\n"
		"disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
		"[grpc]\n  address = \"%s\"\n",
		ps.cd_dir, ps.cd_dir, ps.cd_sock);
	if (ps.btrfs_dir)
		fprintf(f, "[plugins.\"io.containerd.snapshotter.v1.btrfs\"]\n  root_path = \"%s/containerd\"\n",
			ps.btrfs_dir);
	fclose(f);
	pid_t parent = getpid();
	ps.cd_pid = fork();
	if (ps.cd_pid == 0) {
		/* Its own process group: a ^C on the terminal reaches the bench,
		 * which stops containerd after its own clean-up; a killed bench
		 * stops it by its death signal. */
		bench_child_dies_with(parent, SIGTERM);
		setpgid(0, 0);
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		dup2(fd, STDIN_FILENO);
		dup2(lfd, STDOUT_FILENO);
		dup2(lfd, STDERR_FILENO);
		execlp("containerd", "containerd", "--config", cfg, (char *)NULL);
		_exit(127);
	}
	if (ps.cd_pid < 0) {
		snprintf(reason, len, "fork: %m");
		return -1;
	}
	for (int i = 0; i < 200; i++) {
		char *ver[] = { "ctr", "--address", ps.cd_sock, "version", NULL };
		if (access(ps.cd_sock, F_OK) == 0 && bench_spawn(b, ver) == 0)
			return 0;
		if (waitpid(ps.cd_pid, NULL, WNOHANG) == ps.cd_pid) {
			ps.cd_pid = -1;
			snprintf(reason, len, "containerd exited at start (see its log)");
			return -1;
		}
		usleep(50000);
	}
	snprintf(reason, len, "containerd did not answer on %s within 10 s", ps.cd_sock);
	return -1;
}

void bench_peers_add(struct bench_ctx *b, size_t cap)
{
	static const char *const cd_snaps[] = { "overlayfs", "native", "btrfs" };
	static const char *const pm_drivers[] = { "overlay", "vfs", "btrfs" };
	char reason[256] = "", btrfs_reason[256] = "";
	bool cd_ok = have("containerd") && have("ctr") && have("runc");
	bool pm_ok = have("podman");
	bool btrfs_ok = false;
	if ((cd_ok || pm_ok) && have("mkfs.btrfs"))
		btrfs_ok = make_peer_btrfs(b, btrfs_reason, sizeof(btrfs_reason)) == 0;
	else
		snprintf(btrfs_reason, sizeof(btrfs_reason), "mkfs.btrfs (btrfs-progs) not installed");
	if (!btrfs_ok) {
		free(ps.btrfs_dir);
		ps.btrfs_dir = NULL;
	}
	if (!cd_ok)
		snprintf(reason, sizeof(reason), "containerd, ctr or runc not installed");
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
		else if (strcmp(cd_snaps[i], "btrfs") == 0 && !btrfs_ok)
			snprintf(e->skip_reason, sizeof(e->skip_reason), "%s", btrfs_reason);
	}
	char tmpl[] = "/run/snapctl-bench.XXXXXX";
	if (pm_ok && mkdtemp(tmpl))
		ps.run_dir = strdup(tmpl);
	for (size_t i = 0; i < ELEMENTSOF(pm_drivers) && b->n_envs < cap; i++) {
		struct bench_env *e = &b->envs[b->n_envs++];
		bool is_btrfs = strcmp(pm_drivers[i], "btrfs") == 0;
		if (asprintf((char **)&e->driver, "podman-%s", pm_drivers[i]) < 0)
			return;
		e->peer = true;
		/* podman-btrfs keeps its graph root on the loopback btrfs. */
		if (asprintf(&e->root, "%s/podman-%s", is_btrfs && btrfs_ok ? ps.btrfs_dir : b->work,
			     pm_drivers[i]) < 0)
			return;
		if (!pm_ok)
			snprintf(e->skip_reason, sizeof(e->skip_reason), "podman not installed");
		else if (!ps.run_dir)
			snprintf(e->skip_reason, sizeof(e->skip_reason), "cannot create a run directory under /run: %m");
		else if (is_btrfs && !btrfs_ok)
			snprintf(e->skip_reason, sizeof(e->skip_reason), "%s", btrfs_reason);
	}
}

/* Remove a directory tree that may hold podman's mounts. */
static void remove_tree(const char *dir)
{
	bench_unmount_below(dir);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		snap_rm_children_at(fd);
		close(fd);
	}
	rmdir(dir);
}

void bench_peers_stop(struct bench_ctx *b)
{
	if (ps.cd_pid > 0) {
		kill(ps.cd_pid, SIGTERM);
		int st;
		for (int i = 0; i < 100 && waitpid(ps.cd_pid, &st, WNOHANG) == 0; i++)
			usleep(50000);
		kill(ps.cd_pid, SIGKILL);
		waitpid(ps.cd_pid, &st, 0);
		ps.cd_pid = -1;
	}
	if (ps.run_dir)
		remove_tree(ps.run_dir);
	if (ps.btrfs_dir)
		bench_unmount_below(ps.btrfs_dir);
	for (size_t i = 0; i < b->n_envs; i++)
		if (b->envs[i].peer)
			free((char *)b->envs[i].driver);
	free(ps.cd_dir);
	free(ps.cd_sock);
	free(ps.run_dir);
	free(ps.btrfs_dir);
	ps = (struct peer_state){ .cd_pid = -1 };
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

/* podman's command line with this env's private root, run root and
 * storage driver, then args; runroot is the buffer for the run root. */
static void podman_argv(struct bench_env *env, const char *const *args, char **argv, size_t cap, char *runroot,
			size_t len)
{
	const char *drv = strchr(env->driver, '-') + 1;
	snprintf(runroot, len, "%s/%s", ps.run_dir, drv);
	const char *head[] = { "podman", "--root", env->root, "--runroot", runroot, "--storage-driver",
			       drv, "--cgroup-manager", "cgroupfs", "--events-backend", "none" };
	size_t n = 0;
	for (size_t i = 0; i < ELEMENTSOF(head); i++)
		argv[n++] = (char *)head[i];
	for (size_t i = 0; args[i] && n < cap - 1; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
}

static void ctr_argv(const char *const *args, char **argv, size_t cap)
{
	const char *head[] = { "ctr", "--address", ps.cd_sock, "--namespace", "bench" };
	size_t n = 0;
	for (size_t i = 0; i < ELEMENTSOF(head); i++)
		argv[n++] = (char *)head[i];
	for (size_t i = 0; args[i] && n < cap - 1; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
}

static int podman(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *const *args,
		  struct snap_error *err)
{
	char runroot[4200];
	char *argv[32];
	podman_argv(env, args, argv, ELEMENTSOF(argv), runroot, sizeof(runroot));
	if (!metric)
		return bench_spawn(b, argv) == 0 ? 0 : snap_error_set(err, -EIO, "%s: podman %s failed", env->driver, args[0]);
	return timed(b, env, metric, argv, err);
}

static int ctr(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *const *args,
	       struct snap_error *err)
{
	char *argv[32];
	ctr_argv(args, argv, ELEMENTSOF(argv));
	if (!metric)
		return bench_spawn(b, argv) == 0 ? 0 : snap_error_set(err, -EIO, "%s: ctr %s failed", env->driver, args[0]);
	return timed(b, env, metric, argv, err);
}

/* argv with its standard output read into out (NUL-terminated, cut at
 * len - 1); its exit status or -errno. */
static int spawn_capture(struct bench_ctx *b, char *const argv[], char *out, size_t len)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	pid_t pid = fork();
	if (pid < 0) {
		int r = negative_errno();
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(fd, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		if (b->cli->verbosity < 1)
			dup2(fd, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	size_t got = 0;
	for (;;) {
		char sink[4096];
		bool full = got + 1 >= len;
		ssize_t n = read(p[0], full ? sink : out + got, full ? sizeof(sink) : len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!full)
			got += (size_t)n;
	}
	close(p[0]);
	if (len)
		out[got] = '\0';
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return negative_errno();
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int bench_peer_exec(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *const *args,
		    char *out, size_t len, struct snap_error *err)
{
	char runroot[4200];
	char *argv[40];
	bool is_cd = strncmp(env->driver, "containerd-", 11) == 0;
	if (is_cd)
		ctr_argv(args, argv, ELEMENTSOF(argv));
	else
		podman_argv(env, args, argv, ELEMENTSOF(argv), runroot, sizeof(runroot));
	int64_t t = bench_now_ns();
	int r = out ? spawn_capture(b, argv, out, len) : bench_spawn(b, argv);
	double ms = bench_ms_since(t);
	if (r != 0)
		return snap_error_set(err, -EIO, "%s: %s %s exited with %d", env->driver, argv[0], args[0], r);
	return metric ? bench_record(b, env, metric, "ms", ms) : 0;
}

void bench_peer_store_dir(struct bench_env *env, char *out, size_t len)
{
	bool is_cd = strncmp(env->driver, "containerd-", 11) == 0;
	if (is_cd && strcmp(env->root, "btrfs") == 0 && ps.btrfs_dir)
		snprintf(out, len, "%s/containerd", ps.btrfs_dir);
	else if (is_cd)
		snprintf(out, len, "%s/root", ps.cd_dir);
	else
		snprintf(out, len, "%s", env->root);
}

/* Load the archive into the peer's store once (unpack removes it again). */
static int peer_load(struct bench_ctx *b, struct bench_env *env, const char *archive, bool is_cd,
		     struct snap_error *err)
{
	if (env->image_loaded)
		return 0;
	int r;
	if (is_cd) {
		const char *imp[] = { "images", "import", "--snapshotter", env->root, archive, NULL };
		r = ctr(b, env, NULL, imp, err);
	} else {
		const char *load[] = { "load", "-q", "-i", archive, NULL };
		r = podman(b, env, NULL, load, err);
	}
	env->image_loaded = r == 0;
	return r;
}


int bench_peer_commit(struct bench_ctx *b, struct bench_env *env, const char *metric, int runno,
		      struct snap_error *err)
{
	char archive[4200];
	int r = bench_busybox_archive(b, archive, sizeof(archive), err);
	bool is_cd = strncmp(env->driver, "containerd-", 11) == 0;
	if (r < 0 || (r = peer_load(b, env, archive, is_cd, err)) < 0)
		return r;
	const char *snap = env->root;
	const char *img = BENCH_PEER_REF(BENCH_BUSYBOX_IMAGE);
	struct snap_error e2 = { 0 };
	/* A container that writes one file, then the image-making step
	 * timed: podman commit; for containerd, whose ctr has no image
	 * commit, `ctr snapshots diff` (the layer: diff + content write),
	 * which is the part a commit costs the snapshotter. */
	char name[64];
	snprintf(name, sizeof(name), "bench-commit-%d", runno + 1000);
	if (is_cd) {
		const char *run[] = { "run", "--snapshotter", snap, "--net-host", img, name,
				      "/bin/sh", "-c", "echo x > /changed", NULL };
		if ((r = ctr(b, env, NULL, run, err)) < 0)
			return r;
		const char *diff[] = { "snapshots", "--snapshotter", snap, "diff", name, NULL };
		r = ctr(b, env, metric, diff, err);
		const char *rm[] = { "containers", "rm", name, NULL };
		ctr(b, env, NULL, rm, &e2);
		return r;
	}
	char tag[80];
	snprintf(tag, sizeof(tag), "bench-committed:%d", runno + 1000);
	const char *run[] = { BENCH_PODMAN_RUN, "--name", name, img, "/bin/sh", "-c", "echo x > /changed", NULL };
	if ((r = podman(b, env, NULL, run, err)) < 0)
		return r;
	const char *commit[] = { "commit", "-q", name, tag, NULL };
	r = podman(b, env, metric, commit, err);
	const char *rm[] = { "rm", "-f", name, NULL };
	podman(b, env, NULL, rm, &e2);
	const char *rmi[] = { "rmi", "-f", tag, NULL };
	podman(b, env, NULL, rmi, &e2);
	return r;
}

int bench_peer_run(struct bench_ctx *b, struct bench_env *env, const char *workload, int runno,
		   struct snap_error *err)
{
	if (strcmp(workload, "fio") == 0)
		return bench_peer_fio(b, env, runno, err);
	if (strcmp(workload, "shared-disk") == 0)
		return bench_peer_shared_disk(b, env, runno, err);
	if (strcmp(workload, "commit-image") == 0)
		return bench_peer_commit_image(b, env, runno, err);
	if (strcmp(workload, "import-dirty") == 0)
		return bench_peer_import_dirty(b, env, runno, err);
	if (strcmp(workload, "import-large") == 0)
		return bench_peer_import_large(b, env, runno, err);
	char archive[4200];
	int r = bench_busybox_archive(b, archive, sizeof(archive), err);
	if (r < 0)
		return r;
	bool is_cd = strncmp(env->driver, "containerd-", 11) == 0;
	const char *snap = env->root; /* containerd: the snapshotter name */
	const char *img = BENCH_PEER_REF(BENCH_BUSYBOX_IMAGE);
	struct snap_error e2 = { 0 };
	if (strcmp(workload, "unpack") == 0) {
		/* Import (content ingest + unpack into the snapshotter / storage
		 * driver) into an empty store, then remove it again. */
		if (is_cd) {
			const char *rm[] = { "images", "rm", "--sync", BENCH_PEER_REF(BENCH_BUSYBOX_IMAGE), NULL };
			if (env->image_loaded)
				ctr(b, env, NULL, rm, &e2);
			const char *imp[] = { "images", "import", "--snapshotter", snap, archive, NULL };
			r = ctr(b, env, "busybox image import", imp, err);
			ctr(b, env, NULL, rm, &e2);
		} else {
			const char *rmi[] = { "rmi", "-a", "-f", NULL };
			if (env->image_loaded)
				podman(b, env, NULL, rmi, &e2);
			const char *load[] = { "load", "-q", "-i", archive, NULL };
			r = podman(b, env, "busybox image import", load, err);
			podman(b, env, NULL, rmi, &e2);
		}
		env->image_loaded = false;
		return r;
	}
	if ((r = peer_load(b, env, archive, is_cd, err)) < 0)
		return r;
	if (strcmp(workload, "start") == 0) {
		if (is_cd) {
			char name[64];
			snprintf(name, sizeof(name), "bench-start-%d", runno + 1000);
			const char *run[] = { "run", "--rm", "--snapshotter", snap, "--net-host", img, name, "/bin/true", NULL };
			return ctr(b, env, "run --rm /bin/true", run, err);
		}
		const char *run[] = { BENCH_PODMAN_RUN, "--rm", img, "/bin/true", NULL };
		return podman(b, env, "run --rm /bin/true", run, err);
	}
	if (strcmp(workload, "commit") == 0)
		return bench_peer_commit(b, env, "commit container (1 file)", runno, err);
	if (strcmp(workload, "snapshot-process") == 0 && is_cd) {
		/* The same three operations through `ctr snapshots`, each a
		 * process (ctr's client start-up and a gRPC round trip to
		 * containerd, which keeps its metadata open). */
		if (!env->proc_base) {
			const char *prep[] = { "snapshots", "--snapshotter", snap, "prepare", "proc-base-active", NULL };
			const char *commit[] = { "snapshots", "--snapshotter", snap, "commit", "proc-base",
						 "proc-base-active", NULL };
			if ((r = ctr(b, env, NULL, prep, err)) < 0 || (r = ctr(b, env, NULL, commit, err)) < 0)
				return r;
			env->proc_base = true;
		}
		char key[64], name[64];
		snprintf(key, sizeof(key), "proc-%d-active", runno + 1000);
		snprintf(name, sizeof(name), "proc-%d", runno + 1000);
		const char *prep[] = { "snapshots", "--snapshotter", snap, "prepare", key, "proc-base", NULL };
		if ((r = ctr(b, env, "prepare (process)", prep, err)) < 0)
			return r;
		const char *commit[] = { "snapshots", "--snapshotter", snap, "commit", name, key, NULL };
		if ((r = ctr(b, env, "commit (process)", commit, err)) < 0)
			return r;
		const char *rm[] = { "snapshots", "--snapshotter", snap, "rm", name, NULL };
		return ctr(b, env, "remove (process)", rm, err);
	}
	return 0; /* nothing comparable */
}
