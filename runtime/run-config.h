/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's run configuration: what `run` resolves from the image's
 * config and its flags (--entrypoint, -e, -w, -u and the command), with
 * docker's rules.  It is kept with the container (its record's "config",
 * in the shape of an OCI config's "config" object) so that `commit` writes
 * it into the new image over the base image's, as `docker commit` does.
 *
 * --secret-env values are never part of it: they join only the
 * environment handed to the process (run-secret.h).
 */
#ifndef SNAP_RUN_CONFIG_H
#define SNAP_RUN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"

/* What the flags asked for; the strings are borrowed. */
struct run_config_flags {
	bool entrypoint_set;    /* --entrypoint given (its value may be "": none) */
	const char *entrypoint;
	char *const *env;       /* -e K=V or K, in order */
	size_t n_env;
	const char *workdir;    /* -w, NULL: the image's */
	const char *user;       /* -u, NULL: the image's */
	char *const *cmd;       /* the words after IMAGE */
	size_t n_cmd;
};

struct run_config {
	char **entrypoint; /* NULL-terminated; NULL: none */
	char **cmd;        /* NULL-terminated; NULL: none */
	char **env;        /* NULL-terminated, never NULL once resolved */
	char *working_dir; /* NULL: unset ("/") */
	char *user;        /* NULL: unset (root) */
};
void run_config_done(struct run_config *c);

/* docker's merge: the image's Env, then -e in order (a bare K takes K's
 * value from snapctl's environment and is dropped when it has none);
 * --entrypoint replaces the image's Entrypoint and drops its Cmd (""
 * clears the Entrypoint); a command given replaces Cmd; -w and -u replace
 * WorkingDir and User.  0 or -ENOMEM. */
int run_config_resolve(const struct snap_image_config *img, const struct run_config_flags *f,
		       struct run_config *ret);

/* Entrypoint followed by Cmd (strings borrowed from c), NULL-terminated;
 * NULL on ENOMEM.  Its first element is NULL when both are empty. */
char **run_config_argv(const struct run_config *c);

/* As the container record keeps it: {"Env":[...], "Entrypoint":[...]|null,
 * "Cmd":[...]|null, "WorkingDir":"...", "User":"..."}.  NULL on ENOMEM. */
char *run_config_json(const struct run_config *c);

/* Set or replace KEY=... (kv is "KEY=VALUE") in the NULL-terminated vector
 * *env.  0 or -ENOMEM. */
int run_env_set(char ***env, const char *kv);

void run_strv_free(char **v);

#endif
