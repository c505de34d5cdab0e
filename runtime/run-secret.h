/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run --secret-env NAME=VALUE | NAME: environment variables that reach the
 * container's process and nothing else.  They are kept apart from -e from
 * the start: not in the container's run configuration (run-config.h), so
 * not in its record, the database, a committed image's config or its
 * history; added only to the environment of the command's execve.
 *
 * A value given on the command line is copied and its bytes in snapctl's
 * argv are overwritten at once, so /proc/PID/cmdline of the `snapctl run`
 * process shows "NAME=****" for the rest of its life; NAME alone takes the
 * value from snapctl's own environment (readable only by its owner) and
 * leaves no window at all.
 */
#ifndef SNAP_RUN_SECRET_H
#define SNAP_RUN_SECRET_H

#include <stddef.h>

struct run_secrets {
	char **v; /* "NAME=VALUE", owned */
	size_t n;
};

/* Take one --secret-env argument (and scrub its value in place).  0, or
 * -EINVAL for an empty name, -ENOMEM.  NAME unset in snapctl's environment
 * is dropped, as -e NAME is. */
int run_secret_add(struct run_secrets *s, char *arg);

/* Set every secret in the NULL-terminated *env (replacing a variable of the
 * same name).  0 or -ENOMEM. */
int run_secret_merge(const struct run_secrets *s, char ***env);

/* Zero and free the copies. */
void run_secrets_done(struct run_secrets *s);

/* Free an environment vector that held secrets, zeroing every string. */
void run_secret_env_free(char **env);

#endif
