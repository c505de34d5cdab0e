/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image store's C API, as the runtime uses it: resolve, commit (a
 * container's changes into a new image with history), rmi refused while a
 * container uses the image, gc, chain IDs, names, the content store's
 * verification.  On the real vfs driver, in a fresh root per test.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test-util.h"
#include "image/content.h"
#include "image/image.h"

static void mk_rootfs(const char *dir)
{
	_cleanup_free_ char *etc = NULL, *file = NULL;
	assert_true(asprintf(&etc, "%s/etc", dir) > 0);
	assert_true(asprintf(&file, "%s/etc/hostname", dir) > 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(etc, 0755), 0);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "base\n", 5), 5);
	close(fd);
}

/* A one-layer image "base:1" in the root. */
static void import_base(struct ut_root *r, struct snap_import_result *res)
{
	_cleanup_free_ char *dir = NULL;
	assert_true(asprintf(&dir, "%s/../rootfs", r->root) > 0);
	mk_rootfs(dir);
	struct snap_error err = { 0 };
	struct snap_import_opts opts = { .name = "base:1" };
	ut_ok(snap_image_import_rootfs(r->core, dir, &opts, res, &err), &err);
	assert_string_equal(res->name, "docker.io/library/base:1");
	assert_int_equal(res->n_layers, 1);
}

static void test_chain_id(void **state)
{
	(void)state;
	char out[SNAP_DIGEST_MAX];
	const char *d0 = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	assert_int_equal(snap_chain_id(NULL, d0, out), 0);
	assert_string_equal(out, d0);
	/* sha256("sha256:00...0 sha256:11...1"), by the OCI definition */
	char buf[200], want[SNAP_DIGEST_MAX];
	snprintf(buf, sizeof(buf), "%s %s", d0, d1);
	assert_int_equal(snap_sha256_buf(buf, strlen(buf), want), 0);
	assert_int_equal(snap_chain_id(d0, d1, out), 0);
	assert_string_equal(out, want);
	assert_int_equal(snap_chain_id(d0, "md5:abc", out), -EINVAL);
}

/* docker's normalisation (distribution's ParseNormalizedNamed) and its
 * familiar form. */
static void test_ref_normalize(void **state)
{
	(void)state;
	static const char *const cases[][3] = {
		/* given, normalised, familiar */
		{ "busybox", "docker.io/library/busybox:latest", "busybox:latest" },
		{ "busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36" },
		{ "library/busybox", "docker.io/library/busybox:latest", "busybox:latest" },
		{ "docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest" },
		{ "index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest" },
		{ "docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest" },
		{ "imported/bb:dk", "docker.io/imported/bb:dk", "imported/bb:dk" },
		{ "a/b:v1.2", "docker.io/a/b:v1.2", "a/b:v1.2" },
		{ "a/b/c", "docker.io/a/b/c:latest", "a/b/c:latest" },
		{ "localhost/app", "localhost/app:latest", "localhost/app:latest" },
		{ "localhost:5000/a/b", "localhost:5000/a/b:latest", "localhost:5000/a/b:latest" },
		{ "quay.io/x/y:2", "quay.io/x/y:2", "quay.io/x/y:2" },
		{ "my-reg.example:443/a__b.c-d", "my-reg.example:443/a__b.c-d:latest", "my-reg.example:443/a__b.c-d:latest" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = NULL;
		struct snap_error err = { 0 };
		ut_ok(snap_image_ref_normalize(cases[i][0], &s, &err), &err);
		assert_string_equal(s, cases[i][1]);
		assert_string_equal(snap_image_ref_familiar(s), cases[i][2]);
		free(s);
	}
	static const char *const bad[] = {
		"", "a b", "a:", "a@sha256:00", "Busybox", "a//b", "a/", "/a", ":tag", "a:-x", "-a", "a/B:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *s = NULL;
		struct snap_error err = { 0 };
		ut_fails(snap_image_ref_normalize(bad[i], &s, &err), -EINVAL, &err);
	}
}

static void test_content_mismatch(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	char digest[SNAP_DIGEST_MAX];
	const char *wrong = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
	ut_fails(snap_content_put(r->core, "hello", 5, wrong, digest, NULL, &err), -EINVAL, &err);
	assert_non_null(strstr(err.message, "digest mismatch"));
	bool added = false;
	ut_ok(snap_content_put(r->core, "hello", 5, NULL, digest, &added, &err), &err);
	assert_true(added);
	assert_true(snap_content_exists(r->core, digest));
	ut_ok(snap_content_put(r->core, "hello", 5, digest, NULL, &added, &err), &err);
	assert_false(added);
	/* Only the good blob is there, and nothing is left in staging. */
	_cleanup_free_ char *path = NULL;
	assert_true(asprintf(&path, "%s/tmp", r->root) > 0);
	DIR *d = opendir(path);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			fail_msg("staging leftover %s", de->d_name);
	closedir(d);
}

static void test_resolve(void **state)
{
	struct ut_root *r = *state;
	struct snap_import_result res = { 0 };
	import_base(r, &res);
	struct snap_error err = { 0 };
	struct snap_image img = { 0 };
	ut_ok(snap_image_resolve(r->core, "base:1", &img, &err), &err);
	assert_string_equal(img.id, res.id);
	assert_string_equal(img.name, "docker.io/library/base:1");
	assert_int_equal(img.n_layers, 1);
	assert_true(snap_digest_valid(img.top_chain_id));
	assert_non_null(img.config.env);
	assert_null(img.config.cmd);
	snap_image_done(&img);
	char prefix[20];
	snprintf(prefix, sizeof(prefix), "%.12s", res.id + 7);
	ut_ok(snap_image_resolve(r->core, prefix, &img, &err), &err);
	assert_string_equal(img.id, res.id);
	assert_null(img.name);
	snap_image_done(&img);
	ut_fails(snap_image_resolve(r->core, "nope:1", &img, &err), -ENOENT, &err);
	snap_import_result_done(&res);
}

static bool history_has(const struct snap_history *h, const char *comment, const char *author)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].comment, comment) == 0 && strcmp(h->v[i].author, author) == 0)
			return true;
	return false;
}

