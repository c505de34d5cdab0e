/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel feature probes: every feature gets a definite state or a reason,
 * the answers agree with what the system says elsewhere, probing leaves
 * nothing behind (no scratch directory, no mount) and runs once. */
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "kernel-features.h"

static size_t count_lines(const char *path)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	assert_int_equal(snap_read_file_at(AT_FDCWD, path, 1 << 22, &data, &len), 0);
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += data[i] == '\n';
	return n;
}

static void test_probe(void **state)
{
	struct ut_root *r = *state;
	size_t mounts_before = count_lines("/proc/self/mountinfo");

	const struct snap_feature *f = snap_features_probe(snap_core_root(r->core));
	assert_non_null(f);
	for (int i = 0; i < SNAP_FEAT__MAX; i++) {
		assert_non_null(f[i].name);
		assert_true(f[i].state >= SNAP_FEATURE_UNKNOWN && f[i].state <= SNAP_FEATURE_YES);
		/* A "no" or "unknown" always says why. */
		if (f[i].state != SNAP_FEATURE_YES)
			assert_true(f[i].detail[0] != '\0');
		print_message("%-16s %-8s %s\n", f[i].name, snap_feature_state_name(f[i].state), f[i].detail);
	}
	assert_int_equal(f[SNAP_FEAT_OPENAT2].state == SNAP_FEATURE_YES, snap_fs_have_openat2());

	_cleanup_free_ char *fsl = NULL;
	size_t len = 0;
	assert_int_equal(snap_read_file_at(AT_FDCWD, "/proc/filesystems", 1 << 16, &fsl, &len), 0);
	assert_int_equal(f[SNAP_FEAT_BTRFS].state == SNAP_FEATURE_YES, strstr(fsl, "\tbtrfs\n") != NULL);
	assert_int_equal(f[SNAP_FEAT_OVERLAY].state == SNAP_FEATURE_YES, strstr(fsl, "\toverlay\n") != NULL);

	/* Nothing left: the scratch directory is gone, no mount remains. */
	char p[4096];
	snprintf(p, sizeof(p), "%s/tmp", snap_core_root(r->core));
	_cleanup_close_ int tfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(tfd >= 0);
	_cleanup_closedir_ DIR *d = fdopendir(dup(tfd));
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		assert_true(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0);
	assert_int_equal(count_lines("/proc/self/mountinfo"), mounts_before);

	/* Cached: the same table, no second probe. */
	assert_ptr_equal(snap_features_probe(NULL), f);
	assert_int_equal(snap_feature_have(NULL, SNAP_FEAT_OPENAT2), snap_fs_have_openat2());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe, ut_setup, ut_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
