/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl export --format docker-archive: the tar `docker save` writes,
 * read by docker load, podman load and skopeo's docker-archive: transport.
 *
 *   <config-hex>.json             the config blob, byte for byte (the image ID survives)
 *   <diff-id-hex>/layer.tar       each layer, uncompressed: its sha256 is its diff ID
 *   manifest.json                 [{"Config", "RepoTags", "Layers"}]
 *   repositories                  {"REPO": {"TAG": "<top layer dir>"}} (older loaders)
 *
 * A compressed layer blob is read twice: once to learn the tar's size (a
 * tar header comes first) and to check that it decompresses to its diff
 * ID, then to copy it.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image-internal.h"
#include "util/digest.h"

#define CHUNK ((size_t)1 << 20)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive, archive_write_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive_entry, archive_entry_free)

static bool media_type_plain(const char *mt)
{
	return mt && (strcmp(mt, MT_OCI_LAYER) == 0 ||
		      strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar") == 0);
}

/* A blob read decompressed (gzip, zstd, ... or plain). */
struct decomp {
	int fd;
	struct archive *a;
};

static void decomp_done(struct decomp *d)
{
	if (d->a)
		archive_read_free(d->a);
	d->a = NULL;
	/* archive_read_open_fd leaves the fd to its owner */
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -EBADF;
}

static int decomp_open(struct export_job *x, const char *digest, struct decomp *d, struct snap_error *err)
{
	d->fd = snap_content_open(x->core, digest, NULL, err);
	if (d->fd < 0)
		return d->fd;
	d->a = archive_read_new();
	if (!d->a)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	archive_read_support_filter_all(d->a);
	archive_read_support_format_raw(d->a);
	struct archive_entry *e;
	if (archive_read_open_fd(d->a, d->fd, CHUNK) != ARCHIVE_OK ||
	    archive_read_next_header(d->a, &e) != ARCHIVE_OK)
		return snap_error_set(err, -EIO, "layer %s: %s", digest, archive_error_string(d->a));
	return 0;
}

/* Pass 1: the uncompressed size, and that the bytes hash to diff_id. */
static int measure_layer(struct export_job *x, const struct img_blob *b, const char *diff_id, int64_t *ret,
			 struct snap_error *err)
{
	_cleanup_(decomp_done) struct decomp d = { .fd = -EBADF };
	int r = decomp_open(x, b->digest, &d, err);
	if (r < 0)
		return r;
	struct archive *a = d.a;
	_cleanup_free_ char *buf = malloc(CHUNK);
	struct snap_sha256 h = { 0 };
	if (!buf)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	r = snap_sha256_init(&h);
	if (r < 0)
		return snap_error_set(err, r, "export: sha256: %s", strerror(-r));
	int64_t size = 0;
	la_ssize_t n = 0;
	while ((n = archive_read_data(a, buf, CHUNK)) > 0 && r == 0) {
		r = snap_sha256_update(&h, buf, (size_t)n);
		size += n;
	}
	if (r < 0)
		r = snap_error_set(err, r, "export: sha256: %s", strerror(-r));
	else if (n < 0)
		r = snap_error_set(err, -EIO, "layer %s: %s", b->digest, archive_error_string(a));
	char got[SNAP_DIGEST_MAX];
	if (r == 0 && snap_sha256_final(&h, got) < 0)
		r = snap_error_set(err, -EIO, "export: sha256 of layer %s failed", b->digest);
	snap_sha256_done(&h);
	if (r == 0 && strcmp(got, diff_id) != 0)
		r = snap_error_set(err, -EIO, "layer %s decompresses to %s, its diff ID is %s", b->digest, got,
				   diff_id);
	if (r == 0)
		*ret = size;
	return r;
}

/* Pass 2: the decompressed bytes into the tar member already headed. */
static int copy_layer(struct export_job *x, struct archive *out, const struct img_blob *b, int64_t size,
		      struct snap_error *err)
{
	_cleanup_(decomp_done) struct decomp d = { .fd = -EBADF };
	int r = decomp_open(x, b->digest, &d, err);
	if (r < 0)
		return r;
	struct archive *a = d.a;
	_cleanup_free_ char *buf = malloc(CHUNK);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	int64_t done = 0;
	la_ssize_t n = 0;
	while (r == 0 && (n = archive_read_data(a, buf, CHUNK)) > 0) {
		if (done + n > size)
			r = snap_error_set(err, -EIO, "layer %s changed while exported", b->digest);
		else if (archive_write_data(out, buf, (size_t)n) < 0)
			r = snap_error_set(err, -EIO, "export: %s", archive_error_string(out));
		done += n;
		if (r == 0 && x->progress)
			x->progress(x->progress_ctx, "export", b->digest, (uint64_t)done, (uint64_t)size);
	}
	if (r == 0 && n < 0)
		r = snap_error_set(err, -EIO, "layer %s: %s", b->digest, archive_error_string(a));
	if (r == 0 && done != size)
		r = snap_error_set(err, -EIO, "layer %s changed while exported", b->digest);
	return r;
}

static int add_layer(struct export_job *x, struct archive *a, const char *member, const struct img_blob *b,
		     const char *mt, const char *diff_id, struct snap_error *err)
{
	/* An uncompressed blob is its own diff: copied as stored. */
	if (media_type_plain(mt) && strcmp(b->digest, diff_id) == 0)
		return export_tar_add(x, a, member, (int64_t)b->size, NULL, b, err);
	int64_t size = 0;
	int r = measure_layer(x, b, diff_id, &size, err);
	if (r < 0)
		return r;
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	if (!e)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	archive_entry_set_pathname(e, member);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, 0, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		return snap_error_set(err, -EIO, "export: write %s: %s", member, archive_error_string(a));
	return copy_layer(x, a, b, size, err);
}

/* manifest.json and repositories for x's image. */
static int docker_documents(struct export_job *x, char **ret_manifest, char **ret_repos, struct snap_error *err)
{
	const struct oci_config *c = x->config;
	char config_member[SNAP_DIGEST_MAX + 8];
	snprintf(config_member, sizeof(config_member), "%s.json", snap_digest_hex(x->blobs[1].digest));
	_cleanup_(json_decrefp) json_t *layers = json_array();
	_cleanup_(json_decrefp) json_t *tags = x->name ? json_array() : json_null();
	_cleanup_(json_decrefp) json_t *repos = json_object();
	if (!layers || !tags || !repos)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	for (size_t i = 0; i < c->n_diff_ids; i++) {
		char member[SNAP_DIGEST_MAX + 16];
		snprintf(member, sizeof(member), "%s/layer.tar", snap_digest_hex(c->diff_ids[i]));
		json_array_append_new(layers, json_string(member));
	}
	if (x->name) {
		/* docker writes the familiar name: busybox:latest, me/app:1 */
		const char *familiar = snap_image_ref_familiar(x->name);
		json_array_append_new(tags, json_string(familiar));
		_cleanup_free_ char *repo = strdup(familiar);
		char *colon = repo ? strrchr(repo, ':') : NULL;
		if (!colon)
			return snap_error_set(err, -ENOMEM, "export: out of memory");
		*colon = '\0';
		if (c->n_diff_ids)
			json_object_set_new(repos, repo,
					    json_pack("{s:s}", colon + 1, snap_digest_hex(c->diff_ids[c->n_diff_ids - 1])));
	}
	_cleanup_(json_decrefp) json_t *m = json_pack("[{s:s, s:O, s:O}]", "Config", config_member, "RepoTags", tags,
						      "Layers", layers);
	char *ms = m ? json_dumps(m, JSON_COMPACT) : NULL;
	char *rs = json_dumps(repos, JSON_COMPACT);
	if (!ms || !rs) {
		free(ms);
		free(rs);
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	}
	*ret_manifest = ms;
	*ret_repos = rs;
	return 0;
}

int export_docker_to(struct export_job *x, int fd, struct snap_error *err)
{
	const struct oci_manifest *m = x->manifest;
	const struct oci_config *c = x->config;
	if (c->n_diff_ids != m->n_layers)
		return snap_error_set(err, -EINVAL, "config has %zu diff IDs for %zu layers", c->n_diff_ids,
				      m->n_layers);
	_cleanup_free_ char *manifest = NULL, *repos = NULL;
	int r = docker_documents(x, &manifest, &repos, err);
	if (r < 0)
		return r;
	_cleanup_(archive_write_freep) struct archive *a = archive_write_new();
	if (!a)
		return snap_error_set(err, -ENOMEM, "export: out of memory");
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		return snap_error_set(err, -EIO, "export: %s", archive_error_string(a));
	char member[SNAP_DIGEST_MAX + 16];
	snprintf(member, sizeof(member), "%s.json", snap_digest_hex(x->blobs[1].digest));
	r = export_tar_add(x, a, member, (int64_t)x->blobs[1].size, NULL, &x->blobs[1], err);
	for (size_t i = 0; r == 0 && i < m->n_layers; i++) {
		/* a layer listed twice is written once */
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup |= strcmp(c->diff_ids[k], c->diff_ids[i]) == 0;
		if (dup)
			continue;
		const char *hex = snap_digest_hex(c->diff_ids[i]);
		snprintf(member, sizeof(member), "%s/", hex);
		r = export_tar_add(x, a, member, -1, NULL, NULL, err);
		snprintf(member, sizeof(member), "%s/layer.tar", hex);
		if (r == 0)
			r = add_layer(x, a, member, &x->blobs[i + 2], m->layers[i].media_type, c->diff_ids[i], err);
	}
	if (r == 0)
		r = export_tar_add(x, a, "manifest.json", (int64_t)strlen(manifest), manifest, NULL, err);
	if (r == 0)
		r = export_tar_add(x, a, "repositories", (int64_t)strlen(repos), repos, NULL, err);
	if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
		r = snap_error_set(err, -EIO, "export: %s", archive_error_string(a));
	return r;
}
