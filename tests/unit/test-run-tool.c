/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap_run_tool, the one runner of outside tools (mkfs.btrfs for the btrfs
 * driver's image, the scratch filesystems' mkfs): what it says when a tool
 * fails, is missing, runs out of space or is killed.
 */
#include "test-util.h"

#include <errno.h>
#include <string.h>

#include "util/run-tool.h"

static void test_success(void **state)
{
	struct snap_error err = { 0 };
	char *const argv[] = { "sh", "-c", "echo chatter; echo more >&2", NULL };
	ut_ok(snap_run_tool(argv, "dash", &err), &err);
}

static void test_failure_names_the_tool_and_its_last_line(void **state)
{
	struct snap_error err = { 0 };
	char *const argv[] = { "sh", "-c", "echo first; echo 'ERROR: too small' >&2; echo; exit 3", NULL };
	assert_int_equal(snap_run_tool(argv, "dash", &err), -EIO);
	assert_string_equal(err.message, "sh failed (exit status 3): ERROR: too small");
}

static void test_missing_tool_says_what_to_install(void **state)
{
	struct snap_error err = { 0 };
	char *const argv[] = { "snapctl-no-such-tool", NULL };
	assert_int_equal(snap_run_tool(argv, "some-package", &err), -ENOENT);
	assert_string_equal(err.message, "cannot run snapctl-no-such-tool (install some-package)");
}

static void test_no_space(void **state)
{
	struct snap_error err = { 0 };
	char *const argv[] = { "sh", "-c", "echo 'write: No space left on device' >&2; exit 1", NULL };
	assert_int_equal(snap_run_tool(argv, "dash", &err), -ENOSPC);
	assert_non_null(strstr(err.message, "No space left on device"));
}

static void test_killed(void **state)
{
	struct snap_error err = { 0 };
	char *const argv[] = { "sh", "-c", "kill -9 $$", NULL };
	assert_int_equal(snap_run_tool(argv, "dash", &err), -EIO);
	assert_string_equal(err.message, "sh failed (signal 9): no output");
}

/* Output longer than what is kept: the end, which says what failed, is. */
static void test_long_output_keeps_its_end(void **state)
{
	struct snap_error err = { 0 };
	char *const argv[] = { "sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done; "
					   "echo 'the real reason' >&2; exit 1",
			       NULL };
	assert_int_equal(snap_run_tool(argv, "dash", &err), -EIO);
	assert_string_equal(err.message, "sh failed (exit status 1): the real reason");
}

/* stdin is /dev/null: a tool that asks a question gets EOF, not a hang. */
static void test_stdin_is_empty(void **state)
{
	struct snap_error err = { 0 };
	char *const argv[] = { "sh", "-c", "read answer && exit 1; exit 0", NULL };
	ut_ok(snap_run_tool(argv, "dash", &err), &err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_failure_names_the_tool_and_its_last_line),
		cmocka_unit_test(test_missing_tool_says_what_to_install),
		cmocka_unit_test(test_no_space),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_long_output_keeps_its_end),
		cmocka_unit_test(test_stdin_is_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
