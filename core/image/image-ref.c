/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image names, normalised as docker normalises them (distribution's
 * reference.ParseNormalizedNamed): a first component with a '.' or a ':'
 * or "localhost" is a registry, else the registry is docker.io; a docker.io
 * name of one component is in "library/"; the tag defaults to "latest".
 * So `busybox`, `library/busybox` and `docker.io/library/busybox:latest`
 * are one name, stored in full, and shown the short ("familiar") way
 * docker shows them.  Locally made images (import-rootfs, commit) follow
 * the same rule, as with docker (podman would put them in localhost/).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#define DEFAULT_DOMAIN "docker.io"
#define OFFICIAL_PREFIX "library/"

/* path components: [a-z0-9]+ separated by '.', '_', "__" or '-'s */
static bool valid_component(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isupper(c))
			return false;
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

static bool valid_domain(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']')
			return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

int snap_image_ref_normalize(const char *ref, char **ret, struct snap_error *err)
{
	if (!ref || !*ref)
		return snap_error_set(err, -EINVAL, "invalid image name: empty");
	if (strchr(ref, '@'))
		return snap_error_set(err, -EINVAL, "invalid image name '%s': digest references are not supported",
				      ref);
	if (strlen(ref) > 255 + 129)
		return snap_error_set(err, -EINVAL, "invalid image name '%s': too long", ref);
	/* registry/path:tag; a ':' before the last '/' is a registry port */
	const char *slash = strchr(ref, '/');
	const char *domain = NULL, *path = ref;
	size_t domain_len = 0;
	if (slash && (memchr(ref, '.', (size_t)(slash - ref)) || memchr(ref, ':', (size_t)(slash - ref)) ||
		      (slash - ref == 9 && strncmp(ref, "localhost", 9) == 0))) {
		domain = ref;
		domain_len = (size_t)(slash - ref);
		path = slash + 1;
		if (!valid_domain(domain, domain_len))
			return snap_error_set(err, -EINVAL, "invalid image name '%s': registry '%.*s'", ref,
					      (int)domain_len, domain);
	}
	const char *colon = strrchr(path, ':');
	size_t path_len = colon ? (size_t)(colon - path) : strlen(path);
	const char *tag = colon ? colon + 1 : "latest";
	if (colon && !valid_tag(tag))
		return snap_error_set(err, -EINVAL, "invalid image name '%s': tag '%s'", ref, tag);
	if (path_len == 0)
		return snap_error_set(err, -EINVAL, "invalid image name '%s'", ref);
	for (const char *p = path, *end = path + path_len;;) {
		const char *q = memchr(p, '/', (size_t)(end - p));
		size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
		if (!valid_component(p, n)) {
			bool upper = false;
			for (size_t k = 0; k < n; k++)
				upper |= isupper((unsigned char)p[k]);
			return snap_error_set(err, -EINVAL, "invalid image name '%s'%s", ref,
					      upper ? ": repository name must be lowercase" : "");
		}
		if (!q)
			break;
		p = q + 1;
	}
	if (domain_len == strlen("index.docker.io") && strncmp(domain, "index.docker.io", domain_len) == 0)
		domain = NULL; /* docker's old name of docker.io */
	bool official = (!domain || (domain_len == strlen(DEFAULT_DOMAIN) &&
				     strncmp(domain, DEFAULT_DOMAIN, domain_len) == 0)) &&
			!memchr(path, '/', path_len);
	char *s;
	if (asprintf(&s, "%.*s/%s%.*s:%s", domain ? (int)domain_len : (int)strlen(DEFAULT_DOMAIN),
		     domain ? domain : DEFAULT_DOMAIN, official ? OFFICIAL_PREFIX : "", (int)path_len, path,
		     tag) < 0)
		return snap_error_set(err, -ENOMEM, "image name: out of memory");
	*ret = s;
	return 0;
}

const char *snap_image_ref_familiar(const char *name)
{
	if (!name)
		return NULL;
	if (strncmp(name, DEFAULT_DOMAIN "/", strlen(DEFAULT_DOMAIN) + 1) != 0)
		return name;
	const char *p = name + strlen(DEFAULT_DOMAIN) + 1;
	if (strncmp(p, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) == 0 && !strchr(p + strlen(OFFICIAL_PREFIX), '/'))
		p += strlen(OFFICIAL_PREFIX);
	return p;
}
