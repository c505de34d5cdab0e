/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-conformance --driver NAME [--plugin-dir DIR] [--only GLOB]
 * (or SNAPCTL_TEST_DRIVER / SNAPCTL_TEST_PLUGIN_DIR in the environment).
 *
 * Exit 77 (skipped) when not root or when the driver's probe says it cannot
 * run here, with the reason on stderr; a driver that is not registered at
 * all is a failure, not a skip.
 */
#include "conformance.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "plugin-api/loader.h"
#include "tests/vfs/tree-util.h"

const char *conf_driver = "vfs";
const char *conf_plugin_dir = NULL;

int64_t conf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct snap_core *conf_open_core(struct conf *f)
{
	struct snap_core_opts opts = {
		.root = f->root,
		.driver = conf_driver,
		.plugin_dir = conf_plugin_dir,
	};
	struct snap_error err = { 0 };
	struct snap_core *core = NULL;
	CONF_OK(snap_core_open(&opts, &core, &err), err);
	return core;
}

int conf_setup(void **state)
{
	struct conf *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->tmp = tree_mkdtemp();
	assert_true(asprintf(&f->root, "%s/root", f->tmp) > 0);
	assert_true(asprintf(&f->work, "%s/work", f->tmp) > 0);
	assert_int_equal(mkdir(f->root, 0700), 0);
	assert_int_equal(mkdir(f->work, 0755), 0);
	f->core = conf_open_core(f);
	*state = f;
	return 0;
}

/* Unmount whatever a failed case left mounted under its directory, the
 * most recent mounts first (they may stack). */
static void umount_all_under(const char *dir)
{
	for (int round = 0; round < 256; round++) {
		_cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
		if (!mi)
			return;
		char line[8192], last[PATH_MAX] = "";
		size_t dl = strlen(dir);
		while (fgets(line, sizeof(line), mi)) {
			char target[PATH_MAX];
			/* id parent major:minor root target ... */
			if (sscanf(line, "%*s %*s %*s %*s %4095s", target) != 1)
				continue;
			if (strncmp(target, dir, dl) == 0 && target[dl] == '/')
				snprintf(last, sizeof(last), "%s", target);
		}
		if (!last[0] || umount2(last, MNT_DETACH) < 0)
			return;
	}
}

int conf_teardown(void **state)
{
	struct conf *f = *state;
	if (!f)
		return 0;
	umount_all_under(f->tmp);
	snap_core_close(f->core);
	tree_rm_rf(f->tmp);
	free(f->tmp);
	free(f->root);
	free(f->work);
	free(f);
	return 0;
}

const struct snap_labels *conf_opt(void)
{
	static struct snap_label l = { "containerd.io/gc.root", "2026-01-01T00:00:00Z" };
	static const struct snap_labels labels = { &l, 1 };
	return &labels;
}

void conf_prepare(struct conf *f, const char *key, const char *parent)
{
	struct snap_error err = { 0 };
	struct snap_mounts m = { 0 };
	CONF_OK(snap_prepare(f->core, key, parent, conf_opt(), &m, &err), err);
	assert_true(m.n >= 1);
	snap_mounts_done(&m);
}

void conf_view(struct conf *f, const char *key, const char *parent)
{
	struct snap_error err = { 0 };
	struct snap_mounts m = { 0 };
	CONF_OK(snap_view(f->core, key, parent, conf_opt(), &m, &err), err);
	assert_true(m.n >= 1);
	snap_mounts_done(&m);
}

void conf_commit(struct conf *f, const char *name, const char *key)
{
	struct snap_error err = { 0 };
	CONF_OK(snap_commit(f->core, name, key, conf_opt(), &err), err);
}

void conf_remove(struct conf *f, const char *key)
{
	struct snap_error err = { 0 };
	CONF_OK(snap_remove(f->core, key, &err), err);
}

void conf_stat(struct conf *f, const char *key, struct snap_info *ret)
{
	struct snap_error err = { 0 };
	CONF_OK(snap_stat(f->core, key, ret, &err), err);
}

char *conf_mkdir(struct conf *f, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", f->work, name) > 0);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
	return p;
}

char *conf_mount(struct conf *f, const char *key)
{
	char name[256];
	snprintf(name, sizeof(name), "%s-mnt-%u", key, ++f->seq);
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '_';
	char *target = conf_mkdir(f, name);
	struct snap_error err = { 0 };
	CONF_OK(snap_mount_at(f->core, key, target, 0, &err), err);
	return target;
}

void conf_umount(const char *target)
{
	struct snap_error err = { 0 };
	CONF_OK(snap_unmount_at(target, &err), err);
}

char *conf_prepare_mount(struct conf *f, const char *key, const char *parent)
{
	conf_prepare(f, key, parent);
	return conf_mount(f, key);
}

/* createSnapshot: prepare on parent, apply through a mount, commit. */
static char *create_snapshot(struct conf *f, const char *parent, const struct applier *a)
{
	char *name = NULL, *prepare = NULL;
	assert_true(asprintf(&name, "layer-%u", ++f->seq) > 0);
	assert_true(asprintf(&prepare, "%s-prepare", name) > 0);
	conf_prepare(f, prepare, parent);
	_cleanup_free_ char *target = conf_mount(f, prepare);
	applier_apply_path(a, target);
	conf_umount(target);
	conf_commit(f, name, prepare);
	free(prepare);
	return name;
}

