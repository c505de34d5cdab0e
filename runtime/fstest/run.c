/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One configuration, in its own process: a snapctl root on the backing
 * filesystem, a lower layer holding every scenario's setup (each in its own
 * directory), an active snapshot above it with the feature set's labels in
 * which every scenario's steps run, then the persistence phases:
 *
 *   live     the tree right after the steps, still mounted
 *   remount  unmounted and mounted again
 *   store    (metacopy overlays) which files of the upper dir hold data
 *   view     committed, and a view of the commit mounted
 *   diff     the entries of the committed layer (canonical diff tar)
 *
 * Observations go to the configuration's result file; lines of scenario
 * "#" carry the status ("#\tskip\tREASON", "#\tfail\tREASON") and facts
 * about the configuration ("#\teffective\tOPTIONS").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if FSTEST_HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "core.h"
#include "fstest.h"
#include "layer/layer.h"
#include "util/fs-util.h"
#include "util/macro.h"

struct ctx {
	struct fst_run *run;
	struct fst_config *c;
	struct snap_core *core;
	struct fst_obs_list obs;
	char *mnt;   /* ROOT.mnt */
	char *lower, *upper, *view;
};

/* The legacy mount path: fsopen and friends fail with ENOSYS, as on a
 * kernel before 5.2; the overlay driver then takes mount(2). */
static int force_legacy_mount(char *why, size_t len)
{
#if FSTEST_HAVE_SECCOMP
	scmp_filter_ctx sc = seccomp_init(SCMP_ACT_ALLOW);
	if (!sc) {
		snprintf(why, len, "seccomp_init failed");
		return -ENOMEM;
	}
	static const char *const calls[] = { "fsopen", "fsconfig", "fsmount", "move_mount", "open_tree",
					     "mount_setattr", "fspick" };
	int r = 0;
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(calls); i++) {
		int nr = seccomp_syscall_resolve_name(calls[i]);
		if (nr != __NR_SCMP_ERROR)
			r = seccomp_rule_add(sc, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	}
	if (r == 0)
		r = seccomp_load(sc);
	seccomp_release(sc);
	if (r < 0)
		snprintf(why, len, "seccomp filter: %s", strerror(-r));
	return r;
#else
	snprintf(why, len, "snapctl-fstest was built without libseccomp, which forces the mount(2) path");
	return -EOPNOTSUPP;
#endif
}

static void notice_ignore(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

static int status(struct ctx *x, const char *what, const char *fmt, ...) SNAP_PRINTF(3, 4);
static int status(struct ctx *x, const char *what, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	fst_obs_add(&x->obs, "#", what, msg);
	return strcmp(what, "skip") == 0 ? 77 : 1;
}

/* The superblock options of the mount on `target`, from mountinfo. */
static void effective_options(const char *target, char *buf, size_t len)
{
	buf[0] = '\0';
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 || strcmp(mp, target) != 0)
			continue;
		const char *sep = strstr(line, " - ");
		char fstype[64], src[4096], opts[4096];
		if (sep && sscanf(sep + 3, "%63s %4095s %4095s", fstype, src, opts) == 3) {
			/* Directories say nothing about features: drop them. */
			char out[4096] = "";
			for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
				if (!strncmp(o, "lowerdir", 8) || !strncmp(o, "upperdir=", 9) || !strncmp(o, "workdir=", 8) ||
				    !strncmp(o, "datadir", 7))
					continue;
				size_t n = strlen(out);
				snprintf(out + n, sizeof(out) - n, "%s%s", n ? "," : "", o);
			}
			snprintf(buf, len, "%s %s", fstype, out);
		}
	}
}

