/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl run [--rm] [--name N] [-e K=V] [-w DIR] [--hostname H]
 *             [--net none|host] [--pids-limit N] [--memory SIZE] [--cpus N]
 *             [--security-opt seccomp=unconfined] [-u USER] [-i] [-t]
 *             IMAGE [CMD [ARG...]]
 *
 * resolve IMAGE -> record the container -> prepare its active snapshot on
 * the image's top chain ID -> mount it (in a mount namespace of our own,
 * so nothing can leak to the host even if we are killed) -> launch ->
 * wait -> record the exit -> unmount -> with --rm remove it all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "container-cli.h"
#include "container-store.h"
#include "container.h"
#include "run-flags.h"
#include "run-isolation.h"
#include "spec/specs.h"
#include "util/fs-util.h"
#include "image/image.h"
#include "util/macro.h"

struct run_opts {
	bool rm, interactive, tty;
	const char *name, *workdir, *hostname, *user;
	struct snap_container_spec isolation; /* net, limits, seccomp */
	char **env; /* -e, in order */
	size_t n_env;
};

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, strv_free)

/* Set or replace KEY=... in the NULL-terminated vector *env. */
static int env_set(char ***env, const char *kv)
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
	if (!(v[n] = strdup(kv)))
		return -ENOMEM;
	v[n + 1] = NULL;
	return 0;
}

/* The image's Env, then -e in order (docker: "-e K" takes K from our own
 * environment and is dropped when we have none). */
static int build_env(const struct snap_image_config *cfg, const struct run_opts *o, char ***ret)
{
	_cleanup_(strv_freep) char **env = calloc(1, sizeof(char *));
	if (!env)
		return -ENOMEM;
	for (char **p = cfg->env; p && *p; p++)
		if (env_set(&env, *p) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < o->n_env; i++) {
		const char *kv = o->env[i];
		_cleanup_free_ char *from_host = NULL;
		if (!strchr(kv, '=')) {
			const char *v = getenv(kv);
			if (!v)
				continue;
			if (asprintf(&from_host, "%s=%s", kv, v) < 0)
				return -ENOMEM;
			kv = from_host;
		}
		if (env_set(&env, kv) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(env);
	return 0;
}

/* Entrypoint + (CMD from the command line, or the image's Cmd). */
static char **build_argv(const struct snap_image_config *cfg, char **cmd, int n_cmd)
{
	size_t n = 0;
	for (char **p = cfg->entrypoint; p && *p; p++)
		n++;
	char **from = n_cmd > 0 ? cmd : cfg->cmd;
	size_t m = n_cmd > 0 ? (size_t)n_cmd : 0;
	if (n_cmd <= 0)
		for (char **p = cfg->cmd; p && *p; p++)
			m++;
	char **argv = calloc(n + m + 1, sizeof(char *));
	if (!argv)
		return NULL;
	for (size_t i = 0; i < n; i++)
		argv[i] = cfg->entrypoint[i];
	for (size_t i = 0; i < m; i++)
		argv[n + i] = from[i];
	return argv; /* borrowed strings */
}

static int parse_opts(struct cli_ctx *ctx, int argc, char **argv, struct run_opts *o)
{
	struct cli_parser p = { .spec = &cli_spec_run };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case RUN_FLAG_RM:
			o->rm = true;
			break;
		case RUN_FLAG_NAME:
			o->name = optarg;
			break;
		case 'e': {
			char **v = reallocarray(o->env, o->n_env + 1, sizeof(char *));
			if (!v)
				return cli_failf(ctx, "run: %s", strerror(ENOMEM));
			o->env = v;
			o->env[o->n_env++] = optarg;
			break;
		}
		case 'w':
			o->workdir = optarg;
			break;
		case RUN_FLAG_HOSTNAME:
			o->hostname = optarg;
			break;
		case RUN_FLAG_NET:
		case RUN_FLAG_PIDS_LIMIT:
		case RUN_FLAG_MEMORY:
		case RUN_FLAG_CPUS:
		case RUN_FLAG_SECURITY_OPT:
			if (run_isolation_flag(ctx, c, optarg, &o->isolation) < 0)
				return EXIT_USAGE;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'i':
			o->interactive = true;
			break;
		case 't':
			o->tty = true;
			break;
		}
	}
	if (c < 0)
		return c == CLI_FLAGS_HELP ? -1 : EXIT_USAGE;
	if (o->workdir && o->workdir[0] != '/')
		return cli_spec_usage_error(ctx, &cli_spec_run, "the working directory \"%s\" must be absolute",
					    o->workdir);
	return 0;
}

/* Set up the container's row, snapshot and rootfs mount, run it, record
 * the exit.  Returns the exit code (125 when it could not start). */