/* checkSnapshot: a view of `name` mounted equals the flat tree. */
static void check_snapshot(struct conf *f, const char *name, int flatfd)
{
	_cleanup_free_ char *view = NULL;
	assert_true(asprintf(&view, "%s-view", name) > 0);
	conf_view(f, view, name);
	_cleanup_free_ char *target = conf_mount(f, view);
	{
		_cleanup_close_ int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(fd >= 0);
		tree_assert_same(flatfd, fd, 0);
	}
	conf_umount(target);
	conf_remove(f, view);
}

void conf_check_snapshots(struct conf *f, const struct applier *as, size_t n)
{
	char flat_name[32];
	snprintf(flat_name, sizeof(flat_name), "flat-%u", ++f->seq);
	_cleanup_free_ char *flat = conf_mkdir(f, flat_name);
	_cleanup_close_ int flatfd = open(flat, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(flatfd >= 0);
	_cleanup_free_ char *parent = NULL;
	for (size_t i = 0; i < n; i++) {
		char *s = create_snapshot(f, parent, &as[i]);
		applier_apply(&as[i], flatfd);
		check_snapshot(f, s, flatfd);
		free(parent);
		parent = s;
	}
}

struct walk_acc {
	char **keys;
	size_t n;
};

static int collect_key(const struct snap_info *info, void *userdata)
{
	struct walk_acc *a = userdata;
	char **nk = realloc(a->keys, (a->n + 1) * sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	a->keys = nk;
	a->keys[a->n] = strdup(info->key);
	if (!a->keys[a->n])
		return -ENOMEM;
	a->n++;
	return 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

char *conf_walk_keys(struct conf *f, const char *const *filters, size_t n)
{
	struct walk_acc acc = { 0 };
	struct snap_error err = { 0 };
	CONF_OK(snap_walk(f->core, filters, n, collect_key, &acc, &err), err);
	if (acc.n)
		qsort(acc.keys, acc.n, sizeof(*acc.keys), cmp_str);
	size_t len = 1;
	for (size_t i = 0; i < acc.n; i++)
		len += strlen(acc.keys[i]) + 1;
	char *out = calloc(1, len);
	assert_non_null(out);
	for (size_t i = 0; i < acc.n; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, acc.keys[i]);
		free(acc.keys[i]);
	}
	free(acc.keys);
	return out;
}

/* ---- main ---------------------------------------------------------------- */

/* 0: the driver can run here; 77: skip (reason printed); 1: failure. */
static int check_driver(void)
{
	_cleanup_(snap_loader_freep) struct snap_loader *l = NULL;
	struct snap_error err = { 0 };
	if (snap_loader_new(&l) < 0 || snap_loader_add_builtins(l) < 0) {
		fprintf(stderr, "cannot set up the driver loader\n");
		return 1;
	}
	if (conf_plugin_dir && snap_loader_load_dir(l, conf_plugin_dir, false, &err) < 0) {
		fprintf(stderr, "load plugins from %s: %s\n", conf_plugin_dir, err.message);
		return 1;
	}
	const struct snap_driver *d = snap_loader_find(l, conf_driver);
	if (!d) {
		char names[512];
		snap_loader_names(l, names, sizeof(names));
		fprintf(stderr, "driver '%s' is not registered (drivers: %s)\n", conf_driver, names);
		for (size_t i = 0; i < snap_loader_n_errors(l); i++)
			fprintf(stderr, "  %s\n", snap_loader_error(l, i));
		return 1;
	}
	_cleanup_free_ char *tmp = tree_mkdtemp();
	int r = d->probe(tmp, &err);
	tree_rm_rf(tmp);
	if (r < 0) {
		fprintf(stderr, "skip: driver '%s' cannot run here: %s\n", conf_driver, err.message);
		return 77;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	const char *e = getenv("SNAPCTL_TEST_DRIVER");
	if (e && *e)
		conf_driver = e;
	e = getenv("SNAPCTL_TEST_PLUGIN_DIR");
	if (e && *e)
		conf_plugin_dir = e;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--driver") == 0 && i + 1 < argc)
			conf_driver = argv[++i];
		else if (strcmp(argv[i], "--plugin-dir") == 0 && i + 1 < argc)
			conf_plugin_dir = argv[++i];
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: %s --driver NAME [--plugin-dir DIR] [--only GLOB]\n", argv[0]);
			return 2;
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, "skip: the conformance suite mounts snapshots and needs root\n");
		return 77;
	}
	/* Our own mount namespace: nothing mounted here is seen outside,
	 * even when the suite is not run under unshare -m. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "skip: cannot make a private mount namespace: %s\n", strerror(errno));
		return 77;
	}
	/* As containerd's suite: modes in the appliers are taken literally. */
	umask(0);
	int r = check_driver();
	if (r != 0)
		return r;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_stat_active, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_stat_committed, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_transitivity, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_prepare_view_failures, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_update, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_remove, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_walk, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_stat_in_walk, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_usage, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_layer_file_update, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_remove_directory_in_lower_layer, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_chown, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_directory_permission_on_commit, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_remove_intermediate_snapshot, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_files_in_child, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_move_file_from_lower_layer, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_rename, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_view_readonly, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_close_twice, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_root_permission, conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_128_layers_mount, conf_setup, conf_teardown),
	};
	if (only)
		cmocka_set_test_filter(only);
	char group[128];
	snprintf(group, sizeof(group), "conformance-%s", conf_driver);
	return cmocka_run_group_tests_name(group, tests, NULL, NULL);
}
