/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl bench: option parsing, the interleaved runner, clean-up. */
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"
#include "scratch-fs.h"
#include "spec/specs.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/size-parse.h"

/* --fs: the image's size unless given, enough for import-dirty's 16 GiB
 * btrfs loopback inside it; sparse, so only what the run writes is used. */
#define BENCH_FS_SIZE (30ULL << 30)
#define BENCH_FS_MIN (1ULL << 30)

const struct bench_scale bench_scale_tiny = {
	.name = "tiny", .chain_depth = 3, .unpack_small_files = 200, .unpack_large_files = 1,
	.unpack_large_size = 1 << 20, .commit_base_files = 500, .commit_changes = { 2, 10, 50 },
	.copyup_size = 4 << 20, .chain_layers = { 1, 2, 5, 10 }, .sharing_counts = { 1, 2, 3 },
	.read_size = 8 << 20, .fio_size = 8 << 20, .fio_rand_bytes = 2 << 20, .fio_fsyncs = 128,
	.fio_files = 200, .curve_depths = { 1, 2, 4, 8 }, .curve_changes = { 1, 10, 100 },
	.curve_bases = { 100, 300, 1000 }, .curve_image_files = { 10, 30, 100 }, .curve_snapshots = { 10, 30, 100 },
	.shared_files = 200,
};
const struct bench_scale bench_scale_small = {
	.name = "small", .chain_depth = 10, .unpack_small_files = 5000, .unpack_large_files = 2,
	.unpack_large_size = 16 << 20, .commit_base_files = 10000, .commit_changes = { 10, 100, 1000 },
	.copyup_size = 64 << 20, .chain_layers = { 1, 10, 50, 100 }, .sharing_counts = { 1, 10, 20 },
	.read_size = 128 << 20, .fio_size = 256 << 20, .fio_rand_bytes = 32 << 20, .fio_fsyncs = 1024,
	.fio_files = 5000, .curve_depths = { 1, 10, 50, 100, 200 }, .curve_changes = { 1, 10, 100, 1000, 10000 },
	.curve_bases = { 1000, 3000, 10000, 30000 }, .curve_image_files = { 100, 300, 1000, 3000 },
	.curve_snapshots = { 10, 100, 1000 }, .shared_files = 3000,
};
const struct bench_scale bench_scale_full = {
	.name = "full", .chain_depth = 10, .unpack_small_files = 20000, .unpack_large_files = 3,
	.unpack_large_size = 64 << 20, .commit_base_files = 50000, .commit_changes = { 10, 1000, 10000 },
	.copyup_size = 256 << 20, .chain_layers = { 1, 10, 100, 500 }, .sharing_counts = { 1, 10, 100 },
	.read_size = 512 << 20, .fio_size = 1LL << 30, .fio_rand_bytes = 128 << 20, .fio_fsyncs = 4096,
	.fio_files = 20000, .curve_depths = { 1, 10, 50, 100, 250, 500 },
	.curve_changes = { 1, 10, 100, 1000, 10000, 100000 }, .curve_bases = { 1000, 10000, 50000, 100000 },
	.curve_image_files = { 30, 1000, 10000, 45000 }, .curve_snapshots = { 10, 100, 1000, 10000 },
	.shared_files = 20000,
};

const struct bench_workload *const bench_all_workloads[] = {
	&bench_wl_snapshot_ops, &bench_wl_unpack, &bench_wl_start, &bench_wl_start_pieces, &bench_wl_commit,
	&bench_wl_copyup,       &bench_wl_chain,  &bench_wl_sharing, &bench_wl_read,
	&bench_wl_snapshot_process, &bench_wl_fio, &bench_wl_curve_depth, &bench_wl_curve_commit,
	&bench_wl_curve_import, &bench_wl_curve_snapshots, &bench_wl_shared_disk,
	&bench_wl_import_dirty, &bench_wl_import_large, &bench_wl_commit_image, &bench_wl_idmap,
};
#define all_workloads bench_all_workloads
const size_t bench_n_workloads = ELEMENTSOF(bench_all_workloads);

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

