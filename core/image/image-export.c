/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl export: an OCI image layout (directory) or an OCI archive (the
 * same layout in a tar), built under a staging name next to the target and
 * renamed into place last.  The blobs are the stored ones, byte for byte,
 * so the manifest digest survives a round trip.  The docker-archive tar
 * (docker save) is written by image-export-docker.c through the same
 * staging.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "image/image-internal.h"

#define LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define COPY_CHUNK ((size_t)1 << 20)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive, archive_write_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive_entry, archive_entry_free)

static int build_index(struct export_job *x, const char *name, const char *manifest_digest,
		       size_t manifest_len, const char *mt, const struct oci_config *c,
		       struct snap_error *err)
{
	_cleanup_(json_decrefp) json_t *desc = json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", mt,
							 "digest", manifest_digest, "size",
							 (json_int_t)manifest_len, "platform", "architecture",
							 c->arch, "os", c->os);
	if (!desc)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	if (c->variant)
		json_object_set_new(json_object_get(desc, "platform"), "variant", json_string(c->variant));
	if (name) {
		const char *tag = strrchr(name, ':');
		/* containerd names images by io.containerd.image.name; skopeo
		 * and umoci find `PATH:TAG` by ref.name (the tag alone). */
		json_object_set_new(desc, "annotations",
				    json_pack("{s:s, s:s}", ANNOT_CONTAINERD_NAME, name, ANNOT_REF_NAME,
					      tag ? tag + 1 : "latest"));
	}
	_cleanup_(json_decrefp) json_t *index = json_pack("{s:i, s:s, s:[O]}", "schemaVersion", 2, "mediaType",
							  MT_OCI_INDEX, "manifests", desc);
	if (!index || !(x->index = json_dumps(index, JSON_COMPACT)))
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	return 0;
}

static int copy_blob_fd(struct export_job *x, int in, int out, const struct img_blob *b,
			struct snap_error *err)
{
	/* A reflink where the filesystem shares extents; else copy. */
	if (ioctl(out, FICLONE, in) == 0) {
		if (x->progress)
			x->progress(x->progress_ctx, "export", b->digest, b->size, b->size);
		return 0;
	}
	uint64_t done = 0;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, COPY_CHUNK, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
			break;
		if (n < 0) {
			int r = negative_errno();
			return snap_error_set(err, r, "export blob %s: %s", b->digest, strerror(-r));
		}
		if (n == 0)
			return 0;
		done += (uint64_t)n;
		if (x->progress)
			x->progress(x->progress_ctx, "export", b->digest, done, b->size);
	}
	_cleanup_free_ char *buf = malloc(COPY_CHUNK);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	for (;;) {
		ssize_t n = read(in, buf, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = negative_errno();
			return snap_error_set(err, r, "read blob %s: %s", b->digest, strerror(-r));
		}
		if (n == 0)
			return 0;
		int r = snap_write_all(out, buf, (size_t)n);
		if (r < 0)
			return snap_error_set(err, r, "export blob %s: %s", b->digest, strerror(-r));
		done += (uint64_t)n;
		if (x->progress)
			x->progress(x->progress_ctx, "export", b->digest, done, b->size);
	}
}

static int write_small_at(int dirfd, const char *name, const char *content, struct snap_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "export: create %s: %s", name, strerror(-r));
	}
	int r = snap_write_all(fd, content, strlen(content));
	if (r < 0)
		return snap_error_set(err, r, "export: write %s: %s", name, strerror(-r));
	return 0;
}

