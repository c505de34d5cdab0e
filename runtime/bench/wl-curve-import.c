/* SPDX-License-Identifier: Apache-2.0 */
/* Cost curve: `snapctl import` (content ingest + unpack, the whole
 * command) of generated one-layer images of growing size (the scale's
 * curve_image_files files of 0-64 KiB each: about 1 MB to 1.4 GB), against
 * the size of the OCI archive.  The archives are made once per bench run
 * (import-rootfs of a generated tree, then export) and imported into a root
 * of each driver's own. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "wl-util.h"

#define IMAGE_MAX_FILE (64 << 10)

/* WORK/curve-image-N.tar, made once for all drivers (wl-util.h). */
int bench_image_archive(struct bench_ctx *b, int files, char *out, size_t len, struct snap_error *err)
{
	snprintf(out, len, "%s/curve-image-%d.tar", b->work, files);
	if (access(out, F_OK) == 0)
		return 0;
	char tree[4200], name[64];
	snprintf(tree, sizeof(tree), "%s/curve-image-%d", b->work, files);
	snprintf(name, sizeof(name), "curve-image-%d:latest", files);
	if (snap_mkdir_p(tree, 0755) < 0)
		return snap_error_set(err, negative_errno(), "bench: mkdir %s: %m", tree);
	_cleanup_close_ int dfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(err, negative_errno(), "bench: open %s: %m", tree);
	struct bench_rng rng = { b->seed + (uint64_t)files };
	int r = bench_gen_tree(dfd, &rng, files, IMAGE_MAX_FILE, err);
	if (r < 0)
		return r;
	const char *imp[] = { "import-rootfs", tree, name, NULL };
	if ((r = wl_export_archive(b, "curve-import", imp, name, out, err)) < 0)
		return r;
	/* The tree is in the archive now; keep the disk for the imports. */
	snap_rm_children_at(dfd);
	rmdir(tree);
	return 0;
}

static void import_root(struct bench_env *env, char *out, size_t len)
{
	snprintf(out, len, "%s-curve-import", env->root);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	(void)state;
	for (size_t k = 0; k < ELEMENTSOF(b->scale->curve_image_files) && b->scale->curve_image_files[k]; k++) {
		char archive[4200];
		int r = bench_image_archive(b, b->scale->curve_image_files[k], archive, sizeof(archive), err);
		if (r < 0)
			return r;
	}
	/* The root exists before the first timed import. */
	char root[4200];
	import_root(env, root, sizeof(root));
	const char *init[] = { "images", NULL };
	int r = bench_snapctl(b, root, env->driver, init);
	return r == 0 ? 0 : snap_error_set(err, -EIO, "bench curve-import: snapctl images on %s exited with %d", env->driver, r);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	(void)state;
	(void)runno;
	char root[4200];
	import_root(env, root, sizeof(root));
	for (size_t k = 0; k < ELEMENTSOF(b->scale->curve_image_files) && b->scale->curve_image_files[k]; k++) {
		char archive[4200];
		int r = bench_image_archive(b, b->scale->curve_image_files[k], archive, sizeof(archive), err);
		if (r < 0)
			return r;
		struct stat st;
		if (stat(archive, &st) < 0)
			return snap_error_set(err, negative_errno(), "bench: stat %s: %m", archive);
		const char *imp[] = { "import", "--name", "curve-import:latest", archive, NULL };
		const char *rmi[] = { "rmi", "curve-import:latest", NULL };
		const char *gc[] = { "gc", NULL };
		int64_t t = bench_now_ns();
		r = bench_snapctl(b, root, env->driver, imp);
		double ms = bench_ms_since(t);
		if (r != 0)
			return snap_error_set(err, -EIO, "bench curve-import: snapctl import on %s exited with %d",
					      env->driver, r);
		bench_record_x(b, env, "import", "ms", "archive MB", (double)st.st_size / 1e6, ms);
		bench_snapctl(b, root, env->driver, rmi);
		bench_snapctl(b, root, env->driver, gc);
	}
	return 0;
}

const struct bench_workload bench_wl_curve_import = {
	.name = "curve-import",
	.description = "cost curve: snapctl import vs image size (generated one-layer images, ~1 MB to 1.4 GB)",
	.setup = setup,
	.run = run,
};
