/* SPDX-License-Identifier: Apache-2.0 */
/* OCI / docker image documents: descriptors, manifests, configs, platforms. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/image-internal.h"

static const char *const layer_media_types[] = {
	MT_OCI_LAYER,
	MT_OCI_LAYER_GZIP,
	MT_OCI_LAYER_ZSTD,
	MT_DOCKER_LAYER_GZIP,
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

bool oci_layer_media_type_ok(const char *mt)
{
	for (size_t i = 0; i < ELEMENTSOF(layer_media_types); i++)
		if (strcmp(mt, layer_media_types[i]) == 0)
			return true;
	return false;
}

bool oci_manifest_media_type(const char *mt)
{
	return strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0;
}

bool oci_index_media_type(const char *mt)
{
	return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0;
}

int oci_json_load(const char *buf, size_t len, const char *what, json_t **ret, struct snap_error *err)
{
	json_error_t jerr;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return snap_error_set(err, -EINVAL, "%s: not valid JSON (line %d: %s)", what, jerr.line,
				      jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return snap_error_set(err, -EINVAL, "%s: not a JSON object", what);
	}
	*ret = j;
	return 0;
}

int oci_desc_parse(json_t *j, const char *what, struct oci_desc *ret, struct snap_error *err)
{
	if (!json_is_object(j))
		return snap_error_set(err, -EINVAL, "%s: descriptor is not an object", what);
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	const char *digest = json_string_value(json_object_get(j, "digest"));
	json_t *size = json_object_get(j, "size");
	if (!mt)
		return snap_error_set(err, -EINVAL, "%s: descriptor without mediaType", what);
	if (!digest)
		return snap_error_set(err, -EINVAL, "%s: descriptor without digest", what);
	if (!snap_digest_valid(digest))
		return snap_error_set(err, -EINVAL, "%s: unsupported digest '%s' (sha256 only)", what,
				      digest);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return snap_error_set(err, -EINVAL, "%s %s: descriptor without a valid size", what, digest);
	ret->media_type = mt;
	snprintf(ret->digest, sizeof(ret->digest), "%s", digest);
	ret->size = json_integer_value(size);
	ret->json = j;
	return 0;
}

void oci_manifest_done(struct oci_manifest *m)
{
	json_decref(m->root);
	free(m->layers);
	*m = (struct oci_manifest){0};
}

int oci_manifest_parse(const char *buf, size_t len, const char *what, struct oci_manifest *ret,
		       struct snap_error *err)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	int r = oci_json_load(buf, len, what, &root, err);
	if (r < 0)
		return r;
	json_t *sv = json_object_get(root, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return snap_error_set(err, -EINVAL, "%s: unsupported schemaVersion (2 expected)", what);
	const char *mt = json_string_value(json_object_get(root, "mediaType"));
	if (mt && !oci_manifest_media_type(mt))
		return snap_error_set(err, -EINVAL, "%s: unsupported manifest media type '%s'", what, mt);
	struct oci_manifest m = {0};
	r = oci_desc_parse(json_object_get(root, "config"), what, &m.config, err);
	if (r < 0)
		return snap_error_prefix(err, "config of");
	if (strcmp(m.config.media_type, MT_OCI_CONFIG) != 0 &&
	    strcmp(m.config.media_type, MT_DOCKER_CONFIG) != 0)
		return snap_error_set(err, -EINVAL, "%s: unsupported config media type '%s'", what,
				      m.config.media_type);
	json_t *layers = json_object_get(root, "layers");
	if (!json_is_array(layers))
		return snap_error_set(err, -EINVAL, "%s: no layers array", what);
	m.n_layers = json_array_size(layers);
	_cleanup_free_ struct oci_desc *v = calloc(m.n_layers ? m.n_layers : 1, sizeof(*v));
	if (!v)
		return snap_error_set(err, -ENOMEM, "%s: out of memory", what);
	for (size_t i = 0; i < m.n_layers; i++) {
		char lwhat[256];
		snprintf(lwhat, sizeof(lwhat), "%s: layer %zu", what, i);
		r = oci_desc_parse(json_array_get(layers, i), lwhat, &v[i], err);
		if (r < 0)
			return r;
		if (!oci_layer_media_type_ok(v[i].media_type))
			return snap_error_set(err, -EINVAL, "%s (%s): unsupported media type '%s'", lwhat,
					      v[i].digest, v[i].media_type);
	}
	m.layers = TAKE_PTR(v);
	m.root = TAKE_PTR(root);
	*ret = m;
	return 0;
}

void oci_config_done(struct oci_config *c)
{
	json_decref(c->root);
	free(c->diff_ids);
	*c = (struct oci_config){0};
}

int oci_config_parse(const char *buf, size_t len, const char *what, struct oci_config *ret,
		     struct snap_error *err)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	int r = oci_json_load(buf, len, what, &root, err);
	if (r < 0)
		return r;
	struct oci_config c = {0};
	c.os = json_string_value(json_object_get(root, "os"));
	c.arch = json_string_value(json_object_get(root, "architecture"));
	c.variant = json_string_value(json_object_get(root, "variant"));
	if (!c.os || !c.arch)
		return snap_error_set(err, -EINVAL, "%s: no os/architecture (not an image config)", what);
	const char *created = json_string_value(json_object_get(root, "created"));
	if (created && oci_parse_time(created, &c.created_ns) < 0)
		c.created_ns = 0;
	json_t *rootfs = json_object_get(root, "rootfs");
	const char *type = json_string_value(json_object_get(rootfs, "type"));
	json_t *ids = json_object_get(rootfs, "diff_ids");
	if (!type || strcmp(type, "layers") != 0 || !json_is_array(ids))
		return snap_error_set(err, -EINVAL, "%s: rootfs is not {type: layers, diff_ids: [...]}",
				      what);
	c.n_diff_ids = json_array_size(ids);
	_cleanup_free_ const char **v = calloc(c.n_diff_ids + 1, sizeof(*v));
	if (!v)
		return snap_error_set(err, -ENOMEM, "%s: out of memory", what);
	for (size_t i = 0; i < c.n_diff_ids; i++) {
		v[i] = json_string_value(json_array_get(ids, i));
		if (!v[i] || !snap_digest_valid(v[i]))
			return snap_error_set(err, -EINVAL, "%s: rootfs.diff_ids[%zu] is not a sha256 digest",
					      what, i);
	}
	c.diff_ids = TAKE_PTR(v);
	c.root = TAKE_PTR(root);
	*ret = c;
	return 0;
}

const char *oci_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "386";
#elif defined(__arm__)
	return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}

bool oci_platform_matches(json_t *p)
{
	if (!json_is_object(p))
		return true;
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));
	return (!os || strcmp(os, "linux") == 0) && (!arch || strcmp(arch, oci_host_arch()) == 0);
}

int oci_config_check_platform(const struct oci_config *c, const char *what, struct snap_error *err)
{
	if (strcmp(c->os, "linux") != 0 || strcmp(c->arch, oci_host_arch()) != 0)
		return snap_error_set(err, -EINVAL, "%s: image is for %s/%s, this host runs linux/%s", what,
				      c->os, c->arch, oci_host_arch());
	return 0;
}

/* n decimal digits at p (never reads past a non-digit, so never past the
 * string's end). */
