/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Import with an arbitrary OCI index.json (first byte even) or docker-save
 * manifest.json (odd) in front of a fixed, valid image layout: the index
 * walk (nested indexes, platforms, annotations, names) and docker's list
 * are fuzzed while the blobs they may point at exist.  A successful import
 * is removed again so every input sees the same store.
 *
 * SNAPCTL_FUZZ_SEEDS=DIR writes seed inputs for the fixed layout (a valid
 * index, a nested one, a docker manifest.json) into DIR and exits.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "image/image-internal.h"
#include "util/fs-util.h"

static struct snap_core *core;
static char layout[512];
static char manifest_digest[SNAP_DIGEST_MAX], config_digest[SNAP_DIGEST_MAX], layer_digest[SNAP_DIGEST_MAX];
static size_t manifest_size, config_size, layer_size;

static void put(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || snap_write_all(fd, buf, len) < 0)
		fuzz_fail("write %s: %s", path, strerror(errno));
	close(fd);
}

static void put_blob(const void *buf, size_t len, char digest[SNAP_DIGEST_MAX], size_t *size)
{
	if (snap_sha256_buf(buf, len, digest) < 0)
		fuzz_fail("sha256");
	char name[128];
	snprintf(name, sizeof(name), "blobs/sha256/%s", snap_digest_hex(digest));
	put(layout, name, buf, len);
	*size = len;
}

/* A one-file layer tar, written with libarchive. */
static void make_layer(void)
{
	static char buf[8192];
	size_t used = 0;
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	if (!a || !e || archive_write_set_format_pax(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_memory(a, buf, sizeof(buf), &used) != ARCHIVE_OK)
		fuzz_fail("layer writer");
	archive_entry_set_pathname(e, "hello");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 3);
	if (archive_write_header(a, e) != ARCHIVE_OK || archive_write_data(a, "hi\n", 3) != 3 ||
	    archive_write_close(a) != ARCHIVE_OK)
		fuzz_fail("write layer: %s", archive_error_string(a));
	archive_entry_free(e);
	archive_write_free(a);
	put_blob(buf, used, layer_digest, &layer_size);
}

static void make_layout(void)
{
	snprintf(layout, sizeof(layout), "%s/layout", fuzz_scratch());
	char blobs[600];
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", layout);
	if (snap_mkdir_p(blobs, 0755) < 0)
		fuzz_fail("mkdir %s: %s", blobs, strerror(errno));
	put(layout, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	make_layer();
	char doc[2048];
	int n = snprintf(doc, sizeof(doc),
			 "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"]},"
			 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
			 oci_host_arch(), layer_digest);
	put_blob(doc, (size_t)n, config_digest, &config_size);
	n = snprintf(doc, sizeof(doc),
		     "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\""
		     MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\""
		     MT_OCI_LAYER "\",\"digest\":\"%s\",\"size\":%zu}]}",
		     config_digest, config_size, layer_digest, layer_size);
	put_blob(doc, (size_t)n, manifest_digest, &manifest_size);
}

static void write_seed(const char *dir, const char *name, char kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void write_seed(const char *dir, const char *name, char kind, const char *fmt, ...)
{
	char doc[4096];
	doc[0] = kind;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(doc + 1, sizeof(doc) - 1, fmt, ap);
	va_end(ap);
	put(dir, name, doc, (size_t)n + 1);
}

static void write_seeds(const char *dir)
{
	const char *arch = oci_host_arch();
	write_seed(dir, "index", 0,
		   "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST
		   "\",\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"},"
		   "\"annotations\":{\"" ANNOT_REF_NAME "\":\"v1\",\"" ANNOT_CONTAINERD_NAME "\":\"fuzz/img:v1\"}}]}",
		   manifest_digest, manifest_size, arch);
	write_seed(dir, "index-platforms", 0,
		   "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
		   "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
		   "\"platform\":{\"os\":\"windows\",\"architecture\":\"%s\"}},"
		   "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
		   "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\",\"variant\":\"v8\"}}]}",
		   manifest_digest, manifest_size, arch, manifest_digest, manifest_size, arch);
	write_seed(dir, "docker", 1,
		   "[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"fuzz/docker:latest\"],"
		   "\"Layers\":[\"blobs/sha256/%s\"]}]",
		   snap_digest_hex(config_digest), snap_digest_hex(layer_digest));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	make_layout();
	const char *seeds = getenv("SNAPCTL_FUZZ_SEEDS");
	if (seeds) {
		write_seeds(seeds);
		exit(0);
	}
	char root[600];
	snprintf(root, sizeof(root), "%s/root", fuzz_scratch());
	struct snap_core_opts opts = { .root = root, .driver = "vfs" };
	struct snap_error err = { 0 };
	if (snap_core_open(&opts, &core, &err) < 0)
		fuzz_fail("open core: %s", err.message);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool docker = data[0] & 1;
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", layout, docker ? "index.json" : "manifest.json");
	unlink(path);
	put(layout, docker ? "manifest.json" : "index.json", data + 1, size - 1);
	struct snap_import_result res = { 0 };
	struct snap_error err = { 0 };
	struct snap_import_opts opts = { 0 };
	int r = snap_image_import(core, layout, &opts, &res, &err);
	if (r < 0) {
		if (!err.message[0])
			fuzz_fail("import refused without a message");
		return 0;
	}
	if (!snap_digest_valid(res.id))
		fuzz_fail("import gave image ID '%s'", res.id);
	if (snap_image_remove(core, res.id, SNAP_RMI_FORCE, NULL, &err) < 0)
		fuzz_fail("remove imported image %s: %s", res.id, err.message);
	snap_import_result_done(&res);
	return 0;
}
