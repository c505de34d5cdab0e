/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Real crashes: a child process runs prepare/write/commit/view/remove in a
 * loop on one root and is killed with SIGKILL at an arbitrary instant.  The
 * root must then hold the old or the new state of every operation: check
 * --repair fixes every leftover, after which check finds nothing, every
 * published snapshot has its directory and the keys of the interrupted
 * operations are usable again.  The kill instant varies; no assertion
 * depends on timing.
 */
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* prepare/write/commit/view/staging/remove; forever when n == 0.  Exits
 * 0 after n rounds, or with the step that failed (message on stderr). */
static _Noreturn void churn(const char *root, int round, unsigned n)
{
	struct snap_core_opts opts = { .root = root, .driver = "vfs" };
	struct snap_core *c = NULL;
	struct snap_error e = { 0 };
	if (snap_core_open(&opts, &c, &e) < 0)
		_exit(10);
	for (unsigned i = 0; n == 0 || i < n; i++) {
		char a[64], nm[64], v[64];
		snprintf(a, sizeof(a), "r%d-a%u", round, i);
		snprintf(nm, sizeof(nm), "r%d-c%u", round, i);
		snprintf(v, sizeof(v), "r%d-v%u", round, i);
		if (snap_prepare(c, a, "base", NULL, NULL, &e) < 0) {
			fprintf(stderr, "churn: %s\n", e.message);
			_exit(11);
		}
		int fd = -1;
		if (snap_core_open_tree(c, a, &fd, &e) == 0) {
			int f = openat(fd, "new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (f >= 0)
				close(f);
			close(fd);
		}
		if (snap_commit(c, nm, a, NULL, &e) < 0) {
			fprintf(stderr, "churn: %s\n", e.message);
			_exit(12);
		}
		if (snap_view(c, v, nm, NULL, NULL, &e) < 0) {
			fprintf(stderr, "churn: %s\n", e.message);
			_exit(13);
		}
		char *staging = NULL;
		if (snap_core_mkstaging(c, "crash", &staging, &e) == 0) {
			/* a live staging dir must survive a concurrent cleanup */
			struct stat st;
			if (stat(staging, &st) < 0) {
				fprintf(stderr, "churn: staging %s vanished\n", staging);
				_exit(16);
			}
			free(staging);
		}
		if (snap_remove(c, v, &e) < 0) {
			fprintf(stderr, "churn: %s\n", e.message);
			_exit(14);
		}
		if (i % 2 && snap_remove(c, nm, &e) < 0) {
			fprintf(stderr, "churn: %s\n", e.message);
			_exit(15);
		}
	}
	snap_core_close(c);
	_exit(0);
}

static int dir_exists_cb(const struct snap_info *info, void *userdata)
{
	const char *root = userdata;
	char p[4096];
	snprintf(p, sizeof(p), "%s/snapshots/%llu", root, (unsigned long long)info->id);
	struct stat st;
	if (stat(p, &st) < 0)
		fail_msg("snapshot '%s' has no directory %s", info->key, p);
	return 0;
}

static void count_finding(const struct snap_check_item *item, void *userdata)
{
	(*(int *)userdata)++;
}

static void test_kill_anywhere(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(snap_prepare(r->core, "base-a", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_commit(r->core, "base", "base-a", NULL, &err), &err);
	ut_close(r);

	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	srand((unsigned)ts.tv_nsec);
	for (int round = 0; round < 6; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			churn(r->root, round, 0);
		usleep((useconds_t)(2000 + rand() % 40000));
		kill(pid, SIGKILL);
		int st = 0;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (WIFEXITED(st))
			fail_msg("churn child exited with %d before the kill", WEXITSTATUS(st));

		ut_ok(ut_open(r, "vfs", 0, &err), &err);
		const char *root = snap_core_root(r->core);
		int found = 0;
		int left = snap_check(r->core, true, count_finding, &found, &err);
		if (left != 0)
			fail_msg("round %d: check --repair left %d findings (%s)", round, left, err.message);
		assert_int_equal(snap_check(r->core, false, NULL, NULL, &err), 0);
		print_message("round %d: %d leftovers repaired\n", round, found);
		ut_ok(snap_walk(r->core, NULL, 0, dir_exists_cb, (void *)root, &err), &err);
		/* Every key of the round that is not published is usable. */
		for (unsigned i = 0; i < 3; i++) {
			char a[64];
			snprintf(a, sizeof(a), "r%d-a%u", round, i);
			struct snap_info info = { 0 };
			if (snap_stat(r->core, a, &info, &err) == 0) {
				snap_info_done(&info);
				continue;
			}
			ut_ok(snap_prepare(r->core, a, "base", NULL, NULL, &err), &err);
			ut_ok(snap_remove(r->core, a, &err), &err);
		}
		ut_close(r);
	}
}

/* cleanup (and check --repair) in one process while another works: live
 * creations, commits, removals and staging directories are never touched. */
static void test_cleanup_during_work(void **state)
{
	struct ut_root *r = *state;
	struct snap_error err = { 0 };
	ut_ok(snap_prepare(r->core, "base-a", NULL, NULL, NULL, &err), &err);
	ut_ok(snap_commit(r->core, "base", "base-a", NULL, &err), &err);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		churn(r->root, 9, 40);
	int st = 0, sweeps = 0;
	for (;;) {
		ut_ok(snap_cleanup(r->core, &err), &err);
		int left = snap_check(r->core, true, NULL, NULL, &err);
		assert_true(left >= 0);
		sweeps++;
		pid_t w = waitpid(pid, &st, WNOHANG);
		assert_true(w >= 0);
		if (w == pid)
			break;
	}
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("worker failed with %d while cleanup ran (%d sweeps)", WEXITSTATUS(st), sweeps);
	print_message("%d cleanup sweeps during the work\n", sweeps);
	/* The worker's staging dirs died with it: one more sweep and the
	 * root is consistent. */
	ut_ok(snap_cleanup(r->core, &err), &err);
	assert_int_equal(snap_check(r->core, false, NULL, NULL, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_anywhere, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_during_work, ut_setup, ut_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
