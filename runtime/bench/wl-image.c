/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/digest.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "wl-image.h"
#include "wl-util.h"

/* sha256 of the uncompressed stream of gzip file `path`: the diff ID. */
static int diff_id_of(const char *path, char out[SNAP_DIGEST_MAX], struct snap_error *err)
{
	struct archive *a = archive_read_new();
	if (!a)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	struct snap_sha256 h;
	struct archive_entry *e;
	int r = snap_sha256_init(&h);
	if (r == 0 && (archive_read_open_filename(a, path, 1 << 17) != ARCHIVE_OK ||
		       archive_read_next_header(a, &e) != ARCHIVE_OK))
		r = snap_error_set(err, -EIO, "bench: read %s: %s", path, archive_error_string(a));
	static char buf[1 << 17];
	for (la_ssize_t n; r == 0 && (n = archive_read_data(a, buf, sizeof(buf))) != 0;) {
		if (n < 0)
			r = snap_error_set(err, -EIO, "bench: read %s: %s", path, archive_error_string(a));
		else
			snap_sha256_update(&h, buf, (size_t)n);
	}
	if (r == 0 && snap_sha256_final(&h, out) < 0)
		r = snap_error_set(err, -EIO, "bench: sha256 failed");
	snap_sha256_done(&h);
	archive_read_free(a);
	return r;
}

static int write_file(const char *path, const char *text, struct snap_error *err)
{
	FILE *f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		return snap_error_set(err, -EIO, "bench: write %s: %m", path);
	return 0;
}

/* Write `text` as a blob of the layout; its digest in out. */
static int put_blob(const char *layout, const char *text, char out[SNAP_DIGEST_MAX], struct snap_error *err)
{
	if (snap_sha256_buf(text, strlen(text), out) < 0)
		return snap_error_set(err, -EIO, "bench: sha256 failed");
	char path[4400];
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, snap_digest_hex(out));
	return write_file(path, text, err);
}

/* Layer i of the layout: generated, hashed and renamed to its digest;
 * its descriptor and quoted diff ID appended to the lists. */
