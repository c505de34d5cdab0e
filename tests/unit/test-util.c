/* SPDX-License-Identifier: Apache-2.0 */
#include "test-util.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"

static void record_notice(void *ctx, const char *message)
{
	struct ut_root *r = ctx;
	if (r->n_notices < ELEMENTSOF(r->notices))
		snprintf(r->notices[r->n_notices++], SNAP_ERROR_MSG_MAX, "%s", message);
}

void ut_rm_rf(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	assert_non_null(dir);
	char *slash = strrchr(dir, '/');
	assert_non_null(slash);
	*slash = '\0';
	_cleanup_close_ int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		snap_rm_rf_at(fd, slash + 1);
}

int ut_open(struct ut_root *r, const char *driver, unsigned flags, struct snap_error *err)
{
	struct snap_core_opts opts = {
		.root = r->root,
		.driver = driver,
		.plugin_dir = getenv("SNAPCTL_TEST_PLUGIN_DIR"),
		.notice = record_notice,
		.notice_ctx = r,
		.flags = flags,
	};
	return snap_core_open(&opts, &r->core, err);
}

void ut_close(struct ut_root *r)
{
	snap_core_close(r->core);
	r->core = NULL;
}

int ut_setup_noopen(void **state)
{
	struct ut_root *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	const char *tmp = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/snapctl-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(tmpl));
	/* The root itself is one level down, so tests can check that a
	 * refused open does not create it. */
	size_t len = strlen(tmpl);
	r->root = malloc(len + 6);
	assert_non_null(r->root);
	snprintf(r->root, len + 6, "%s/root", tmpl);
	*state = r;
	return 0;
}

int ut_setup(void **state)
{
	ut_setup_noopen(state);
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(ut_open(r, "vfs", 0, &err), &err);
	return 0;
}

int ut_teardown(void **state)
{
	struct ut_root *r = *state;
	ut_close(r);
	char *slash = strrchr(r->root, '/');
	*slash = '\0';
	ut_rm_rf(r->root);
	free(r->root);
	free(r);
	return 0;
}

void ut_labels(struct snap_labels *l, ...)
{
	va_list ap;
	va_start(ap, l);
	for (const char *kv; (kv = va_arg(ap, const char *));)
		assert_int_equal(snap_labels_parse_kv(l, kv), 0);
	va_end(ap);
}

static int count_cb(const struct snap_info *info, void *userdata)
{
	(*(size_t *)userdata)++;
	return 0;
}

size_t ut_count(struct snap_core *core, const char *filter)
{
	size_t n = 0;
	struct snap_error err = { 0 };
	const char *f[] = { filter };
	ut_ok(snap_walk(core, f, filter ? 1 : 0, count_cb, &n, &err), &err);
	return n;
}

void ut_write(struct snap_core *core, const char *key, const char *name, const char *content)
{
	struct snap_error err = { 0 };
	int fd = -1;
	ut_ok(snap_core_open_tree(core, key, &fd, &err), &err);
	_cleanup_close_ int dfd = fd;
	_cleanup_close_ int f = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(f >= 0);
	assert_int_equal(snap_write_all(f, content, strlen(content)), 0);
}

char *ut_read(struct snap_core *core, const char *key, const char *name)
{
	struct snap_error err = { 0 };
	int fd = -1;
	ut_ok(snap_core_open_tree(core, key, &fd, &err), &err);
	_cleanup_close_ int dfd = fd;
	char *data = NULL;
	size_t len = 0;
	if (snap_read_file_at(dfd, name, 1 << 20, &data, &len) < 0)
		return NULL;
	return data;
}