static int export_dir_into(struct export_job *x, int dirfd, struct snap_error *err)
{
	if (mkdirat(dirfd, "blobs", 0755) < 0 || mkdirat(dirfd, "blobs/sha256", 0755) < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "export: mkdir blobs: %s", strerror(-r));
	}
	for (size_t i = 0; i < x->n_blobs; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "blobs/sha256/%s", snap_digest_hex(x->blobs[i].digest));
		/* Layers shared by several descriptors appear once. */
		if (faccessat(dirfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		_cleanup_close_ int in = snap_content_open(x->core, x->blobs[i].digest, NULL, err);
		if (in < 0)
			return in;
		_cleanup_close_ int out = openat(dirfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (out < 0) {
			int r = negative_errno();
			return snap_error_set(err, r, "export: create %s: %s", rel, strerror(-r));
		}
		int r = copy_blob_fd(x, in, out, &x->blobs[i], err);
		if (r < 0)
			return r;
	}
	int r = write_small_at(dirfd, "oci-layout", LAYOUT_JSON, err);
	if (r == 0)
		r = write_small_at(dirfd, "index.json", x->index, err);
	return r;
}

static int export_dir(struct export_job *x, struct snap_error *err)
{
	struct stat st;
	if (lstat(x->path, &st) == 0) {
		_cleanup_closedir_ DIR *d = S_ISDIR(st.st_mode) ? opendir(x->path) : NULL;
		struct dirent *de;
		bool empty = d != NULL;
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				empty = false;
		if (!empty)
			return snap_error_set(err, -EEXIST, "export to %s: exists and is not an empty directory",
					      x->path);
	}
	_cleanup_free_ char *copy = strdup(x->path), *copy2 = strdup(x->path), *staging = NULL;
	if (!copy || !copy2 ||
	    asprintf(&staging, "%s/.%s.tmp-XXXXXX", dirname(copy), basename(copy2)) < 0)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	if (!mkdtemp(staging)) {
		int r = negative_errno();
		return snap_error_set(err, r, "export to %s: create %s: %s", x->path, staging, strerror(-r));
	}
	/* mkdtemp makes it 0700; a layout is meant to be read by other tools. */
	chmod(staging, 0755);
	_cleanup_close_ int dirfd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dirfd < 0 ? snap_error_set(err, negative_errno(), "export: open %s: %m", staging)
			  : export_dir_into(x, dirfd, err);
	if (r == 0 && syncfs(dirfd) < 0)
		r = snap_error_set(err, negative_errno(), "export: sync %s: %m", staging);
	/* rename(2) replaces an empty directory: the target appears whole. */
	if (r == 0 && rename(staging, x->path) < 0)
		r = snap_error_set(err, negative_errno(), "export: rename %s to %s: %m", staging, x->path);
	if (r < 0)
		snap_rm_rf_at(AT_FDCWD, staging);
	return r;
}

int export_tar_add(struct export_job *x, struct archive *a, const char *name, int64_t size,
		   const char *mem, const struct img_blob *b, struct snap_error *err)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	if (!e)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, size < 0 ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, size < 0 ? 0755 : 0644);
	archive_entry_set_size(e, size < 0 ? 0 : size);
	/* Fixed times and owners: the same image exports to the same bytes. */
	archive_entry_set_mtime(e, 0, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		return snap_error_set(err, -EIO, "export: write %s: %s", name, archive_error_string(a));
	if (mem) {
		if (archive_write_data(a, mem, strlen(mem)) < 0)
			return snap_error_set(err, -EIO, "export: write %s: %s", name, archive_error_string(a));
	} else if (b) {
		_cleanup_close_ int in = snap_content_open(x->core, b->digest, NULL, err);
		if (in < 0)
			return in;
		_cleanup_free_ char *buf = malloc(COPY_CHUNK);
		if (!buf)
			return snap_error_set(err, -ENOMEM, "export: out of memory");
		uint64_t done = 0;
		for (;;) {
			ssize_t n = read(in, buf, COPY_CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				int r = negative_errno();
				return snap_error_set(err, r, "read blob %s: %s", b->digest, strerror(-r));
			}
			if (n == 0)
				break;
			if (archive_write_data(a, buf, (size_t)n) < 0)
				return snap_error_set(err, -EIO, "export: write %s: %s", name,
						      archive_error_string(a));
			done += (uint64_t)n;
			if (x->progress)
				x->progress(x->progress_ctx, "export", b->digest, done, b->size);
		}
	}
	return 0;
}

static int export_tar_to(struct export_job *x, int fd, struct snap_error *err)
{
	_cleanup_(archive_write_freep) struct archive *a = archive_write_new();
	if (!a)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		return snap_error_set(err, -EIO, "export: %s", archive_error_string(a));
	int r = export_tar_add(x, a, "oci-layout", (int64_t)strlen(LAYOUT_JSON), LAYOUT_JSON, NULL, err);
	if (r == 0)
		r = export_tar_add(x, a, "index.json", (int64_t)strlen(x->index), x->index, NULL, err);
	if (r == 0)
		r = export_tar_add(x, a, "blobs/", -1, NULL, NULL, err);
	if (r == 0)
		r = export_tar_add(x, a, "blobs/sha256/", -1, NULL, NULL, err);
	for (size_t i = 0; r == 0 && i < x->n_blobs; i++) {
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup |= strcmp(x->blobs[k].digest, x->blobs[i].digest) == 0;
		if (dup)
			continue;
		char name[128];
		snprintf(name, sizeof(name), "blobs/sha256/%s", snap_digest_hex(x->blobs[i].digest));
		r = export_tar_add(x, a, name, (int64_t)x->blobs[i].size, NULL, &x->blobs[i], err);
	}
	if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
		r = snap_error_set(err, -EIO, "export: %s", archive_error_string(a));
	return r;
}

