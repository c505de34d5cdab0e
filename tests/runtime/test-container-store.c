/* SPDX-License-Identifier: Apache-2.0 */
/* The containers table: add, look up by id / name / prefix, state changes,
 * listing order, removal, image use; on a fresh vfs root per test. */
#include "test-util.h"

#include <errno.h>
#include <stdio.h>

#include "container-store.h"

static void make_rec(struct snap_container_rec *rec, const char *id, const char *name,
		     const char *image_id, int64_t created)
{
	*rec = (struct snap_container_rec){ .created_ns = created };
	snprintf(rec->id, sizeof(rec->id), "%s", id);
	rec->name = (char *)name;
	rec->image = (char *)"busybox:latest";
	rec->image_id = (char *)image_id;
	rec->snapshot = (char *)"container-x";
	rec->command = (char *)"[\"sh\",\"-c\",\"true\"]";
}

#define ID_A "aaaa1111000000000000000000000000000000000000000000000000000000aa"
#define ID_B "aaaa2222000000000000000000000000000000000000000000000000000000bb"

static void add_two(struct snap_core *core)
{
	struct snap_error err = { 0 };
	struct snap_container_rec rec;
	make_rec(&rec, ID_A, "first", "sha256:img1", 100);
	ut_ok(snap_container_store_add(core, &rec, &err), &err);
	make_rec(&rec, ID_B, "second", "sha256:img2", 200);
	ut_ok(snap_container_store_add(core, &rec, &err), &err);
}

static void test_lookup(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	add_two(r->core);

	struct snap_container_rec got = { 0 };
	ut_ok(snap_container_store_get(r->core, ID_A, &got, &err), &err);
	assert_string_equal(got.name, "first");
	assert_string_equal(got.command, "[\"sh\",\"-c\",\"true\"]");
	assert_int_equal(got.state, SNAP_CONTAINER_CREATED);
	assert_int_equal(got.exit_code, -1);
	snap_container_rec_done(&got);

	ut_ok(snap_container_store_get(r->core, "second", &got, &err), &err);
	assert_string_equal(got.id, ID_B);
	snap_container_rec_done(&got);

	ut_ok(snap_container_store_get(r->core, "aaaa2", &got, &err), &err);
	assert_string_equal(got.name, "second");
	snap_container_rec_done(&got);

	ut_fails(snap_container_store_get(r->core, "aaaa", &got, &err), -EINVAL, &err);
	ut_fails(snap_container_store_get(r->core, "nosuch", &got, &err), -ENOENT, &err);
	ut_fails(snap_container_store_get(r->core, "b", &got, &err), -ENOENT, &err);

	struct snap_container_rec dup;
	make_rec(&dup, "cc", "first", "sha256:img1", 300);
	ut_fails(snap_container_store_add(r->core, &dup, &err), -EEXIST, &err);
}

static int collect(const struct snap_container_rec *rec, void *userdata)
{
	char *out = userdata;
	strcat(out, rec->name);
	strcat(out, " ");
	return 0;
}

static void test_states_walk_remove(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	add_two(r->core);

	ut_ok(snap_container_store_set_running(r->core, ID_A, 1234, 5678, &err), &err);
	struct snap_container_rec got = { 0 };
	ut_ok(snap_container_store_get(r->core, ID_A, &got, &err), &err);
	assert_int_equal(got.state, SNAP_CONTAINER_RUNNING);
	assert_int_equal(got.pid, 1234);
	assert_int_equal(got.pid_start, 5678);
	snap_container_rec_done(&got);

	ut_ok(snap_container_store_set_exited(r->core, ID_A, 137, &err), &err);
	ut_ok(snap_container_store_get(r->core, ID_A, &got, &err), &err);
	assert_int_equal(got.state, SNAP_CONTAINER_EXITED);
	assert_int_equal(got.exit_code, 137);
	assert_int_equal(got.pid, 0);
	assert_true(got.finished_ns > 0);
	snap_container_rec_done(&got);

	char names[64] = "";
	ut_ok(snap_container_store_walk(r->core, collect, names, &err), &err);
	assert_string_equal(names, "second first ");

	bool used = false;
	ut_ok(snap_container_store_image_in_use(r->core, "sha256:img2", &used, &err), &err);
	assert_true(used);
	ut_ok(snap_container_store_remove(r->core, ID_B, &err), &err);
	ut_ok(snap_container_store_image_in_use(r->core, "sha256:img2", &used, &err), &err);
	assert_false(used);
	ut_fails(snap_container_store_remove(r->core, ID_B, &err), -ENOENT, &err);
	ut_fails(snap_container_store_set_exited(r->core, ID_B, 0, &err), -ENOENT, &err);

	names[0] = '\0';
	ut_ok(snap_container_store_walk(r->core, collect, names, &err), &err);
	assert_string_equal(names, "first ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_states_walk_remove, ut_setup, ut_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
