/* SPDX-License-Identifier: Apache-2.0 */
/* Workload 3: container start.  Wall time of `snapctl run --rm IMAGE
 * /bin/true` as a user types it: a whole process, image resolution,
 * snapshot, mount, namespaces, exec, teardown. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"
#include "wl-util.h"

/* A busybox root filesystem directory shared by all drivers. */
int bench_busybox_rootfs(struct bench_ctx *b, char *dir, size_t len, struct snap_error *err)
{
	snprintf(dir, len, "%s/start-rootfs", b->work);
	if (access(dir, F_OK) == 0)
		return 0;
	struct stat st;
	if (stat("/bin/busybox", &st) < 0)
		return snap_error_set(err, -ENOENT, "bench start: /bin/busybox (busybox-static) not installed");
	char bin[4200];
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	if (mkdir(dir, 0755) < 0 || mkdir(bin, 0755) < 0)
		return snap_error_set(err, negative_errno(), "bench start: mkdir %s: %m", bin);
	char *cp[] = { "cp", "/bin/busybox", bin, NULL };
	if (bench_spawn(b, cp) != 0)
		return snap_error_set(err, -EIO, "bench start: copy busybox into %s failed", bin);
	static const char *const applets[] = { "sh", "true", "false", "echo", "ls", "cat" };
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		char link[4300];
		snprintf(link, sizeof(link), "%s/%s", bin, applets[i]);
		if (symlink("busybox", link) < 0)
			return snap_error_set(err, negative_errno(), "bench start: symlink %s: %m", link);
	}
	return 0;
}

int bench_snapctl(struct bench_ctx *b, const char *root, const char *driver, const char *const *args)
{
	char *argv[32] = { b->self_exe, "--root", (char *)root, "--driver", (char *)driver, "-q" };
	size_t n = 6;
	if (b->cli->btrfs_size) {
		argv[n++] = "--btrfs-size";
		argv[n++] = (char *)b->cli->btrfs_size;
	}
	for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	return bench_spawn(b, argv);
}

int bench_busybox_image(struct bench_ctx *b, struct bench_env *env, struct snap_error *err)
{
	if (env->busybox_imported)
		return 0;
	char rootfs[4200];
	int r = bench_busybox_rootfs(b, rootfs, sizeof(rootfs), err);
	if (r < 0)
		return r;
	const char *args[] = { "import-rootfs", rootfs, BENCH_BUSYBOX_IMAGE, NULL };
	r = bench_snapctl(b, env->root, env->driver, args);
	if (r != 0)
		return snap_error_set(err, -EIO, "bench: snapctl import-rootfs on %s exited with %d", env->driver, r);
	env->busybox_imported = true;
	return 0;
}

int bench_busybox_archive(struct bench_ctx *b, char *out, size_t len, struct snap_error *err)
{
	snprintf(out, len, "%s/busybox-oci.tar", b->work);
	if (access(out, F_OK) == 0)
		return 0;
	for (size_t i = 0; i < b->n_envs; i++) {
		struct bench_env *e = &b->envs[i];
		if (e->peer || e->skip_reason[0] || bench_busybox_image(b, e, err) < 0)
			continue;
		const char *args[] = { "export", BENCH_BUSYBOX_IMAGE, out, NULL };
		if (bench_snapctl(b, e->root, e->driver, args) == 0)
			return 0;
	}
	return snap_error_set(err, -ENOENT, "bench: no snapctl root could export %s", BENCH_BUSYBOX_IMAGE);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	return bench_busybox_image(b, env, err);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	const char *args[] = { "run", "--rm", BENCH_BUSYBOX_IMAGE, "/bin/true", NULL };
	int64_t t = bench_now_ns();
	int r = bench_snapctl(b, env->root, env->driver, args);
	double ms = bench_ms_since(t);
	if (r != 0)
		return snap_error_set(err, -EIO, "bench start: snapctl run on %s exited with %d", env->driver, r);
	return bench_record(b, env, "run --rm /bin/true", "ms", ms);
}

const struct bench_workload bench_wl_start = {
	.name = "start",
	.description = "snapctl run --rm IMAGE /bin/true, whole command",
	.setup = setup,
	.run = run,
	.peers = true,
};