static void test_commit(void **state)
{
	struct ut_root *r = *state;
	struct snap_import_result res = { 0 };
	import_base(r, &res);
	struct snap_error err = { 0 };
	struct snap_image base = { 0 };
	ut_ok(snap_image_resolve(r->core, "base:1", &base, &err), &err);
	/* A container: an active snapshot on the image's top layer. */
	ut_ok(snap_prepare(r->core, "ctr-1", base.top_chain_id, NULL, NULL, &err), &err);
	ut_write(r->core, "ctr-1", "etc/motd", "committed\n");

	const char *changes[] = { "CMD [\"/bin/cat\", \"/etc/motd\"]", "ENV GREETING=hello", "WORKDIR /etc",
				  "USER 1000" };
	struct snap_image_commit_opts opts = {
		.snapshot_key = "ctr-1",
		.base = "base:1",
		.name = "derived:2",
		.comment = "added motd",
		.author = "Test <t@example.com>",
		.created_by = "/bin/sh -c echo committed > /etc/motd",
		.changes = changes,
		.n_changes = ELEMENTSOF(changes),
	};
	struct snap_image img = { 0 };
	ut_ok(snap_image_commit(r->core, &opts, &img, &err), &err);
	assert_string_equal(img.name, "docker.io/library/derived:2");
	assert_int_equal(img.n_layers, 2);
	assert_string_not_equal(img.top_chain_id, base.top_chain_id);
	assert_string_equal(img.config.cmd[0], "/bin/cat");
	assert_string_equal(img.config.cmd[1], "/etc/motd");
	assert_null(img.config.cmd[2]);
	assert_string_equal(img.config.env[0], "GREETING=hello");
	assert_string_equal(img.config.working_dir, "/etc");
	assert_string_equal(img.config.user, "1000");

	/* The new top layer is a committed snapshot with the file in it, and
	 * the container's own snapshot is untouched. */
	struct snap_info info = { 0 };
	ut_ok(snap_stat(r->core, img.top_chain_id, &info, &err), &err);
	assert_int_equal(info.kind, SNAP_KIND_COMMITTED);
	assert_string_equal(info.parent, base.top_chain_id);
	snap_info_done(&info);
	ut_ok(snap_stat(r->core, "ctr-1", &info, &err), &err);
	assert_int_equal(info.kind, SNAP_KIND_ACTIVE);
	snap_info_done(&info);
	ut_ok(snap_prepare(r->core, "check", img.top_chain_id, NULL, NULL, &err), &err);
	char *motd = ut_read(r->core, "check", "etc/motd");
	assert_string_equal(motd, "committed\n");
	free(motd);
	ut_ok(snap_remove(r->core, "check", &err), &err);

	struct snap_history h = { 0 };
	ut_ok(snap_image_history(r->core, "derived:2", &h, &err), &err);
	assert_int_equal(h.n, 2);
	assert_true(history_has(&h, "added motd", "Test <t@example.com>"));
	assert_string_equal(h.v[1].created_by, "/bin/sh -c echo committed > /etc/motd");
	assert_true(h.v[1].size > 0);
	assert_true(h.v[1].created_ns > 0);
	/* The base image is still here: its line names it, as docker does. */
	assert_non_null(h.v[0].image_id);
	assert_string_equal(h.v[0].image_id, base.id);
	assert_null(h.v[1].image_id);
	snap_history_done(&h);

	/* A bad change is refused and adds nothing. */
	const char *bad[] = { "FROBNICATE x" };
	opts.changes = bad;
	opts.n_changes = 1;
	opts.name = "derived:3";
	ut_fails(snap_image_commit(r->core, &opts, NULL, &err), -EINVAL, &err);
	struct snap_image none = { 0 };
	ut_fails(snap_image_resolve(r->core, "derived:3", &none, &err), -ENOENT, &err);

	snap_image_done(&img);
	snap_image_done(&base);
	snap_import_result_done(&res);
}