double bench_loadavg(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/loadavg", "re");
	double l;
	return f && fscanf(f, "%lf", &l) == 1 ? l : -1;
}

void bench_result_free(struct bench_result *r)
{
	free(r->workload);
	free(r->metric);
	free(r->unit);
	free(r->driver);
	free(r->x_label);
	free(r->v);
	free(r->load);
}

int bench_record_x(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *unit,
		   const char *x_label, double x, double value)
{
	const char *wl = b->current->name;
	struct bench_result *r = NULL;
	for (size_t i = 0; i < b->n_results; i++) {
		struct bench_result *o = &b->results[i];
		if (!strcmp(o->workload, wl) && !strcmp(o->metric, metric) && !strcmp(o->driver, env->driver) &&
		    !o->x_label == !x_label && (!x_label || o->x == x)) {
			r = o;
			break;
		}
	}
	if (!r) {
		struct bench_result *nv = realloc(b->results, (b->n_results + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		b->results = nv;
		r = &nv[b->n_results++];
		*r = (struct bench_result){ .workload = strdup(wl), .metric = strdup(metric), .unit = strdup(unit),
					    .driver = strdup(env->driver), .x = x };
		if (x_label)
			r->x_label = strdup(x_label);
		if (!r->workload || !r->metric || !r->unit || !r->driver || (x_label && !r->x_label))
			return -ENOMEM;
	}
	double *nv = realloc(r->v, (r->n + 1) * sizeof(double));
	if (!nv)
		return -ENOMEM;
	r->v = nv;
	double *nl = realloc(r->load, (r->n + 1) * sizeof(double));
	if (!nl)
		return -ENOMEM;
	r->load = nl;
	r->load[r->n] = bench_loadavg();
	r->v[r->n++] = value;
	return 0;
}

int bench_record(struct bench_ctx *b, struct bench_env *env, const char *metric, const char *unit,
		 double value)
{
	return bench_record_x(b, env, metric, unit, NULL, 0, value);
}

int bench_spawn(struct bench_ctx *b, char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return negative_errno();
	if (pid == 0) {
		if (b->cli->verbosity < 1) {
			int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (fd >= 0) {
				dup2(fd, STDIN_FILENO);
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return negative_errno();
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

void bench_child_dies_with(pid_t parent, int sig)
{
	if (prctl(PR_SET_PDEATHSIG, sig) < 0 || getppid() != parent)
		_exit(1);
}

/* Unmount everything below `dir`, deepest first (mountinfo lists parents
 * before children, so walk it backwards). */
void bench_unmount_below(const char *dir)
{
	for (int pass = 0; pass < 8; pass++) {
		_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
		if (!f)
			return;
		char **mps = NULL;
		size_t n = 0;
		char line[8192];
		size_t dl = strlen(dir);
		while (fgets(line, sizeof(line), f)) {
			char mp[4096];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
				continue;
			if (strncmp(mp, dir, dl) == 0 && (mp[dl] == '/' || mp[dl] == '\0')) {
				char **nv = realloc(mps, (n + 1) * sizeof(char *));
				if (!nv)
					break;
				mps = nv;
				mps[n++] = strdup(mp);
			}
		}
		for (size_t i = n; i-- > 0;) {
			if (mps[i] && umount2(mps[i], 0) < 0)
				umount2(mps[i], MNT_DETACH);
			free(mps[i]);
		}
		free(mps);
		if (n == 0)
			return;
	}
}

static void env_close(struct bench_env *e)
{
	if (e->core)
		snap_core_close(e->core);
	e->core = NULL;
}

static int env_open(struct bench_ctx *b, struct bench_env *e)
{
	struct snap_core_opts opts = {
		.root = e->root,
		.driver = e->driver,
		.plugin_dir = b->cli->plugin_dir,
		.btrfs_size = b->cli->btrfs_size,
	};
	struct snap_error err = { 0 };
	if (snap_mkdir_p(e->root, 0700) < 0 || snap_mkdir_p(e->mnt, 0755) < 0) {
		snprintf(e->skip_reason, sizeof(e->skip_reason), "cannot create %s: %m", e->root);
		return -1;
	}
	if (snap_core_open(&opts, &e->core, &err) < 0) {
		memcpy(e->skip_reason, err.message, sizeof(e->skip_reason));
		return -1;
	}
	return 0;
}

/* One workload: set up on every driver, then runs interleaved across
 * drivers (run 0 on each, run 1 on each, ...), warm-up runs discarded by
 * recording into a scratch result list. */
static void run_workload(struct bench_ctx *b, const struct bench_workload *wl)
{
	b->current = wl;
	void **state = calloc(b->n_envs, sizeof(void *));
	bool *ready = calloc(b->n_envs, sizeof(bool));
	if (!state || !ready) {
		free(state);
		free(ready);
		return;
	}
	for (size_t i = 0; i < b->n_envs && !interrupted; i++) {
		struct bench_env *e = &b->envs[i];
		if (e->skip_reason[0] || (e->peer && !wl->peers) || (e->reference && !wl->reference))
			continue;
		struct snap_error err = { 0 };
		if (e->peer) {
			ready[i] = true;
			continue;
		}
		if (wl->setup && wl->setup(b, e, &state[i], &err) < 0) {
			cli_notice(b->cli, "bench %s on %s: set-up failed: %s", wl->name, e->driver, err.message);
			continue;
		}
		ready[i] = true;
	}
	int runs = wl->default_runs && wl->default_runs < b->runs ? wl->default_runs : b->runs;
	for (int run = -b->warmup; run < runs && !interrupted; run++) {
		for (size_t i = 0; i < b->n_envs && !interrupted; i++) {
			struct bench_env *e = &b->envs[i];
			if (!ready[i])
				continue;
			if (b->cli->tty && b->cli->verbosity >= 0)
				fprintf(stderr, "\r\033[K%s: %s run %d/%d", wl->name, e->driver, run + 1, runs);
			/* Warm-up samples go to a throwaway results array. */
			struct bench_result *saved = b->results;
			size_t saved_n = b->n_results;
			if (run < 0) {
				b->results = NULL;
				b->n_results = 0;
			}
			struct snap_error err = { 0 };
			int r = e->peer ? bench_peer_run(b, e, wl->name, run, &err)
					: wl->run(b, e, state[i], run, &err);
			if (run < 0) {
				for (size_t k = 0; k < b->n_results; k++)
					bench_result_free(&b->results[k]);
				free(b->results);
				b->results = saved;
				b->n_results = saved_n;
			}
			if (r < 0) {
				cli_notice(b->cli, "bench %s on %s: %s", wl->name, e->driver, err.message);
				if (wl->teardown && !e->peer)
					wl->teardown(b, e, state[i]);
				ready[i] = false;
			}
		}
	}
	if (b->cli->tty && b->cli->verbosity >= 0)
		fprintf(stderr, "\r\033[K");
	for (size_t i = 0; i < b->n_envs; i++)
		if (ready[i] && wl->teardown && !b->envs[i].peer)
			wl->teardown(b, &b->envs[i], state[i]);
	free(state);
	free(ready);
}

/* Order the results for reading: workloads and metrics in the order they
 * were first measured, and within a metric the drivers side by side in the
 * order given on the command line. */
struct sort_key {
	size_t wl, metric, driver, i;
};

static int cmp_key(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;
	if (x->wl != y->wl)
		return x->wl < y->wl ? -1 : 1;
	if (x->metric != y->metric)
		return x->metric < y->metric ? -1 : 1;
	if (x->driver != y->driver)
		return x->driver < y->driver ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

static void sort_results(struct bench_ctx *b)
{
	struct sort_key *k = calloc(b->n_results, sizeof(*k));
	struct bench_result *sorted = calloc(b->n_results, sizeof(*sorted));
	if (!k || !sorted) {
		free(k);
		free(sorted);
		return;
	}
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		k[i].i = i;
		k[i].wl = k[i].metric = i;
		for (size_t j = 0; j < i; j++)
			if (strcmp(b->results[j].workload, r->workload) == 0) {
				k[i].wl = k[j].wl;
				break;
			}
		for (size_t j = 0; j < i; j++)
			if (strcmp(b->results[j].workload, r->workload) == 0 &&
			    strcmp(b->results[j].metric, r->metric) == 0) {
				k[i].metric = k[j].metric;
				break;
			}
		for (size_t e = 0; e < b->n_envs; e++)
			if (strcmp(b->envs[e].driver, r->driver) == 0)
				k[i].driver = e;
	}
	qsort(k, b->n_results, sizeof(*k), cmp_key);
	for (size_t i = 0; i < b->n_results; i++)
		sorted[i] = b->results[k[i].i];
	memcpy(b->results, sorted, b->n_results * sizeof(*sorted));
	free(sorted);
	free(k);
}

static void free_results(struct bench_ctx *b)
{
	for (size_t i = 0; i < b->n_results; i++)
		bench_result_free(&b->results[i]);
	free(b->results);
	b->results = NULL;
	b->n_results = 0;
}

/* --from-json: the reports of a saved run, drawn again. */
static int replot(struct bench_ctx *b, const char *from, const char *json, const char *svg, const char *png,
		  const char *curves)
{
	struct snap_error err = { 0 };
	int ret = EXIT_SUCCESS;
	if (bench_load_json(b, from, &err) < 0) {
		ret = cli_fail(b->cli, &err);
	} else {
		bench_print_table(b, stdout);
		if (json && bench_write_json(b, json, &err) < 0)
			ret = cli_fail(b->cli, &err);
		if (svg && bench_write_chart(b, svg, false, &err) < 0)
			ret = cli_fail(b->cli, &err);
		if (png && bench_write_chart(b, png, true, &err) < 0)
			ret = cli_fail(b->cli, &err);
		if (curves && bench_write_curve_charts(b, curves, &err) < 0)
			ret = cli_fail(b->cli, &err);
	}
	for (size_t i = 0; i < b->n_envs; i++)
		free((char *)b->envs[i].driver);
	free(b->envs);
	free_results(b);
	return ret;
}

struct bench_opts {
	const char *drivers, *json, *svg, *png, *workdir, *from_json, *curves;
	char fs_type[16]; /* --fs: "" for none */
	uint64_t fs_size;
	const char *wl_names[ELEMENTSOF(all_workloads)];
	size_t n_wl;
	bool peers;
};

/* Options into *o and the run's settings into *b.  Returns -1 to go on, or
 * the exit code (usage errors, --list). */
static int parse_options(struct cli_ctx *ctx, struct bench_ctx *b, struct bench_opts *o, int argc, char **argv)
{
	int c;
	struct cli_parser parser = { .spec = &cli_spec_bench };
	while ((c = cli_next_flag(ctx, &parser, argc, argv)) > 0) {
		char *end;
		switch (c) {
		case 'd':
			o->drivers = optarg;
			break;
		case 'w': {
			bool found = false;
			for (size_t i = 0; i < ELEMENTSOF(all_workloads); i++)
				found |= strcmp(all_workloads[i]->name, optarg) == 0;
			if (!found)
				return cli_spec_usage_error(ctx, &cli_spec_bench, "unknown workload '%s' (see bench --list)", optarg);
			if (o->n_wl < ELEMENTSOF(o->wl_names))
				o->wl_names[o->n_wl++] = optarg;
			break;
		}
		case 'n':
		case 'W': {
			long v = strtol(optarg, &end, 10);
			if (*end || v < (c == 'n' ? 1 : 0) || v > 10000)
				return cli_spec_usage_error(ctx, &cli_spec_bench, "invalid count '%s'", optarg);
			*(c == 'n' ? &b->runs : &b->warmup) = (int)v;
			break;
		}
		case 's':
			if (!strcmp(optarg, "tiny"))
				b->scale = &bench_scale_tiny;
			else if (!strcmp(optarg, "small"))
				b->scale = &bench_scale_small;
			else if (!strcmp(optarg, "full"))
				b->scale = &bench_scale_full;
			else
				return cli_spec_usage_error(ctx, &cli_spec_bench, "unknown scale '%s'", optarg);
			break;
		case 'S':
			b->seed = strtoull(optarg, &end, 10);
			if (*end)
				return cli_spec_usage_error(ctx, &cli_spec_bench, "invalid seed '%s'", optarg);
			break;
		case 'D':
			o->workdir = optarg;
			break;
		case 'f': {
			const char *colon = strchr(optarg, ':');
			size_t tl = colon ? (size_t)(colon - optarg) : strlen(optarg);
			snprintf(o->fs_type, sizeof(o->fs_type), "%.*s", (int)tl, optarg);
			if (tl >= sizeof(o->fs_type) || !snap_scratch_fs_known(o->fs_type))
				return cli_spec_usage_error(ctx, &cli_spec_bench,
							    "unknown filesystem '%.*s' in --fs (ext4, xfs or btrfs)",
							    (int)tl, optarg);
			o->fs_size = BENCH_FS_SIZE;
			if (colon && (snap_parse_size(colon + 1, &o->fs_size) < 0 || o->fs_size < BENCH_FS_MIN))
				return cli_spec_usage_error(ctx, &cli_spec_bench,
							    "invalid size '%s' in --fs (at least 1G, e.g. 30G)", colon + 1);
			break;
		}
		case 'j':
			o->json = optarg;
			break;
		case 'g':
			o->svg = optarg;
			break;
		case 'p':
			o->png = optarg;
			break;
		case 'P':
			o->peers = true;
			break;
		case 'F':
			o->from_json = optarg;
			break;
		case 'C':
			o->curves = optarg;
			break;
		case 'l':
			for (size_t i = 0; i < ELEMENTSOF(all_workloads); i++)
				printf("%-14s %s\n", all_workloads[i]->name, all_workloads[i]->description);
			return EXIT_SUCCESS;
		}
	}
	return c < 0 ? cli_flags_exit(c) : -1;
}

/* snapctl-bench runs the main snapctl for `run`, `import-rootfs` and
 * `export`: the one that exec'd it, else the one beside it. */
static void find_snapctl(struct bench_ctx *b)
{
	const char *exe = getenv("SNAPCTL_EXE");
	if (exe && *exe) {
		b->self_exe = strdup(exe);
		return;
	}
	_cleanup_free_ char *me = realpath("/proc/self/exe", NULL);
	char *slash = me ? strrchr(me, '/') : NULL;
	if (slash) {
		*slash = '\0';
		if (asprintf(&b->self_exe, "%s/snapctl", me) < 0)
			b->self_exe = NULL;
	}
}

/* b->work: a fresh directory under `workdir` (which exists) or /var/tmp;
 * 0 or -1 with errno set. */
static int make_work_dir(struct bench_ctx *b, const char *workdir)
{
	if (workdir) {
		char tmpl[4096];
		snprintf(tmpl, sizeof(tmpl), "%s/snapctl-bench.XXXXXX", workdir);
		b->work = mkdtemp(tmpl) ? strdup(tmpl) : NULL;
	} else {
		char tmpl[] = "/var/tmp/snapctl-bench.XXXXXX";
		b->work = mkdtemp(tmpl) ? strdup(tmpl) : NULL;
	}
	return b->work ? 0 : -1;
}

/* --fs: the filesystem made for the run, mounted over the work directory
 * (so everything below it is on it), its image unlinked at once (the loop
 * device holds it until the mount goes, with the run or its namespace). */
static int make_run_fs(struct bench_ctx *b, const struct bench_opts *o, struct snap_error *err)
{
	_cleanup_free_ char *image = NULL;
	if (asprintf(&image, "%s/fs.img", b->work) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");
	/* The directory itself, not its path: once mounted over, the path
	 * leads into the new filesystem. */
	_cleanup_close_ int dfd = open(b->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(err, negative_errno(), "bench: open %s: %s", b->work, strerror(errno));
	int r = snap_scratch_fs_make(o->fs_type, image, (int64_t)o->fs_size, b->work, &b->fs.direct_io, err);
	/* Hidden below the mount, or left by a failure. */
	unlinkat(dfd, "fs.img", 0);
	if (r < 0)
		return snap_error_prefix(err, "bench: make the --fs filesystem");
	b->fs.type = o->fs_type;
	b->fs.size = o->fs_size;
	if (b->cli->verbosity >= 0)
		fprintf(stderr, "bench: the roots are on a fresh %s in %s (%.0f GiB sparse, loop device %s)\n",
			b->fs.type, b->work, (double)b->fs.size / (1ULL << 30),
			b->fs.direct_io ? "with direct I/O" : "buffered: the host refused direct I/O");
	return 0;
}

/* Whether a selected workload also runs on the bare backing filesystem. */
static bool wants_reference(const struct bench_opts *o)
{
	for (size_t i = 0; i < ELEMENTSOF(all_workloads); i++) {
		bool want = o->n_wl == 0;
		for (size_t j = 0; j < o->n_wl; j++)
			want |= strcmp(o->wl_names[j], all_workloads[i]->name) == 0;
		if (want && all_workloads[i]->reference)
			return true;
	}
	return false;
}

/* A --drivers list naming a driver nobody provides is a usage error, found
 * before any work: -1 to go on, or the exit code. */
static int check_drivers(struct cli_ctx *ctx, const char *list)
{
	struct snap_core_opts opts = { .plugin_dir = ctx->plugin_dir };
	_cleanup_free_ char *copy = strdup(list);
	if (!copy)
		return cli_failf(ctx, "bench: out of memory");
	for (char *save = NULL, *d = strtok_r(copy, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		char names[512] = "";
		if (!snap_core_driver_known(&opts, d, names, sizeof(names)))
			return cli_spec_usage_error(ctx, &cli_spec_bench, "unknown driver '%s' in --drivers (available: %s)",
						    d, names[0] ? names : "none");
	}
	return -1;
}

/* One environment per listed driver (a driver that cannot open is
 * skipped with a notice), the backing filesystem when a workload wants
 * it, then the peers.  `list` is kept by the envs. */
static int open_drivers(struct bench_ctx *b, char *list, bool reference, bool peers)
{
	size_t cap = 16;
	b->envs = calloc(cap, sizeof(*b->envs));
	for (char *save = NULL, *d = strtok_r(list, ",", &save); d && b->n_envs < cap; d = strtok_r(NULL, ",", &save)) {
		struct bench_env *e = &b->envs[b->n_envs++];
		e->driver = d;
		if (asprintf(&e->root, "%s/%s", b->work, d) < 0 || asprintf(&e->mnt, "%s/%s-mnt", b->work, d) < 0)
			return -ENOMEM;
		if (env_open(b, e) < 0)
			cli_notice(b->cli, "bench: skipping driver %s: %s", d, e->skip_reason);
	}
	if (reference && b->n_envs < cap) {
		struct bench_env *e = &b->envs[b->n_envs++];
		e->driver = "backing-fs";
		e->reference = true;
		if (asprintf(&e->root, "%s/backing-fs", b->work) < 0 || !(e->mnt = strdup(e->root)))
			return -ENOMEM;
	}
	if (peers)
		bench_peers_add(b, cap);
	return 0;
}

/* The selected workloads (all without --workload), in the table's order. */
static void run_selected(struct bench_ctx *b, const struct bench_opts *o)
{
	for (size_t i = 0; i < ELEMENTSOF(all_workloads) && !interrupted; i++) {
		bool want = o->n_wl == 0;
		for (size_t j = 0; j < o->n_wl; j++)
			want |= strcmp(o->wl_names[j], all_workloads[i]->name) == 0;
		if (want)
			run_workload(b, all_workloads[i]);
	}
}

/* The table on stdout, then the files asked for; returns the exit code. */
static int report(struct bench_ctx *b, const struct bench_opts *o)
{
	int ret = EXIT_SUCCESS;
	if (interrupted) {
		cli_notice(b->cli, "bench: interrupted; cleaning up");
		ret = 130;
	}
	sort_results(b);
	bench_print_table(b, stdout);
	struct snap_error err = { 0 };
	if (o->json && bench_write_json(b, o->json, &err) < 0)
		ret = cli_fail(b->cli, &err);
	if (o->svg && bench_write_chart(b, o->svg, false, &err) < 0)
		ret = cli_fail(b->cli, &err);
	if (o->png && bench_write_chart(b, o->png, true, &err) < 0)
		ret = cli_fail(b->cli, &err);
	if (o->curves && bench_write_curve_charts(b, o->curves, &err) < 0)
		ret = cli_fail(b->cli, &err);
	return ret;
}

/* Peers stopped, roots closed, everything mounted below the work
 * directory unmounted and the directory removed. */
static void teardown(struct bench_ctx *b)
{
	bench_peers_stop(b);
	for (size_t i = 0; i < b->n_envs; i++) {
		env_close(&b->envs[i]);
		free(b->envs[i].root);
		free(b->envs[i].mnt);
	}
	bench_unmount_below(b->work);
	int wfd = open(b->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (wfd >= 0) {
		snap_rm_children_at(wfd);
		close(wfd);
	}
	rmdir(b->work);
	free_results(b);
	free(b->envs);
	free(b->work);
	free(b->self_exe);
}

int cmd_bench(struct cli_ctx *ctx, int argc, char **argv)
{
	struct bench_opts o = { .drivers = "overlay,btrfs,vfs" };
	struct bench_ctx b = { .cli = ctx, .scale = &bench_scale_small, .seed = 42, .runs = 5, .warmup = 1,
			       .interrupted = &interrupted, .load_start = -1, .load_end = -1 };
	int r = parse_options(ctx, &b, &o, argc, argv);
	if (r >= 0)
		return r;
	if (o.curves && snap_mkdir_p(o.curves, 0755) < 0)
		return cli_failf(ctx, "bench: create %s: %m", o.curves);
	if (o.from_json)
		return replot(&b, o.from_json, o.json, o.svg, o.png, o.curves);
	r = check_drivers(ctx, o.drivers);
	if (r >= 0)
		return r;

	/* A private mount namespace: whatever the bench mounts disappears with
	 * the process, even when it is killed. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cli_failf(ctx, "bench: private mount namespace: %m");
	find_snapctl(&b);
	if (o.workdir && snap_mkdir_p(o.workdir, 0700) < 0)
		return cli_failf(ctx, "bench: create %s: %m", o.workdir);
	if (make_work_dir(&b, o.workdir) < 0)
		return cli_failf(ctx, "bench: create work directory: %m");
	if (o.fs_type[0]) {
		struct snap_error err = { 0 };
		if (make_run_fs(&b, &o, &err) < 0) {
			rmdir(b.work);
			return cli_fail(ctx, &err);
		}
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	_cleanup_free_ char *list = strdup(o.drivers);
	if (open_drivers(&b, list, wants_reference(&o), o.peers) < 0)
		return cli_failf(ctx, "bench: out of memory");
	b.load_start = bench_loadavg();
	run_selected(&b, &o);
	b.load_end = bench_loadavg();
	int ret = report(&b, &o);
	teardown(&b);
	return ret;
}
