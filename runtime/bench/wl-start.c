/* SPDX-License-Identifier: Apache-2.0 */
/* Workload 3: container start.  Wall time of `snapctl run --rm IMAGE
 * /bin/true` as a user types it: a whole process, image resolution,
 * snapshot, mount, namespaces, exec, teardown. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
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

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	char rootfs[4200];
	int r = bench_busybox_rootfs(b, rootfs, sizeof(rootfs), err);
	if (r < 0)
		return r;
	char *argv[] = { b->self_exe, "--root", env->root, "--driver", (char *)env->driver, "-q",
			 "import-rootfs", rootfs, "bench-busybox:latest", NULL };
	r = bench_spawn(b, argv);
	if (r != 0)
		return snap_error_set(err, -EIO, "bench start: snapctl import-rootfs exited with %d", r);
	return 0;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	char *argv[] = { b->self_exe, "--root", env->root, "--driver", (char *)env->driver, "-q",
			 "run", "--rm", "bench-busybox:latest", "/bin/true", NULL };
	int64_t t = bench_now_ns();
	int r = bench_spawn(b, argv);
	double ms = bench_ms_since(t);
	if (r != 0)
		return snap_error_set(err, -EIO, "bench start: snapctl run exited with %d", r);
	return bench_record(b, env, "run --rm /bin/true", "ms", ms);
}

const struct bench_workload bench_wl_start = {
	.name = "start",
	.description = "snapctl run --rm IMAGE /bin/true, whole command",
	.setup = setup,
	.run = run,
	.peers = true,
};