static void test_rmi_in_use(void **state)
{
	struct ut_root *r = *state;
	struct snap_import_result res = { 0 };
	import_base(r, &res);
	struct snap_error err = { 0 };
	struct snap_image base = { 0 };
	ut_ok(snap_image_resolve(r->core, "base:1", &base, &err), &err);
	ut_ok(snap_prepare(r->core, "ctr-1", base.top_chain_id, NULL, NULL, &err), &err);

	char removed[SNAP_DIGEST_MAX];
	ut_fails(snap_image_remove(r->core, "base:1", 0, removed, &err), -EBUSY, &err);
	assert_non_null(strstr(err.message, "ctr-1"));
	/* Forced: the image goes, the layer the container stands on stays. */
	ut_ok(snap_image_remove(r->core, "base:1", SNAP_RMI_FORCE, removed, &err), &err);
	assert_string_equal(removed, res.id);
	struct snap_info info = { 0 };
	ut_ok(snap_stat(r->core, base.top_chain_id, &info, &err), &err);
	snap_info_done(&info);
	uint64_t blobs = 0, snaps = 0;
	ut_ok(snap_image_gc(r->core, &blobs, &snaps, &err), &err);
	assert_int_equal(snaps, 0);
	/* Once the container is gone, gc collects the layer. */
	ut_ok(snap_remove(r->core, "ctr-1", &err), &err);
	ut_ok(snap_image_gc(r->core, &blobs, &snaps, &err), &err);
	assert_int_equal(snaps, 1);
	ut_fails(snap_stat(r->core, base.top_chain_id, &info, &err), -ENOENT, &err);
	snap_image_done(&base);
	snap_import_result_done(&res);
}

/* An unpack that crashed between prepare and commit leaves an active
 * staging snapshot, a diff (commit, verify) killed while it read a
 * committed snapshot leaves a view of it; gc removes them once their
 * process is gone, and only then. */