/* Write the tar with `write_to` under a staging name next to x->path,
 * fsync, rename into place. */
static int export_tar(struct export_job *x, int (*write_to)(struct export_job *, int, struct snap_error *),
		      struct snap_error *err)
{
	_cleanup_free_ char *staging = NULL;
	if (asprintf(&staging, "%s.tmp-XXXXXX", x->path) < 0)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	_cleanup_close_ int fd = mkostemp(staging, O_CLOEXEC);
	if (fd < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "export to %s: create %s: %s", x->path, staging, strerror(-r));
	}
	fchmod(fd, 0644);
	int r = write_to(x, fd, err);
	if (r == 0 && fsync(fd) < 0)
		r = snap_error_set(err, negative_errno(), "export: fsync %s: %m", staging);
	if (r == 0 && rename(staging, x->path) < 0)
		r = snap_error_set(err, negative_errno(), "export: rename %s to %s: %m", staging, x->path);
	if (r < 0)
		unlink(staging);
	return r;
}

int snap_image_export(struct snap_core *core, const char *ref, const char *path, enum snap_export_format format,
		      snap_image_progress_fn progress, void *progress_ctx, struct snap_error *err)
{
	char id[SNAP_DIGEST_MAX], manifest_digest[SNAP_DIGEST_MAX];
	_cleanup_free_ char *name = NULL;
	int r = img_db_resolve(core, ref, id, &name, err);
	if (r < 0)
		return r;
	if (!name) {
		/* By ID: name it after its first tag, if any. */
		_cleanup_(snap_strv_freep) char **tags = NULL;
		if (img_db_tags(core, id, &tags, NULL, NULL) == 0 && tags[0])
			name = strdup(tags[0]);
	}
	r = img_db_get(core, id, manifest_digest, NULL, NULL, NULL, NULL, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
	size_t mlen, clen;
	r = snap_content_read(core, manifest_digest, IMG_DOC_MAX, SNAP_CONTENT_VERIFY, &mbuf, &mlen, err);
	if (r < 0)
		return snap_error_prefix(err, "export %s", ref);
	_cleanup_(oci_manifest_done) struct oci_manifest m = {0};
	r = oci_manifest_parse(mbuf, mlen, manifest_digest, &m, err);
	if (r < 0)
		return snap_error_prefix(err, "export %s", ref);
	r = snap_content_read(core, m.config.digest, IMG_DOC_MAX, SNAP_CONTENT_VERIFY, &cbuf, &clen, err);
	if (r < 0)
		return snap_error_prefix(err, "export %s", ref);
	_cleanup_(oci_config_done) struct oci_config c = {0};
	r = oci_config_parse(cbuf, clen, m.config.digest, &c, err);
	if (r < 0)
		return snap_error_prefix(err, "export %s", ref);

	_cleanup_free_ struct img_blob *blobs = calloc(m.n_layers + 2, sizeof(*blobs));
	if (!blobs)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	snprintf(blobs[0].digest, SNAP_DIGEST_MAX, "%s", manifest_digest);
	blobs[0].size = mlen;
	snprintf(blobs[1].digest, SNAP_DIGEST_MAX, "%s", m.config.digest);
	blobs[1].size = clen;
	for (size_t i = 0; i < m.n_layers; i++) {
		snprintf(blobs[i + 2].digest, SNAP_DIGEST_MAX, "%s", m.layers[i].digest);
		blobs[i + 2].size = (uint64_t)m.layers[i].size;
	}
	const char *mt = json_string_value(json_object_get(m.root, "mediaType"));
	_cleanup_free_ char *index = NULL;
	struct export_job x = {
		.core = core,
		.path = path,
		.progress = progress,
		.progress_ctx = progress_ctx,
		.blobs = blobs,
		.n_blobs = m.n_layers + 2,
		.name = name,
		.manifest = &m,
		.config = &c,
	};
	if (format == SNAP_EXPORT_DOCKER_ARCHIVE) {
		r = export_tar(&x, export_docker_to, err);
		return r < 0 ? snap_error_prefix(err, "export %s", ref) : 0;
	}
	r = build_index(&x, name, manifest_digest, mlen, mt ? mt : MT_OCI_MANIFEST, &c, err);
	index = x.index;
	if (r < 0)
		return r;
	size_t n = strlen(path);
	if (n > 4 && strcmp(path + n - 4, ".tar") == 0)
		r = export_tar(&x, export_tar_to, err);
	else
		r = export_dir(&x, err);
	if (r < 0)
		return snap_error_prefix(err, "export %s", ref);
	return 0;
}
