/* SPDX-License-Identifier: Apache-2.0 */
#include "run-secret.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "run-config.h"

int run_secret_add(struct run_secrets *s, char *arg)
{
	char *eq = strchr(arg, '=');
	size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
	if (name_len == 0)
		return -EINVAL;
	char *kv;
	if (eq) {
		kv = strdup(arg);
		if (!kv)
			return -ENOMEM;
		/* '*' rather than NULs: the argument keeps its place and
		 * length in `ps`, and the value is gone from it */
		memset(eq + 1, '*', strlen(eq + 1));
	} else {
		const char *v = getenv(arg);
		if (!v)
			return 0;
		if (asprintf(&kv, "%s=%s", arg, v) < 0)
			return -ENOMEM;
	}
	char **v = reallocarray(s->v, s->n + 1, sizeof(char *));
	if (!v) {
		explicit_bzero(kv, strlen(kv));
		free(kv);
		return -ENOMEM;
	}
	s->v = v;
	s->v[s->n++] = kv;
	return 0;
}

int run_secret_merge(const struct run_secrets *s, char ***env)
{
	for (size_t i = 0; i < s->n; i++)
		if (run_env_set(env, s->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

void run_secrets_done(struct run_secrets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		explicit_bzero(s->v[i], strlen(s->v[i]));
		free(s->v[i]);
	}
	free(s->v);
	*s = (struct run_secrets){ 0 };
}

void run_secret_env_free(char **env)
{
	for (char **p = env; p && *p; p++) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
	}
	free(env);
}
