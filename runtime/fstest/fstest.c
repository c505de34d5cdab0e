/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl fstest: options, the private mount namespace, the configurations
 * run as child processes (at most --jobs at once), comparison, report and
 * cleanup (on exit and on SIGINT/SIGTERM).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "fstest.h"
#include "plugin-api/loader.h"
#include "spec/specs.h"
#include "util/fs-util.h"
#include "util/macro.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "a,b,c" → a NULL-free vector of copies. */
static int split_list(const char *s, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (char *save = NULL, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char **v = realloc(*ret, (*ret_n + 1) * sizeof(char *));
		if (!v)
			return -ENOMEM;
		*ret = v;
		if (!(v[*ret_n] = strdup(w)))
			return -ENOMEM;
		(*ret_n)++;
	}
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int add_plugin(const struct snap_loader_entry *e, void *userdata)
{
	struct fst_options *o = userdata;
	if (e->builtin)
		return 0;
	char **v = realloc(o->drivers, (o->n_drivers + 1) * sizeof(char *));
	if (!v)
		return -ENOMEM;
	o->drivers = v;
	if (!(v[o->n_drivers] = strdup(e->driver->name)))
		return -ENOMEM;
	o->n_drivers++;
	return 0;
}

/* The default drivers, and every driver of the plugin directory. */
static int default_drivers(struct cli_ctx *ctx, struct fst_options *o)
{
	int r = split_list("vfs,overlay,btrfs", &o->drivers, &o->n_drivers);
	if (r < 0 || !o->plugin_dir)
		return r;
	struct snap_loader *l = NULL;
	struct snap_error err = { 0 };
	r = snap_loader_new(&l);
	if (r < 0)
		return r;
	if (snap_loader_load_dir(l, o->plugin_dir, false, &err) < 0)
		cli_notice(ctx, "fstest: plugins of %s: %s", o->plugin_dir, err.message);
	r = snap_loader_foreach(l, add_plugin, o);
	snap_loader_free(l);
	return r;
}

static void emit_feature(void *userdata, const char *key, const char *value)
{
	char *buf = userdata;
	if (!strcmp(key, "usage") || !strcmp(key, "mount_api"))
		return;
	size_t n = strlen(buf);
	snprintf(buf + n, 512 - n, "%s%s=%s", n ? ", " : "overlay ", key, value);
}

/* Kernel version and the overlay driver's probes (on the work directory's
 * filesystem; each configuration's effective options are in the table). */
static void describe_host(struct fst_run *run)
{
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(run->kernel, sizeof(run->kernel), "Linux %s %s (%s)", u.release, u.machine, u.version);
	_cleanup_free_ char *root = NULL;
	if (asprintf(&root, "%s/probe", run->work) < 0)
		return;
	struct snap_core_opts co = { .root = root, .driver = "overlay" };
	struct snap_core *core = NULL;
	struct snap_error err = { 0 };
	if (snap_core_open(&co, &core, &err) < 0) {
		snprintf(run->features, sizeof(run->features), "overlay unavailable: %s", err.message);
		return;
	}
	snap_core_driver_info(core, emit_feature, run->features, &err);
	snap_core_close(core);
	snap_rm_rf_at(AT_FDCWD, root);
}

static void loadavg(char *buf, size_t len)
{
	_cleanup_free_ char *s = NULL;
	buf[0] = '\0';
	if (snap_read_file_at(AT_FDCWD, "/proc/loadavg", 256, &s, NULL) == 0) {
		char a[16], b[16], c[16];
		if (sscanf(s, "%15s %15s %15s", a, b, c) == 3)
			snprintf(buf, len, "%s %s %s", a, b, c);
	}
}

/* Read what a finished child wrote: observations and '#' lines. */
static void collect(struct fst_config *c, int code)
{
	int r = fst_obs_read(&c->obs, c->obs_path);
	unlink(c->obs_path);
	if (r < 0 && code == 0) {
		c->status = FST_FAILED;
		snprintf(c->reason, sizeof(c->reason), "result file %s: %s", c->obs_path, strerror(-r));
		return;
	}
	c->status = code == 0 ? FST_DONE : code == 77 ? FST_SKIPPED : FST_FAILED;
	if (c->status == FST_FAILED)
		snprintf(c->reason, sizeof(c->reason), "the configuration's process exited with %d", code);
	for (size_t i = 0; i < c->obs.n; i++) {
		const struct fst_obs *o = &c->obs.v[i];
		if (strcmp(o->scenario, "#") != 0)
			continue;
		if (!strcmp(o->key, "skip") || !strcmp(o->key, "fail"))
			snprintf(c->reason, sizeof(c->reason), "%s", o->value);
		else if (!strcmp(o->key, "effective"))
			snprintf(c->effective, sizeof(c->effective), "%s", o->value);
	}
	fst_obs_sort(&c->obs);
}

static void cleanup_config(struct fst_config *c)
{
	_cleanup_free_ char *mnt = NULL;
	if (asprintf(&mnt, "%s.mnt", c->root) >= 0) {
		fst_umount_below(mnt);
		snap_rm_rf_at(AT_FDCWD, mnt);
	}
	fst_umount_below(c->root);
	snap_rm_rf_at(AT_FDCWD, c->root);
}

static void kill_children(struct fst_run *run)
{
	for (size_t i = 0; i < run->n_configs; i++)
		if (run->configs[i].pid > 0) {
			kill(run->configs[i].pid, SIGKILL);
			waitpid(run->configs[i].pid, NULL, 0);
			run->configs[i].pid = -1;
		}
}

static void progress(struct cli_ctx *ctx, const struct fst_run *run, const struct fst_config *c, size_t finished)
{
	if (ctx->verbosity < 0)
		return;
	fprintf(stderr, "fstest: [%zu/%zu] %s: %s%s%s (%.1fs)\n", finished, run->n_configs, c->name,
		c->status == FST_DONE ? "ran" : c->status == FST_SKIPPED ? "skipped" : "FAILED",
		c->status != FST_DONE ? ": " : "", c->status != FST_DONE ? c->reason : "", c->seconds);
}

static void run_all(struct cli_ctx *ctx, struct fst_run *run)
{
	size_t next = 0, running = 0, finished = 0;
	double *started = calloc(run->n_configs ? run->n_configs : 1, sizeof(double));
	while (!interrupted && (next < run->n_configs || running > 0)) {
		while (!interrupted && next < run->n_configs && running < (size_t)run->opt.jobs) {
			struct fst_config *c = &run->configs[next++];
			if (!c->backing->mounted) {
				c->status = FST_SKIPPED;
				snprintf(c->reason, sizeof(c->reason), "backing filesystem %s: %s", c->backing->name,
					 c->backing->skip);
				progress(ctx, run, c, ++finished);
				continue;
			}
			fflush(NULL);
			pid_t pid = fork();
			if (pid < 0) {
				c->status = FST_FAILED;
				snprintf(c->reason, sizeof(c->reason), "fork: %s", strerror(errno));
				progress(ctx, run, c, ++finished);
				continue;
			}
			if (pid == 0) {
				signal(SIGINT, SIG_DFL);
				signal(SIGTERM, SIG_DFL);
				_exit(fst_config_run(run, c));
			}
			c->pid = pid;
			started[c - run->configs] = now_s();
			running++;
		}
		if (running == 0)
			break;
		int st;
		pid_t pid = waitpid(-1, &st, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t i = 0; i < run->n_configs; i++) {
			struct fst_config *c = &run->configs[i];
			if (c->pid != pid)
				continue;
			c->pid = -1;
			running--;
			c->seconds = now_s() - started[i];
			collect(c, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			if (WIFSIGNALED(st))
				snprintf(c->reason, sizeof(c->reason), "the configuration's process died of signal %d",
					 WTERMSIG(st));
			if (!run->opt.keep)
				cleanup_config(c);
			progress(ctx, run, c, ++finished);
		}
	}
	free(started);
	kill_children(run);
}

static bool problem(const struct fst_config *c)
{
	return c->status == FST_FAILED || c->n_unexpected > 0;
}

/* --keep: mount the commit of every diverging configuration (the failed
 * ones kept their mounts) and wait for Ctrl-C. */
static void keep_for_inspection(struct cli_ctx *ctx, struct fst_run *run)
{
	size_t n = 0;
	for (size_t i = 0; i < run->n_configs; i++) {
		struct fst_config *c = &run->configs[i];
		if (!problem(c))
			continue;
		n++;
		if (c->status == FST_DONE) {
			struct snap_core_opts co = { .root = c->root, .driver = c->driver, .plugin_dir = run->opt.plugin_dir };
			struct snap_core *core = NULL;
			struct snap_error err = { 0 };
			_cleanup_free_ char *v = NULL;
			if (asprintf(&v, "%s.mnt/v", c->root) < 0 || snap_core_open(&co, &core, &err) < 0 ||
			    snap_view(core, "keep", "upper-c", NULL, NULL, &err) < 0 ||
			    snap_mount_at(core, "keep", v, SNAP_MOUNT_RDONLY, &err) < 0)
				cli_notice(ctx, "fstest: --keep %s: %s", c->name, err.message);
			snap_core_close(core);
		}
		printf("kept %s: root %s, mounts under %s.mnt (u: the snapshot, v: a view of its commit)\n", c->name, c->root,
		       c->root);
	}
	if (n == 0)
		return;
	printf("fstest keeps its mount namespace for inspection: nsenter --mount=/proc/%d/ns/mnt sh\n"
	       "press Ctrl-C to clean up and exit\n",
	       (int)getpid());
	fflush(stdout);
	while (!interrupted)
		pause();
}

static void cleanup_all(struct fst_run *run)
{
	for (size_t i = 0; i < run->n_configs; i++)
		cleanup_config(&run->configs[i]);
	for (size_t i = 0; i < run->n_backings; i++)
		fst_backing_remove(&run->backings[i]);
	if (run->work) {
		fst_umount_below(run->work);
		snap_rm_rf_at(AT_FDCWD, run->work);
	}
}

static void run_done(struct fst_run *run)
{
	for (size_t i = 0; i < run->n_configs; i++)
		fst_config_done(&run->configs[i]);
	free(run->configs);
	for (size_t i = 0; i < run->n_backings; i++) {
		free(run->backings[i].image);
		free(run->backings[i].mnt);
	}
	free(run->backings);
	for (size_t i = 0; i < run->n_diffs; i++) {
		free(run->diffs[i].ref_value);
		free(run->diffs[i].value);
	}
	free(run->diffs);
	free(run->sc);
	free(run->work);
	strv_free(run->opt.drivers, run->opt.n_drivers);
	strv_free(run->opt.fsets, run->opt.n_fsets);
	strv_free(run->opt.backings, run->opt.n_backings);
	strv_free(run->opt.apis, run->opt.n_apis);
}

static void list_all(void)
{
	printf("Scenario families:\n");
	for (size_t f = 0; f < fst_n_families; f++) {
		printf("  %-10s %s\n", fst_families[f]->name, fst_families[f]->what);
		for (size_t i = 0; i < fst_families[f]->n; i++)
			printf("    %-36s %s\n", fst_families[f]->v[i].name, fst_families[f]->v[i].what);
	}
	printf("\nOverlay feature sets:\n");
	for (size_t i = 0; i < fst_n_fsets; i++)
		printf("  %-20s %s\n", fst_fsets[i].name, fst_fsets[i].what);
	printf("\nBacking filesystems: ext4 xfs btrfs tmpfs\nMount paths (overlay): fsopen mount2\n");
}

static int fstest(struct cli_ctx *ctx, struct fst_run *run, const char *workdir, const char *json, const char *svg,
		  const char *png)
{
	if (fst_select_scenarios(run) < 0)
		return cli_failf(ctx, "fstest: out of memory");
	if (run->n_sc == 0)
		return cli_spec_usage_error(ctx, &cli_spec_fstest, "no scenario matches '%s' (see --list)",
					    run->opt.scenario_glob);
	if (geteuid() != 0)
		return cli_failf(ctx, "fstest: needs root (it mounts filesystems and loop devices)");

	/* Everything fstest mounts lives in this namespace and goes with it. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cli_failf(ctx, "fstest: private mount namespace: %m");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/snapctl-fstest.XXXXXX", workdir ? workdir : "/var/tmp");
	if (workdir && snap_mkdir_p(workdir, 0755) < 0)
		return cli_failf(ctx, "fstest: create %s: %m", workdir);
	if (!mkdtemp(tmpl) || !(run->work = strdup(tmpl)))
		return cli_failf(ctx, "fstest: create a work directory in %s: %m", workdir ? workdir : "/var/tmp");

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	double t0 = now_s();
	struct snap_error err = { 0 };
	int code = EXIT_SUCCESS;
	if (fst_matrix_build(run, &err) < 0) {
		code = cli_spec_usage_error(ctx, &cli_spec_fstest, "%s", err.message);
		goto out;
	}
	describe_host(run);
	for (size_t i = 0; i < run->n_backings && !interrupted; i++)
		if (fst_backing_make(run, &run->backings[i]) < 0)
			cli_notice(ctx, "fstest: backing filesystem %s: %s", run->backings[i].name, run->backings[i].skip);
	run_all(ctx, run);
	if (interrupted) {
		fprintf(stderr, "fstest: interrupted, cleaning up\n");
		code = 130;
		goto out;
	}
	if (fst_compare(run) < 0) {
		code = cli_failf(ctx, "fstest: out of memory");
		goto out;
	}
	run->seconds = now_s() - t0;
	loadavg(run->loadavg, sizeof(run->loadavg));
	fst_report_table(run, ctx->verbosity > 0 || run->opt.verbose);
	if (json && fst_report_json(run, json, &err) < 0)
		code = cli_fail(ctx, &err);
	if (svg && fst_chart_write(run, svg, false, &err) < 0)
		code = cli_fail(ctx, &err);
	if (png && fst_chart_write(run, png, true, &err) < 0)
		code = cli_fail(ctx, &err);
	bool bad = false;
	for (size_t i = 0; i < run->n_configs; i++)
		bad |= problem(&run->configs[i]);
	if (bad) {
		code = EXIT_FAILURE;
		if (run->opt.keep)
			keep_for_inspection(ctx, run);
	}
out:
	kill_children(run);
	cleanup_all(run);
	return code;
}

int cmd_fstest(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fst_run run = { .opt = { .jobs = 2, .plugin_dir = ctx->plugin_dir } };
	const char *json = NULL, *svg = NULL, *png = NULL, *workdir = NULL;
	bool list = false;
	int c, r = 0;
	struct cli_parser parser = { .spec = &cli_spec_fstest };
	while (r == 0 && (c = cli_next_flag(ctx, &parser, argc, argv)) > 0) {
		switch (c) {
		case 'q':
			run.opt.quick = true;
			break;
		case 's':
			run.opt.scenario_glob = optarg;
			break;
		case 'd':
			r = split_list(optarg, &run.opt.drivers, &run.opt.n_drivers);
			break;
		case 'f':
			r = split_list(optarg, &run.opt.fsets, &run.opt.n_fsets);
			break;
		case 'b':
			r = split_list(optarg, &run.opt.backings, &run.opt.n_backings);
			break;
		case 'm':
			r = split_list(optarg, &run.opt.apis, &run.opt.n_apis);
			break;
		case 'J': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 64) {
				run_done(&run);
				return cli_spec_usage_error(ctx, &cli_spec_fstest, "invalid job count '%s'", optarg);
			}
			run.opt.jobs = (int)v;
			break;
		}
		case 'k':
			run.opt.keep = true;
			break;
		case 'D':
			workdir = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'g':
			svg = optarg;
			break;
		case 'p':
			png = optarg;
			break;
		case 'V':
			run.opt.verbose = true;
			break;
		case 'l':
			list = true;
			break;
		}
	}
	if (r < 0) {
		run_done(&run);
		return cli_failf(ctx, "fstest: out of memory");
	}
	if (c < 0) {
		run_done(&run);
		return cli_flags_exit(c);
	}
	if (list) {
		list_all();
		run_done(&run);
		return EXIT_SUCCESS;
	}
	if (!run.opt.n_drivers && default_drivers(ctx, &run.opt) < 0) {
		run_done(&run);
		return cli_failf(ctx, "fstest: out of memory");
	}
	int code = fstest(ctx, &run, workdir, json, svg, png);
	run_done(&run);
	return code;
}