static void test_gc_crashed_unpack(void **state)
{
	struct ut_root *r = *state;
	struct snap_import_result res = { 0 };
	import_base(r, &res);
	struct snap_error err = { 0 };
	struct snap_image base = { 0 };
	ut_ok(snap_image_resolve(r->core, "base:1", &base, &err), &err);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	char dead[64], live[64];
	snprintf(dead, sizeof(dead), "snapctl-unpack-%d-0-1", (int)child);
	snprintf(live, sizeof(live), "snapctl-unpack-%d-0-1", (int)getpid());
	ut_ok(snap_prepare(r->core, dead, base.top_chain_id, NULL, NULL, &err), &err);
	ut_ok(snap_prepare(r->core, live, base.top_chain_id, NULL, NULL, &err), &err);
	char dead_view[64], live_view[64];
	snprintf(dead_view, sizeof(dead_view), "snapctl-diff-%d-0-parent", (int)child);
	snprintf(live_view, sizeof(live_view), "snapctl-diff-%d-0-parent", (int)getpid());
	ut_ok(snap_view(r->core, dead_view, base.top_chain_id, NULL, NULL, &err), &err);
	ut_ok(snap_view(r->core, live_view, base.top_chain_id, NULL, NULL, &err), &err);
	uint64_t blobs = 0, snaps = 0;
	ut_ok(snap_image_gc(r->core, &blobs, &snaps, &err), &err);
	assert_int_equal(snaps, 2);
	struct snap_info info = { 0 };
	ut_fails(snap_stat(r->core, dead, &info, &err), -ENOENT, &err);
	ut_fails(snap_stat(r->core, dead_view, &info, &err), -ENOENT, &err);
	ut_ok(snap_stat(r->core, live, &info, &err), &err);
	snap_info_done(&info);
	ut_ok(snap_stat(r->core, live_view, &info, &err), &err);
	snap_info_done(&info);
	ut_ok(snap_stat(r->core, base.top_chain_id, &info, &err), &err);
	snap_info_done(&info);
	snap_image_done(&base);
	snap_import_result_done(&res);
}

/* ---- sqlite failures are errors, never "nothing there" ---- */

/* Interrupt (SQLITE_INTERRUPT from sqlite3_step) every statement whose SQL
 * starts with `fail_sql`: a read that fails half-way, as a busy or I/O
 * error would, at one chosen place. */
static const char *fail_sql;

static int interrupt_chosen(void *db)
{
	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
		if (sqlite3_stmt_busy(st) && strncmp(sqlite3_sql(st), fail_sql, strlen(fail_sql)) == 0)
			return 1;
	return 0;
}

static void fail_reads_of(struct snap_core *core, const char *sql)
{
	fail_sql = sql;
	sqlite3 *db = snap_core_db(core);
	sqlite3_progress_handler(db, sql ? 1 : 0, sql ? interrupt_chosen : NULL, db);
}

static void assert_image_intact(struct snap_core *core, const char *ref, const char *id)
{
	struct snap_error err = { 0 };
	struct snap_image img = { 0 };
	ut_ok(snap_image_resolve(core, ref, &img, &err), &err);
	assert_string_equal(img.id, id);
	snap_image_done(&img);
}

/* rmi of base:1 while reads of `sql` fail: it must fail naming `what`
 * and leave the image as it was. */
static void rmi_with_failing_read(struct ut_root *r, const char *sql, const char *what)
{
	struct snap_import_result res = { 0 };
	import_base(r, &res);
	struct snap_error err = { 0 };
	char removed[SNAP_DIGEST_MAX];
	fail_reads_of(r->core, sql);
	int rc = snap_image_remove(r->core, "base:1", 0, removed, &err);
	fail_reads_of(r->core, NULL);
	assert_true(rc < 0);
	assert_non_null(strstr(err.message, what));
	assert_image_intact(r->core, "base:1", res.id);
	/* Nothing was left half-done: the removal works once reads do. */
	ut_ok(snap_image_remove(r->core, "base:1", 0, removed, &err), &err);
	snap_import_result_done(&res);
}

/* rmi reads whether the image keeps a tag after its tag went; a failed
 * read must not count as "no tag left" and delete the image's rows. */
static void test_rmi_failed_tag_read_keeps_image(void **state)
{
	rmi_with_failing_read(*state, "SELECT 1 FROM image_tags WHERE image_id", "read image tags");
}

/* rmi asks the containers table whether a container uses the image; a
 * failed lookup must not count as "unused". */
static void test_rmi_failed_container_lookup_refuses(void **state)
{
	rmi_with_failing_read(*state, "SELECT name FROM containers", "containers");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_id),
		cmocka_unit_test(test_ref_normalize),
		cmocka_unit_test_setup_teardown(test_content_mismatch, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_resolve, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_commit, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_rmi_in_use, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_rmi_failed_tag_read_keeps_image, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_rmi_failed_container_lookup_refuses, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_gc_crashed_unpack, ut_setup, ut_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