static int make_layer(struct bench_ctx *b, const char *layout, size_t i, const struct wl_layer_shape *shape,
		      char *layers, size_t layers_len, char *diffs, size_t diffs_len, struct snap_error *err)
{
	char tmp[4400], path[4400], blob[SNAP_DIGEST_MAX], diff[SNAP_DIGEST_MAX];
	snprintf(tmp, sizeof(tmp), "%s/layer%zu.tar.gz", layout, i);
	int r = bench_gen_layer(tmp, b->seed + 17 * (uint64_t)i, shape->small_files, shape->large_files,
				shape->large_size, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	uint64_t size = 0;
	if (fd < 0 || snap_sha256_fd(fd, blob, &size) < 0)
		return snap_error_set(err, -EIO, "bench: hash %s: %m", tmp);
	if ((r = diff_id_of(tmp, diff, err)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, snap_digest_hex(blob));
	if (rename(tmp, path) < 0)
		return snap_error_set(err, negative_errno(), "bench: rename %s: %m", tmp);
	size_t l = strlen(layers), d = strlen(diffs);
	snprintf(layers + l, layers_len - l,
		 "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":%llu}",
		 i ? "," : "", blob, (unsigned long long)size);
	snprintf(diffs + d, diffs_len - d, "%s\"%s\"", i ? "," : "", diff);
	return 0;
}

int wl_image_layout(struct bench_ctx *b, const struct wl_image *img, char *layout, size_t len,
		    struct snap_error *err)
{
	const struct wl_layer_shape *shape = img->shape;
	size_t n = img->n_layers;
	snprintf(layout, len, "%s/%s-oci", b->work, img->name);
	char path[4400], blobs[4400];
	snprintf(path, sizeof(path), "%s/index.json", layout);
	if (access(path, F_OK) == 0)
		return 0;
	if (n == 0 || n > WL_IMAGE_MAX_LAYERS)
		return snap_error_set(err, -EINVAL, "bench: an image of %zu layers (1 to %d)", n, WL_IMAGE_MAX_LAYERS);
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", layout);
	if (snap_mkdir_p(blobs, 0755) < 0)
		return snap_error_set(err, negative_errno(), "bench: mkdir %s: %m", blobs);
	char layers[WL_IMAGE_MAX_LAYERS * 256] = "", diffs[WL_IMAGE_MAX_LAYERS * 128] = "";
	char history[WL_IMAGE_MAX_LAYERS * 32] = "";
	for (size_t i = 0; i < n; i++) {
		int r = make_layer(b, layout, i, &shape[i], layers, sizeof(layers), diffs, sizeof(diffs), err);
		if (r < 0)
			return r;
		size_t h = strlen(history);
		snprintf(history + h, sizeof(history) - h, "%s{\"created_by\":\"layer %zu\"}", i ? "," : "", i + 1);
	}
	char config[4096], manifest[8192], index[1024], cdig[SNAP_DIGEST_MAX], mdig[SNAP_DIGEST_MAX];
	snprintf(config, sizeof(config),
		 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
		 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]},\"history\":[%s]}",
		 diffs, history);
	int r = put_blob(layout, config, cdig, err);
	if (r < 0)
		return r;
	snprintf(manifest, sizeof(manifest),
		 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		 "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
		 "\"layers\":[%s]}",
		 cdig, strlen(config), layers);
	if ((r = put_blob(layout, manifest, mdig, err)) < 0)
		return r;
	snprintf(index, sizeof(index),
		 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		 "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}",
		 mdig, strlen(manifest));
	snprintf(path, sizeof(path), "%s/oci-layout", layout);
	if ((r = write_file(path, "{\"imageLayoutVersion\":\"1.0.0\"}", err)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/index.json", layout);
	return write_file(path, index, err);
}

int wl_image_archive(struct bench_ctx *b, const char *what, const struct wl_image *img, char *archive, size_t len,
		     struct snap_error *err)
{
	snprintf(archive, len, "%s/%s.tar", b->work, img->name);
	if (access(archive, F_OK) == 0)
		return 0;
	char layout[4200];
	int r = wl_image_layout(b, img, layout, sizeof(layout), err);
	const char *imp[] = { "import", "--name", img->ref, layout, NULL };
	return r < 0 ? r : wl_export_archive(b, what, imp, img->ref, archive, err);
}

int wl_image_root_make(struct bench_ctx *b, struct bench_env *env, const struct wl_image *img, const char *workload,
		       struct wl_image_root *r, struct snap_error *err)
{
	snprintf(r->root, sizeof(r->root), "%s-%s", env->root, workload);
	int q = wl_image_layout(b, img, r->layout, sizeof(r->layout), err);
	if (q < 0)
		return q;
	const char *init[] = { "images", NULL };
	if (bench_snapctl(b, r->root, env->driver, init) != 0)
		return snap_error_set(err, -EIO, "bench: snapctl could not make the root %s", r->root);
	return 0;
}

void wl_image_root_remove(struct wl_image_root *r)
{
	if (!r || !r->root[0])
		return;
	bench_unmount_below(r->root);
	snap_rm_rf_at(AT_FDCWD, r->root);
}

int wl_image_import(struct bench_ctx *b, struct bench_env *env, const struct wl_image_root *ir, const char *image,
		    double *ret_ms, struct snap_error *err)
{
	const char *root = ir->root;
	const char *imp[] = { "import", "--name", image, ir->layout, NULL };
	const char *rmi[] = { "rmi", image, NULL };
	const char *gc[] = { "gc", NULL };
	int64_t t = bench_now_ns();
	int q = bench_snapctl(b, root, env->driver, imp);
	*ret_ms = bench_ms_since(t);
	bench_snapctl(b, root, env->driver, rmi);
	bench_snapctl(b, root, env->driver, gc);
	/* what the untimed clean-up left (the deletes of rmi and gc, in the
	 * journal and in the snapshots' filesystem) */
	char snaps[4400];
	snprintf(snaps, sizeof(snaps), "%s/snapshots", root);
	wl_settle(root);
	wl_settle(snaps);
	if (q != 0)
		return snap_error_set(err, -EIO, "bench: snapctl import on %s exited with %d", env->driver, q);
	return 0;
}

int wl_image_peer_import(struct bench_ctx *b, struct bench_env *env, const char *archive, const char *image,
			 const char *metric, struct snap_error *err)
{
	bool cd = strncmp(env->driver, "containerd-", 11) == 0;
	char ref[512];
	snprintf(ref, sizeof(ref), BENCH_PEER_REF("%s"), image);
	const char *cd_imp[] = { "images", "import", "--snapshotter", env->root, archive, NULL };
	const char *cd_rm[] = { "images", "rm", "--sync", ref, NULL };
	const char *pm_load[] = { "load", "-q", "-i", archive, NULL };
	const char *pm_rmi[] = { "rmi", "-f", ref, NULL };
	int r = bench_peer_exec(b, env, metric, cd ? cd_imp : pm_load, NULL, 0, err);
	struct snap_error e2 = { 0 };
	bench_peer_exec(b, env, NULL, cd ? cd_rm : pm_rmi, NULL, 0, &e2);
	char dir[4200];
	bench_peer_store_dir(env, dir, sizeof(dir));
	wl_settle(dir);
	return r;
}
