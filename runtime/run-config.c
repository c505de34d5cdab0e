/* SPDX-License-Identifier: Apache-2.0 */
#include "run-config.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

#include "util/macro.h"

void run_strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, run_strv_free)

void run_config_done(struct run_config *c)
{
	run_strv_free(c->entrypoint);
	run_strv_free(c->cmd);
	run_strv_free(c->env);
	free(c->working_dir);
	free(c->user);
	*c = (struct run_config){ 0 };
}

/* A copy of n strings (n < 0: up to the NULL) as a NULL-terminated vector. */
static int strv_copy(char *const *v, ssize_t n, char ***ret)
{
	if (n < 0)
		for (n = 0; v && v[n]; n++)
			;
	_cleanup_(run_strv_freep) char **out = calloc((size_t)n + 1, sizeof(char *));
	if (!out)
		return -ENOMEM;
	for (ssize_t i = 0; i < n; i++)
		if (!(out[i] = strdup(v[i])))
			return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

int run_env_set(char ***env, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	size_t n = 0;
	for (; *env && (*env)[n]; n++)
		if (strncmp((*env)[n], kv, klen) == 0 && (*env)[n][klen] == '=') {
			char *copy = strdup(kv);
			if (!copy)
				return -ENOMEM;
			free((*env)[n]);
			(*env)[n] = copy;
			return 0;
		}
	char **v = reallocarray(*env, n + 2, sizeof(char *));
	if (!v)
		return -ENOMEM;
	*env = v;
	v[n + 1] = NULL;
	if (!(v[n] = strdup(kv)))
		return -ENOMEM;
	return 0;
}

static int resolve_env(const struct snap_image_config *img, const struct run_config_flags *f, char ***ret)
{
	_cleanup_(run_strv_freep) char **env = NULL;
	if (strv_copy(img->env, -1, &env) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_env; i++) {
		const char *kv = f->env[i];
		_cleanup_free_ char *from_host = NULL;
		if (!strchr(kv, '=')) {
			const char *v = getenv(kv);
			if (!v)
				continue;
			if (asprintf(&from_host, "%s=%s", kv, v) < 0)
				return -ENOMEM;
			kv = from_host;
		}
		if (run_env_set(&env, kv) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(env);
	return 0;
}

static int dup_or_null(const char *s, char **ret)
{
	*ret = NULL;
	if (s && !(*ret = strdup(s)))
		return -ENOMEM;
	return 0;
}

int run_config_resolve(const struct snap_image_config *img, const struct run_config_flags *f,
		       struct run_config *ret)
{
	_cleanup_(run_config_done) struct run_config c = { 0 };
	int r = resolve_env(img, f, &c.env);
	if (r < 0)
		return r;
	if (f->entrypoint_set) {
		/* docker: a single word, not split; "" clears it, and either
		 * way the image's Cmd no longer applies */
		if (f->entrypoint && *f->entrypoint) {
			char *const one[] = { (char *)f->entrypoint };
			r = strv_copy(one, 1, &c.entrypoint);
		}
	} else if (img->entrypoint) {
		r = strv_copy(img->entrypoint, -1, &c.entrypoint);
	}
	if (r < 0)
		return r;
	if (f->n_cmd > 0)
		r = strv_copy(f->cmd, (ssize_t)f->n_cmd, &c.cmd);
	else if (!f->entrypoint_set && img->cmd)
		r = strv_copy(img->cmd, -1, &c.cmd);
	if (r < 0)
		return r;
	if (dup_or_null(f->workdir ? f->workdir : img->working_dir, &c.working_dir) < 0 ||
	    dup_or_null(f->user ? f->user : img->user, &c.user) < 0)
		return -ENOMEM;
	*ret = c;
	c = (struct run_config){ 0 };
	return 0;
}

char **run_config_argv(const struct run_config *c)
{
	size_t n = 0, m = 0;
	for (char **p = c->entrypoint; p && *p; p++)
		n++;
	for (char **p = c->cmd; p && *p; p++)
		m++;
	char **argv = calloc(n + m + 1, sizeof(char *));
	if (!argv)
		return NULL;
	for (size_t i = 0; i < n; i++)
		argv[i] = c->entrypoint[i];
	for (size_t i = 0; i < m; i++)
		argv[n + i] = c->cmd[i];
	return argv;
}

static json_t *strv_json(char *const *v)
{
	if (!v)
		return json_null();
	json_t *a = json_array();
	for (char *const *p = v; a && *p; p++)
		if (json_array_append_new(a, json_string(*p)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

char *run_config_json(const struct run_config *c)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int r = json_object_set_new(o, "Env", strv_json(c->env));
	r |= json_object_set_new(o, "Entrypoint", strv_json(c->entrypoint));
	r |= json_object_set_new(o, "Cmd", strv_json(c->cmd));
	r |= json_object_set_new(o, "WorkingDir", json_string(c->working_dir ? c->working_dir : ""));
	r |= json_object_set_new(o, "User", json_string(c->user ? c->user : ""));
	char *s = r == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}
