/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The conformance suite: containerd's snapshotter test suite
 * (snapshots/testsuite) rewritten against core/core.h, run unchanged
 * against every driver.  Each case gets a fresh temporary directory with
 * root/ (the snapshotter root) and work/ (mount points, flat trees); all
 * mounts are real and live in the suite's own mount namespace.
 */
#ifndef SNAP_TEST_CONFORMANCE_H
#define SNAP_TEST_CONFORMANCE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "applier.h"
#include "core.h"

/* The driver under test and where its plugin lives (NULL: built-in). */
extern const char *conf_driver;
extern const char *conf_plugin_dir;

struct conf {
	char *tmp;  /* the case's temporary directory */
	char *root; /* tmp/root */
	char *work; /* tmp/work */
	struct snap_core *core;
	unsigned seq; /* for unique names */
};

int conf_setup(void **state);
int conf_teardown(void **state);

/* Open another core on the case's root (the case closes it). */
struct snap_core *conf_open_core(struct conf *f);

/* Fail the case with the error's message when r < 0. */
#define CONF_OK(expr, err)                                                             \
	do {                                                                           \
		int _r = (expr);                                                       \
		if (_r < 0)                                                            \
			fail_msg("%s: %s (%d)", #expr, (err).message, _r);             \
	} while (0)

/* The label containerd's suite puts on every snapshot ("opt"). */
const struct snap_labels *conf_opt(void);

/* Operations that must succeed; the error message is shown otherwise. */
void conf_prepare(struct conf *f, const char *key, const char *parent);
void conf_view(struct conf *f, const char *key, const char *parent);
void conf_commit(struct conf *f, const char *name, const char *key);
void conf_remove(struct conf *f, const char *key);
void conf_stat(struct conf *f, const char *key, struct snap_info *ret);

/* A new directory work/<name> (0755); returns its path, caller frees. */
char *conf_mkdir(struct conf *f, const char *name);
/* Mount active or view `key` on a new directory work/<key>-mnt-N; returns
 * the target, caller frees (after conf_umount). */
char *conf_mount(struct conf *f, const char *key);
void conf_umount(const char *target);
/* Prepare `key` on `parent` and mount it (snapshotterPrepareMount). */
char *conf_prepare_mount(struct conf *f, const char *key, const char *parent);

/* checkSnapshots: build a chain, one committed snapshot per applier, and
 * after each compare a view of it with a flat directory the same appliers
 * were applied to. */
void conf_check_snapshots(struct conf *f, const struct applier *as, size_t n);

/* Collect the keys a walk with these filters returns, sorted, joined
 * by ' '. */
char *conf_walk_keys(struct conf *f, const char *const *filters, size_t n);

/* Realtime clock in ns, as the core's created/updated times. */
int64_t conf_now_ns(void);

/* The cases, by file. */
void test_basic(void **state);
void test_stat_active(void **state);
void test_stat_committed(void **state);
void test_transitivity(void **state);
void test_prepare_view_failures(void **state);
void test_update(void **state);
void test_remove(void **state);
void test_walk(void **state);
void test_stat_in_walk(void **state);
void test_close_twice(void **state);
void test_usage(void **state);

void test_layer_file_update(void **state);
void test_remove_directory_in_lower_layer(void **state);
void test_chown(void **state);
void test_directory_permission_on_commit(void **state);
void test_remove_intermediate_snapshot(void **state);
void test_deleted_files_in_child(void **state);
void test_move_file_from_lower_layer(void **state);
void test_rename(void **state);
void test_view_readonly(void **state);
void test_root_permission(void **state);
void test_128_layers_mount(void **state);

#endif
