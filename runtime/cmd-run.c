/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl run [--rm] [--name N] [-e K=V] [--secret-env NAME=VALUE] [-w DIR]
 *             [--entrypoint CMD] [--hostname H] [--net none|host] [--pids-limit N] [--memory SIZE] [--cpus N]
 *             [--security-opt seccomp=unconfined] [--userns host|auto|0:HOST:SIZE]
 *             [--storage-opt size=SIZE] [-u USER] [-i] [-t]
 *             IMAGE [CMD [ARG...]]
 *
 * resolve IMAGE -> record the container -> prepare its active snapshot on
 * the image's top chain ID (or on an init layer there when the image lacks
 * a mount point, run-init-layer.h) -> mount it (in a mount namespace of our own,
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
#include "run-config.h"
#include "run-flags.h"
#include "run-init-layer.h"
#include "run-secret.h"
#include "run-volumes.h"
#include "run-isolation.h"
#include "run-storage.h"
#include "run-userns.h"
#include "spec/specs.h"
#include "util/fs-util.h"
#include "image/image.h"
#include "util/macro.h"

struct run_opts {
	bool rm, interactive, tty;
	const char *name, *hostname;
	struct run_config_flags config; /* --entrypoint, -e, -w, -u, the command */
	struct run_secrets secrets;     /* --secret-env */
	struct run_volumes volumes;     /* -v */
	struct run_storage storage;     /* --storage-opt */
	struct run_userns userns;       /* --userns */
	struct snap_container_spec isolation; /* net, limits, seccomp */
};

static void run_opts_done(struct run_opts *o)
{
	free((char **)o->config.env);
	run_secrets_done(&o->secrets);
	run_volumes_done(&o->volumes);
	run_userns_release(&o->userns);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(char *, run_secret_env_free)

/* The process's environment: the run configuration's, then the secrets. */
static int exec_env(const struct run_config *cfg, const struct run_secrets *secrets, char ***ret)
{
	_cleanup_(run_secret_env_freep) char **env = calloc(1, sizeof(char *));
	if (!env)
		return -ENOMEM;
	for (char **p = cfg->env; p && *p; p++)
		if (run_env_set(&env, *p) < 0)
			return -ENOMEM;
	if (run_secret_merge(secrets, &env) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(env);
	return 0;
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
			char **v = reallocarray((char **)o->config.env, o->config.n_env + 1, sizeof(char *));
			if (!v)
				return cli_failf(ctx, "run: %s", strerror(ENOMEM));
			v[o->config.n_env++] = optarg;
			o->config.env = v;
			break;
		}
		case RUN_FLAG_SECRET_ENV: {
			int r = run_secret_add(&o->secrets, optarg);
			if (r == -EINVAL)
				return cli_spec_usage_error(ctx, &cli_spec_run,
							    "--secret-env takes NAME=VALUE or NAME, not \"%s\"", optarg);
			if (r < 0)
				return cli_failf(ctx, "run: %s", strerror(-r));
			break;
		}
		case 'v': {
			struct snap_error err = { 0 };
			if (run_volume_add(&o->volumes, optarg, &err) < 0) {
				cli_fail(ctx, &err);
				return EXIT_RUN_FAILED;
			}
			break;
		}
		case RUN_FLAG_ENTRYPOINT:
			o->config.entrypoint_set = true;
			o->config.entrypoint = optarg;
			break;
		case 'w':
			o->config.workdir = optarg;
			break;
		case RUN_FLAG_STORAGE_OPT:
			if (run_storage_opt(ctx, optarg, &o->storage) != 0)
				return EXIT_USAGE;
			break;
		case RUN_FLAG_USERNS: {
			int r = run_userns_opt(ctx, optarg, &o->userns);
			if (r != 0)
				return r;
			break;
		}
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
			o->config.user = optarg;
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
	if (o->config.workdir && o->config.workdir[0] != '/')
		return cli_spec_usage_error(ctx, &cli_spec_run, "the working directory \"%s\" must be absolute",
					    o->config.workdir);
	return 0;
}

/* Set up the container's row, snapshot and rootfs mount, run it, record
 * the exit.  Returns the exit code (125 when it could not start). */
static int run_container(struct cli_ctx *ctx, struct snap_core *core, struct run_opts *o,
			 const struct snap_container_rec *rec, const struct snap_image *img,
			 const struct run_config *cfg, char **argv, char **env, bool *ret_mounted,
			 const char *rootfs)
{
	struct snap_error err = { 0 };
	char short_id[SNAP_CONTAINER_SHORT_ID_LEN + 1];
	snprintf(short_id, sizeof(short_id), "%s", rec->id);
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.rootfs = rootfs;
	spec.argv = argv;
	spec.env = env;
	spec.cwd = cfg->working_dir;
	spec.user = cfg->user;
	spec.hostname = o->hostname ? o->hostname : short_id;
	spec.net = o->isolation.net;
	spec.limits = o->isolation.limits;
	spec.seccomp_unconfined = o->isolation.seccomp_unconfined;
	spec.cgroup = rec->id;
	spec.stdin_open = o->interactive;
	spec.tty = o->tty;
	spec.volumes = o->volumes.v;
	spec.n_volumes = o->volumes.n;

	int r = snap_mkdir_p(rootfs, 0700);
	if (r < 0) {
		cli_failf(ctx, "create %s: %s", rootfs, strerror(-r));
		return EXIT_RUN_FAILED;
	}
	/* The runtime's mount points the image lacks go into an init layer
	 * under the container's own, out of diff and commit. */
	struct snap_label extra_v[RUN_ROOTFS_LABELS_MAX];
	struct snap_labels extra = { .v = extra_v, .n = 0 };
	if (o->storage.size[0])
		extra_v[extra.n++] = (struct snap_label){ SNAP_LABEL_SIZE, o->storage.size };
	/* --userns=auto's choice is locked until the snapshot carries it */
	if (o->userns.set && (run_userns_check_kernel(&err) < 0 || run_userns_choose(core, &o->userns, &err) < 0)) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	run_userns_labels(&o->userns, extra_v, &extra.n);
	run_userns_spec(&o->userns, &spec);
	r = run_rootfs_setup(core, rec->id, rec->snapshot, img->top_chain_id[0] ? img->top_chain_id : NULL, &spec,
			     rootfs, o->rm, &extra, &err);
	run_userns_release(&o->userns);
	if (r < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	*ret_mounted = true;

	/* The row names this process, not init: it holds the rootfs mount
	 * and the container dies with it (see rm -f).  Recorded before the
	 * start, so that once the container's first output can be seen, ps
	 * lists it (a script that waits for a line, then runs ps, found it
	 * missing); a start that fails records the exit (125) below. */
	int64_t start = 0;
	container_pid_start(getpid(), &start);
	if (snap_container_store_set_running(core, rec->id, getpid(), start, &err) < 0)
		cli_notice(ctx, "warning: %s", err.message);
	_cleanup_(snap_container_freep) struct snap_container *c = NULL;
	if (snap_container_start(&spec, &c, &err) < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}

	int code = EXIT_RUN_FAILED;
	if (snap_container_wait(c, &code, &err) < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	return code;
}

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
	_cleanup_(run_opts_done) struct run_opts o = { 0 };
	snap_container_spec_init(&o.isolation);
	o.userns.lock_fd = -EBADF;
	int r = parse_opts(ctx, argc, argv, &o);
	if (r != 0)
		return r < 0 ? EXIT_SUCCESS : r;
	const char *image_ref = argv[optind];
	o.config.cmd = argv + optind + 1;
	o.config.n_cmd = (size_t)(argc - optind - 1);

	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_RUN_FAILED;

	struct snap_error err = { 0 };
	_cleanup_(snap_image_done) struct snap_image img = { 0 };
	if (snap_image_resolve(core, image_ref, &img, &err) < 0) {
		cli_fail(ctx, &err);
		return EXIT_RUN_FAILED;
	}
	_cleanup_(run_config_done) struct run_config cfg = { 0 };
	_cleanup_free_ char **run_argv = NULL;
	_cleanup_(run_secret_env_freep) char **env = NULL;
	if (run_config_resolve(&img.config, &o.config, &cfg) < 0 || !(run_argv = run_config_argv(&cfg)) ||
	    exec_env(&cfg, &o.secrets, &env) < 0) {
		cli_failf(ctx, "run: %s", strerror(ENOMEM));
		return EXIT_RUN_FAILED;
	}
	if (!run_argv[0]) {
		cli_failf(ctx, "run %s: no command specified (%s)", image_ref,
			  o.config.entrypoint_set ? "--entrypoint is empty and no command follows the image"
						  : "the image has neither Entrypoint nor Cmd");
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
	_cleanup_free_ char *config = run_config_json(&cfg);
	_cleanup_free_ char *dir = container_dir(core, rec.id);
	_cleanup_free_ char *rootfs = NULL;
	if (!command || !config || !dir || asprintf(&rootfs, "%s/rootfs", dir) < 0) {
		cli_failf(ctx, "run: %s", strerror(ENOMEM));
		return EXIT_RUN_FAILED;
	}
	rec.name = (char *)(o.name ? o.name : name);
	rec.image = (char *)image_ref;
	rec.image_id = img.id;
	rec.snapshot = key;
	rec.command = command;
	rec.config = config;
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
		code = run_container(ctx, core, &o, &rec, &img, &cfg, run_argv, env, &mounted, rootfs);
	}

	/* The snapshot must not be mounted when it is removed (overlay's
	 * upper dir), and `diff`/`commit` read it unmounted anyway. */
	if (mounted && snap_unmount_at(rootfs, &err) < 0)
		cli_notice(ctx, "warning: %s", err.message);
	/* --rm: gone whole, so the exit need not be recorded first (a row
	 * left by a kill names this process, dead: ps shows it exited). */
	bool removed = false;
	if (o.rm) {
		removed = container_remove(core, &rec, &err) == 0;
		if (!removed)
			cli_notice(ctx, "warning: %s", err.message);
	}
	/* Recorded once the rootfs is unmounted, so that whoever sees the
	 * container exited may remove its snapshot.  -ENOENT: `rm -f` removed
	 * it meanwhile. */
	if (!removed && snap_container_store_set_exited(core, rec.id, code, &err) < 0 && err.code != -ENOENT)
		cli_notice(ctx, "warning: %s", err.message);
	if (!o.rm)
		rmdir(rootfs);
	fflush(stdout);
	return code;
}