static int run_container(struct cli_ctx *ctx, struct snap_core *core, const struct run_opts *o,
			 const struct snap_container_rec *rec, const struct snap_image *img,
			 char **argv, char **env, bool *ret_mounted, const char *rootfs)
{
	struct snap_error err = { 0 };
	/* A --rm container's writes never outlive it: overlay may then skip
	 * the syncfs at unmount (drivers that know no such label ignore it). */
	struct snap_label volatile_label = { "snapctl.volatile", "true" };
	struct snap_labels labels = { .v = &volatile_label, .n = 1 };
	int r = snap_prepare(core, rec->snapshot, img->top_chain_id[0] ? img->top_chain_id : NULL,
			     o->rm ? &labels : NULL, NULL, &err);
	if (r < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	r = snap_mkdir_p(rootfs, 0700);
	if (r < 0) {
		cli_failf(ctx, "create %s: %s", rootfs, strerror(-r));
		return EXIT_RUN_FAILED;
	}
	if (snap_mount_at(core, rec->snapshot, rootfs, 0, &err) < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	*ret_mounted = true;

	char short_id[SNAP_CONTAINER_SHORT_ID_LEN + 1];
	snprintf(short_id, sizeof(short_id), "%s", rec->id);
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.rootfs = rootfs;
	spec.argv = argv;
	spec.env = env;
	spec.cwd = o->workdir ? o->workdir : img->config.working_dir;
	spec.user = o->user ? o->user : img->config.user;
	spec.hostname = o->hostname ? o->hostname : short_id;
	spec.net = o->isolation.net;
	spec.limits = o->isolation.limits;
	spec.seccomp_unconfined = o->isolation.seccomp_unconfined;
	spec.cgroup = rec->id;
	spec.stdin_open = o->interactive;
	spec.tty = o->tty;

	_cleanup_(snap_container_freep) struct snap_container *c = NULL;
	if (snap_container_start(&spec, &c, &err) < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	/* The row names this process, not init: it holds the rootfs mount
	 * and the container dies with it (see rm -f). */
	int64_t start = 0;
	container_pid_start(getpid(), &start);
	if (snap_container_store_set_running(core, rec->id, getpid(), start, &err) < 0)
		cli_notice(ctx, "warning: %s", err.message);

	int code = EXIT_RUN_FAILED;
	if (snap_container_wait(c, &code, &err) < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	return code;
}

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
	struct run_opts o = { 0 };
	snap_container_spec_init(&o.isolation);
	int r = parse_opts(ctx, argc, argv, &o);
	_cleanup_free_ char **opt_env = o.env;
	if (r != 0)
		return r < 0 ? EXIT_SUCCESS : r;
	const char *image_ref = argv[optind];
	char **cmd = argv + optind + 1;
	int n_cmd = argc - optind - 1;

	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_RUN_FAILED;

	struct snap_error err = { 0 };
	_cleanup_(snap_image_done) struct snap_image img = { 0 };
	if (snap_image_resolve(core, image_ref, &img, &err) < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	_cleanup_free_ char **run_argv = build_argv(&img.config, cmd, n_cmd);
	_cleanup_(strv_freep) char **env = NULL;
	if (!run_argv || build_env(&img.config, &o, &env) < 0) {
		cli_failf(ctx, "run: %s", strerror(ENOMEM));
		return EXIT_RUN_FAILED;
	}
	if (!run_argv[0]) {
		cli_failf(ctx, "run %s: no command specified (the image has neither Entrypoint nor Cmd)",
			  image_ref);
		return EXIT_RUN_FAILED;
	}

	struct snap_container_rec rec = { .created_ns = snap_now_ns() };
	char name[128], key[sizeof(rec.id) + 16];
	if (container_new_id(rec.id) < 0) {
		cli_failf(ctx, "run: no random bytes for an id");
		return EXIT_RUN_FAILED;
	}
	container_default_name(rec.id, name, sizeof(name));
	container_snapshot_key(rec.id, key, sizeof(key));
	_cleanup_free_ char *command = container_command_json(run_argv);
	_cleanup_free_ char *dir = container_dir(core, rec.id);
	_cleanup_free_ char *rootfs = NULL;
	if (!command || !dir || asprintf(&rootfs, "%s/rootfs", dir) < 0) {
		cli_failf(ctx, "run: %s", strerror(ENOMEM));
		return EXIT_RUN_FAILED;
	}
	rec.name = (char *)(o.name ? o.name : name);
	rec.image = (char *)image_ref;
	rec.image_id = img.id;
	rec.snapshot = key;
	rec.command = command;
	if (snap_container_store_add(core, &rec, &err) < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}

	/* A mount namespace of our own before anything is mounted: the
	 * rootfs mount is gone with this process, whatever happens to it. */
	bool mounted = false;
	int code;
	if (snap_container_private_mounts(&err) < 0) {
		cli_fail(ctx, &err);
		code = EXIT_RUN_FAILED;
	} else {
		code = run_container(ctx, core, &o, &rec, &img, run_argv, env, &mounted, rootfs);
	}

	/* The snapshot must not be mounted when it is removed (overlay's
	 * upper dir), and `diff`/`commit` read it unmounted anyway. */
	if (mounted && snap_unmount_at(rootfs, &err) < 0)
		cli_notice(ctx, "warning: %s", err.message);
	/* Recorded once the rootfs is unmounted, so that whoever sees the
	 * container exited may remove its snapshot.  -ENOENT: `rm -f` removed
	 * it meanwhile. */
	if (snap_container_store_set_exited(core, rec.id, code, &err) < 0 && err.code != -ENOENT)
		cli_notice(ctx, "warning: %s", err.message);
	if (o.rm) {
		if (container_remove(core, &rec, &err) < 0)
			cli_notice(ctx, "warning: %s", err.message);
	} else {
		rmdir(rootfs);
	}
	fflush(stdout);
	return code;
}