static bool take_digits(const char *p, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*ret = v;
	return true;
}

int oci_parse_time(const char *s, int64_t *ret)
{
	/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), every
	 * field its exact width (sscanf's %2d would take "1" or "-1"). */
	struct tm tm = {0};
	int year, mon;
	if (!take_digits(s, 4, &year) || s[4] != '-' || !take_digits(s + 5, 2, &mon) || s[7] != '-' ||
	    !take_digits(s + 8, 2, &tm.tm_mday) || (s[10] != 'T' && s[10] != 't') ||
	    !take_digits(s + 11, 2, &tm.tm_hour) || s[13] != ':' || !take_digits(s + 14, 2, &tm.tm_min) ||
	    s[16] != ':' || !take_digits(s + 17, 2, &tm.tm_sec))
		return -EINVAL;
	if (mon < 1 || mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	const char *p = s + 19;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				frac = frac * 10 + (*p - '0');
		if (digits == 0)
			return -EINVAL;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (!take_digits(p + 1, 2, &hh) || p[3] != ':' || !take_digits(p + 4, 2, &mm) || hh > 23 ||
		    mm > 59)
			return -EINVAL;
		off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	int64_t t = (int64_t)timegm(&tm) - off;
	/* Nanoseconds since the epoch fit in 64 bits from 1677 to 2262. */
	if (t > INT64_MAX / 1000000000LL - 1 || t < INT64_MIN / 1000000000LL + 1)
		return -ERANGE;
	*ret = t * 1000000000LL + frac;
	return 0;
}

void oci_format_time(char *buf, size_t len, int64_t ns)
{
	/* Floor division: before 1970 the fraction is still 0..999999999. */
	int64_t sec = ns / 1000000000LL, frac = ns % 1000000000LL;
	if (frac < 0) {
		frac += 1000000000LL;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static int strv_from_json(json_t *a, char ***ret)
{
	if (!json_is_array(a)) {
		*ret = NULL;
		return 0;
	}
	size_t n = json_array_size(a);
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		v[i] = strdup(s ? s : "");
		if (!v[i]) {
			for (size_t k = 0; k < i; k++)
				free(v[k]);
			free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

void snap_image_config_done(struct snap_image_config *c)
{
	snap_strv_free(c->env);
	snap_strv_free(c->entrypoint);
	snap_strv_free(c->cmd);
	free(c->working_dir);
	free(c->user);
	*c = (struct snap_image_config){0};
}

int oci_config_runtime(json_t *config_root, struct snap_image_config *ret, struct snap_error *err)
{
	json_t *cc = json_object_get(config_root, "config");
	struct snap_image_config c = {0};
	int r = strv_from_json(json_object_get(cc, "Env"), &c.env);
	if (r == 0 && !c.env)
		r = (c.env = calloc(1, sizeof(char *))) ? 0 : -ENOMEM;
	if (r == 0)
		r = strv_from_json(json_object_get(cc, "Entrypoint"), &c.entrypoint);
	if (r == 0)
		r = strv_from_json(json_object_get(cc, "Cmd"), &c.cmd);
	const char *wd = json_string_value(json_object_get(cc, "WorkingDir"));
	const char *user = json_string_value(json_object_get(cc, "User"));
	if (r == 0 && wd && *wd && !(c.working_dir = strdup(wd)))
		r = -ENOMEM;
	if (r == 0 && user && *user && !(c.user = strdup(user)))
		r = -ENOMEM;
	if (r < 0) {
		snap_image_config_done(&c);
		return snap_error_set(err, r, "image config: out of memory");
	}
	*ret = c;
	return 0;
}

const char *oci_layer_media_type_sniff(int fd)
{
	unsigned char magic[4] = {0};
	ssize_t n = pread(fd, magic, sizeof(magic), 0);
	if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		return MT_OCI_LAYER_GZIP;
	if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
		return MT_OCI_LAYER_ZSTD;
	return MT_OCI_LAYER;
}

/* OCI chain ID: the diff ID alone for a base layer, else
 * sha256("<parent chain ID> <diff ID>").  Here and not in image-unpack.c so
 * that check (which verifies unpack proofs) does not link the unpacker. */
int snap_chain_id(const char *parent_chain, const char *diff_id, char out[SNAP_DIGEST_MAX])
{
	if (!snap_digest_valid(diff_id))
		return -EINVAL;
	if (!parent_chain || !*parent_chain) {
		snprintf(out, SNAP_DIGEST_MAX, "%s", diff_id);
		return 0;
	}
	if (!snap_digest_valid(parent_chain))
		return -EINVAL;
	char buf[2 * SNAP_DIGEST_MAX];
	int n = snprintf(buf, sizeof(buf), "%s %s", parent_chain, diff_id);
	return snap_sha256_buf(buf, (size_t)n, out);
}
