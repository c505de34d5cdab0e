/* SPDX-License-Identifier: Apache-2.0 */
/* Workload 7: sharing.  Disk used by 1, 10 and 100 containers of one image,
 * each writing 1 MiB, measured on the filesystem that holds the root. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "wl-util.h"

static int fill_image(int dirfd, void *arg, struct snap_error *err)
{
	struct bench_rng rng = { *(uint64_t *)arg };
	return bench_gen_tree(dirfd, &rng, 500, 16384, err);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	return wl_make_committed(env, "share-image", NULL, fill_image, &b->seed, err);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	int r = 0;
	for (int k = 0; k < 3 && r == 0; k++) {
		int n = b->scale->sharing_counts[k];
		int64_t before = wl_disk_used(env);
		int made = 0;
		for (int i = 0; i < n && r == 0; i++) {
			if (*b->interrupted) {
				r = snap_error_set(err, -EINTR, "bench: interrupted");
				break;
			}
			char key[64];
			snprintf(key, sizeof(key), "share-%d-%d-%d", runno, n, i);
			r = wl_prepare_mounted(env, key, "share-image", err);
			if (r < 0)
				break;
			made++;
			int fd = wl_open_mnt(env, err);
			r = fd < 0 ? fd : bench_gen_file(fd, "written.bin", 1 << 20, (uint64_t)i, err);
			if (fd >= 0)
				close(fd);
			struct snap_error uerr = { 0 };
			wl_unmount(env, &uerr);
		}
		int64_t after = wl_disk_used(env);
		if (r == 0 && before >= 0 && after >= 0) {
			char metric[64];
			snprintf(metric, sizeof(metric), "disk, %d container%s", n, n == 1 ? "" : "s");
			bench_record(b, env, metric, "bytes", (double)(after - before));
		}
		for (int i = 0; i < made; i++) {
			char key[64];
			snprintf(key, sizeof(key), "share-%d-%d-%d", runno, n, i);
			wl_remove_quiet(env, key);
		}
	}
	return r;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	wl_remove_quiet(env, "share-image");
}

const struct bench_workload bench_wl_sharing = {
	.name = "sharing",
	.description = "disk used by 1, 10 and 100 containers from one image, 1 MiB written each",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.default_runs = 1,
};