static int open_sc(const char *mnt, const struct fst_scenario *s)
{
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s/%s", mnt, s->name) < 0)
		return -ENOMEM;
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

static int setup_lower(struct ctx *x, struct snap_error *err)
{
	int r = snap_prepare(x->core, "lower", NULL, NULL, NULL, err);
	if (r == 0)
		r = snap_mount_at(x->core, "lower", x->lower, 0, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < x->run->n_sc; i++) {
		const struct fst_scenario *s = x->run->sc[i];
		_cleanup_free_ char *dir = NULL;
		if (asprintf(&dir, "%s/%s", x->lower, s->name) < 0)
			return snap_error_set(err, -ENOMEM, "out of memory");
		r = snap_mkdir_p(dir, 0755);
		_cleanup_close_ int fd = r < 0 ? r : open_sc(x->lower, s);
		if (fd < 0)
			return snap_error_set(err, fd, "setup of %s: %s", s->name, strerror(-fd));
		_cleanup_(fst_step_state_freep) struct fst_step_state *st = fst_step_state_new();
		if (!st)
			return snap_error_set(err, -ENOMEM, "out of memory");
		for (const struct fst_op *op = s->setup; op && op->op != FST_END; op++) {
			char res[2048], what[512];
			fst_op_run(st, fd, op, res, sizeof(res));
			if (strncmp(res, "ret=0", 5) != 0 || (res[5] != '\0' && res[5] != ' ')) {
				fst_op_describe(op, what, sizeof(what));
				return snap_error_set(err, -EIO, "setup of %s: %s: %s", s->name, what, res);
			}
		}
	}
	r = snap_unmount_at(x->lower, err);
	if (r == 0)
		r = snap_commit(x->core, "lower-c", "lower", NULL, err);
	return r;
}

static int run_steps(struct ctx *x)
{
	for (size_t i = 0; i < x->run->n_sc; i++) {
		const struct fst_scenario *s = x->run->sc[i];
		_cleanup_close_ int fd = open_sc(x->upper, s);
		if (fd < 0)
			return fst_obs_add(&x->obs, s->name, "step 00 open scenario dir", "ret=missing");
		_cleanup_(fst_step_state_freep) struct fst_step_state *st = fst_step_state_new();
		if (!st)
			return -ENOMEM;
		size_t k = 0;
		for (const struct fst_op *op = s->steps; op && op->op != FST_END; op++) {
			char res[4096], what[512], key[600];
			fst_op_run(st, fd, op, res, sizeof(res));
			fst_op_describe(op, what, sizeof(what));
			snprintf(key, sizeof(key), "step %02zu %s", ++k, what);
			int r = fst_obs_add(&x->obs, s->name, key, res);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int observe_all(struct ctx *x, const char *mnt, const char *phase)
{
	for (size_t i = 0; i < x->run->n_sc; i++) {
		const struct fst_scenario *s = x->run->sc[i];
		_cleanup_close_ int fd = open_sc(mnt, s);
		int r = fd < 0 ? fst_obs_add(&x->obs, s->name, phase, "missing")
			       : fst_observe_tree(&x->obs, s->name, phase, fd);
		if (r < 0)
			return r;
	}
	return 0;
}

/* metacopy: the upper dir of each metadata-only scenario. */
static int observe_store(struct ctx *x, struct snap_error *err)
{
	_cleanup_close_ int tree = -EBADF;
	int r = snap_core_open_tree(x->core, "upper", &tree, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < x->run->n_sc; i++) {
		const struct fst_scenario *s = x->run->sc[i];
		if (!s->meta_only)
			continue;
		_cleanup_close_ int fd = openat(tree, s->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && (r = fst_observe_store(&x->obs, s->name, fd)) < 0)
			return snap_error_set(err, r, "store of %s: %s", s->name, strerror(-r));
	}
	return 0;
}

static int diff_phase(struct ctx *x, struct snap_error *err)
{
	_cleanup_close_ int fd = memfd_create("fstest-diff", MFD_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "memfd: %s", strerror(errno));
	struct snap_diff_opts o = { .compression = SNAP_COMPRESS_NONE };
	struct snap_layer_digests dg;
	int r = snap_layer_diff_fd(x->core, "upper-c", fd, &o, &dg, err);
	if (r < 0)
		return r;
	fst_obs_add(&x->obs, "#", "diff_id", dg.diff_id);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return snap_error_set(err, negative_errno(), "memfd: %s", strerror(errno));
	return fst_observe_diff(&x->obs, x->run->sc, x->run->n_sc, fd, err);
}

static int run_config(struct ctx *x)
{
	struct fst_config *c = x->c;
	struct snap_error err = { 0 };
	bool overlay = strcmp(c->driver, "overlay") == 0;

	if (c->api == FST_API_LEGACY) {
		char why[256];
		if (force_legacy_mount(why, sizeof(why)) < 0)
			return status(x, "skip", "mount(2) path: %s", why);
	}
	if (asprintf(&x->mnt, "%s.mnt", c->root) < 0 || asprintf(&x->lower, "%s/l", x->mnt) < 0 ||
	    asprintf(&x->upper, "%s/u", x->mnt) < 0 || asprintf(&x->view, "%s/v", x->mnt) < 0)
		return status(x, "fail", "out of memory");
	if (mkdir(x->mnt, 0755) < 0 || mkdir(x->lower, 0755) < 0 || mkdir(x->upper, 0755) < 0 ||
	    mkdir(x->view, 0755) < 0)
		return status(x, "fail", "mkdir %s: %s", x->mnt, strerror(errno));

	struct snap_core_opts co = { .root = c->root, .driver = c->driver, .plugin_dir = x->run->opt.plugin_dir,
				     .btrfs_size = "2G", .notice = notice_ignore };
	int r = snap_core_open(&co, &x->core, &err);
	if (r < 0)
		return status(x, r == -ENODEV || r == -EOPNOTSUPP || r == -EPERM ? "skip" : "fail", "open root: %s",
			      err.message);
	r = setup_lower(x, &err);
	if (r < 0)
		return status(x, "fail", "lower layer: %s", err.message);

	_cleanup_(snap_labels_done) struct snap_labels labels = { 0 };
	for (size_t i = 0; c->fset && c->fset->labels[i]; i++)
		if (snap_labels_parse_kv(&labels, c->fset->labels[i]) < 0)
			return status(x, "fail", "label %s: invalid", c->fset->labels[i]);
	/* A feature set the kernel does not have, or refuses as a whole, is
	 * skipped with the kernel's reason; the driver's defaults must work. */
	const char *refused = overlay && c->fset && strcmp(c->fset->name, "default") != 0 ? "skip" : "fail";
	r = snap_prepare(x->core, "upper", "lower-c", &labels, NULL, &err);
	if (r < 0)
		return status(x, refused, "prepare: %s", err.message);
	r = snap_mount_at(x->core, "upper", x->upper, 0, &err);
	if (r < 0)
		return status(x, refused, "mount: %s", err.message);
	char eff[1024];
	effective_options(x->upper, eff, sizeof(eff));
	fst_obs_add(&x->obs, "#", "effective", eff);

	r = run_steps(x);
	if (r == 0)
		r = observe_all(x, x->upper, "live");
	if (r < 0)
		return status(x, "fail", "steps: %s", strerror(-r));
	r = snap_unmount_at(x->upper, &err);
	if (r == 0)
		r = snap_mount_at(x->core, "upper", x->upper, 0, &err);
	if (r < 0)
		return status(x, "fail", "remount: %s", err.message);
	r = observe_all(x, x->upper, "remount");
	if (r == 0)
		r = snap_unmount_at(x->upper, &err);
	if (r < 0)
		return status(x, "fail", "remount: %s", err.message[0] ? err.message : strerror(-r));
	if (overlay && strstr(eff, "metacopy=on") && (r = observe_store(x, &err)) < 0)
		return status(x, "fail", "store: %s", err.message);

	r = snap_commit(x->core, "upper-c", "upper", NULL, &err);
	if (r == 0)
		r = snap_view(x->core, "view", "upper-c", NULL, NULL, &err);
	if (r == 0)
		r = snap_mount_at(x->core, "view", x->view, SNAP_MOUNT_RDONLY, &err);
	if (r < 0)
		return status(x, "fail", "commit and view: %s", err.message);
	r = observe_all(x, x->view, "view");
	if (r == 0)
		r = snap_unmount_at(x->view, &err);
	if (r < 0)
		return status(x, "fail", "view: %s", err.message[0] ? err.message : strerror(-r));
	r = diff_phase(x, &err);
	if (r < 0)
		return status(x, "fail", "diff: %s", err.message);
	return 0;
}

int fst_config_run(struct fst_run *run, struct fst_config *c)
{
	struct ctx x = { .run = run, .c = c };
	int code = run_config(&x);
	if (!run->opt.keep || code == 0) {
		/* Leave nothing mounted for the next configuration; with --keep
		 * a configuration that failed stays for inspection. */
		if (x.mnt)
			fst_umount_below(x.mnt);
		fst_umount_below(c->root);
	}
	snap_core_close(x.core);
	_cleanup_close_ int fd = open(c->obs_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fst_obs_write(&x.obs, fd) < 0)
		code = 1;
	fst_obs_list_done(&x.obs);
	free(x.mnt);
	free(x.lower);
	free(x.upper);
	free(x.view);
	return code;
}
