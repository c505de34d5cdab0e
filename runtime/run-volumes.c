/* SPDX-License-Identifier: Apache-2.0 */
#include "run-volumes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fs-util.h"
#include "util/macro.h"

void run_volumes_done(struct run_volumes *vols)
{
	for (size_t i = 0; i < vols->n; i++) {
		free((char *)vols->v[i].source);
		free((char *)vols->v[i].target);
	}
	free(vols->v);
	*vols = (struct run_volumes){ 0 };
}

static int parse_options(const char *opts, bool *readonly)
{
	if (!opts)
		return 0;
	_cleanup_free_ char *copy = strdup(opts);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strcmp(o, "ro") == 0)
			*readonly = true;
		else if (strcmp(o, "rw") == 0)
			*readonly = false;
		else
			return -EINVAL;
	}
	return 0;
}

int run_volume_add(struct run_volumes *vols, const char *arg, struct snap_error *err)
{
	/* HOST:CTR or HOST:CTR:OPTIONS; neither path may hold a ':' */
	const char *c1 = strchr(arg, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1 || c1 == arg || c1[1] == '\0' || c1[1] == ':' || (c2 && strchr(c2 + 1, ':')))
		return snap_error_set(err, -EINVAL, "invalid volume \"%s\": expected HOST:CTR[:ro|rw]", arg);
	_cleanup_free_ char *host = strndup(arg, (size_t)(c1 - arg));
	_cleanup_free_ char *ctr = c2 ? strndup(c1 + 1, (size_t)(c2 - c1 - 1)) : strdup(c1 + 1);
	if (!host || !ctr)
		return snap_error_set(err, -ENOMEM, "volume %s: %s", arg, strerror(ENOMEM));
	bool readonly = false;
	int r = parse_options(c2 ? c2 + 1 : NULL, &readonly);
	if (r == -ENOMEM)
		return snap_error_set(err, r, "volume %s: %s", arg, strerror(ENOMEM));
	if (r < 0 || (c2 && c2[1] == '\0'))
		return snap_error_set(err, -EINVAL, "invalid volume \"%s\": options are ro or rw, not \"%s\"", arg,
				      c2 + 1);
	if (host[0] != '/')
		return snap_error_set(err, -EINVAL,
				      "invalid volume \"%s\": the host path must be absolute (named volumes are not supported)",
				      arg);
	if (ctr[0] != '/')
		return snap_error_set(err, -EINVAL, "invalid volume \"%s\": the container path must be absolute", arg);
	_cleanup_free_ char *norm = snap_path_normalize(ctr);
	if (!norm)
		return snap_error_set(err, -ENOMEM, "volume %s: %s", arg, strerror(ENOMEM));
	if (!*norm)
		return snap_error_set(err, -EINVAL, "invalid volume \"%s\": the container path cannot be \"/\"", arg);
	if (strcmp(norm, "proc") == 0 || strncmp(norm, "proc/", 5) == 0)
		return snap_error_set(err, -EINVAL, "invalid volume \"%s\": no volume may cover /proc", arg);
	struct stat st;
	if (stat(host, &st) < 0)
		return snap_error_set(err, negative_errno(), "volume %s: bind source path %s: %m", arg, host);
	_cleanup_free_ char *target = NULL;
	if (asprintf(&target, "/%s", norm) < 0)
		return snap_error_set(err, -ENOMEM, "volume %s: %s", arg, strerror(ENOMEM));
	for (size_t i = 0; i < vols->n; i++)
		if (strcmp(vols->v[i].target, target) == 0)
			return snap_error_set(err, -EINVAL, "duplicate mount point %s", target);
	struct snap_container_volume *v = reallocarray(vols->v, vols->n + 1, sizeof(*v));
	if (!v)
		return snap_error_set(err, -ENOMEM, "volume %s: %s", arg, strerror(ENOMEM));
	vols->v = v;
	v[vols->n++] = (struct snap_container_volume){
		.source = TAKE_PTR(host),
		.target = TAKE_PTR(target),
		.readonly = readonly,
	};
	return 0;
}
