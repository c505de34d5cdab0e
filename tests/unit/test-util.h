/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the core unit tests: a fresh root per test, opened on
 * the real vfs driver. */
#ifndef SNAP_TEST_UNIT_UTIL_H
#define SNAP_TEST_UNIT_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "util/macro.h"

struct ut_root {
	char *root;          /* temporary directory, removed at teardown */
	struct snap_core *core;
	char notices[8][SNAP_ERROR_MSG_MAX];
	size_t n_notices;
};

/* cmocka setup/teardown: a temp dir and a core opened on it with vfs. */
int ut_setup(void **state);
int ut_setup_noopen(void **state);
int ut_teardown(void **state);

/* Open (or reopen) r->root with `driver`; returns the core's result. */
int ut_open(struct ut_root *r, const char *driver, unsigned flags, struct snap_error *err);
void ut_close(struct ut_root *r);

/* Assertions that print the error message on failure. */
#define ut_ok(expr, err)                                                               \
	do {                                                                           \
		int _r = (expr);                                                       \
		if (_r < 0)                                                            \
			fail_msg("%s: %d (%s)", #expr, _r, (err)->message);            \
	} while (0)

#define ut_fails(expr, want, err)                                                      \
	do {                                                                           \
		snap_error_clear(err);                                                 \
		int _r = (expr);                                                       \
		if (_r != (want))                                                      \
			fail_msg("%s: got %d (%s), want %d", #expr, _r, (err)->message, (want)); \
		assert_int_equal((err)->code, (want));                                 \
		assert_true((err)->message[0] != '\0');                                \
	} while (0)

/* Labels from "K=V" strings (NULL-terminated list). */
void ut_labels(struct snap_labels *l, ...);

/* Count snapshots via walk with an optional filter. */
size_t ut_count(struct snap_core *core, const char *filter);

/* Write/read a file in the writable tree of active snapshot `key`. */
void ut_write(struct snap_core *core, const char *key, const char *name, const char *content);
char *ut_read(struct snap_core *core, const char *key, const char *name);

void ut_rm_rf(const char *path);

#endif
