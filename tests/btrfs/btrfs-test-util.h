/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the btrfs tests: environment checks, counting loop
 * devices and mounts, and a throwaway root with its own loopback btrfs. */
#ifndef SNAP_TEST_BTRFS_UTIL_H
#define SNAP_TEST_BTRFS_UTIL_H

#include <stdbool.h>
#include <snapctl/driver.h>

/* NULL when the btrfs tests can run here, else the reason to skip. */
const char *btrfs_test_skip_reason(void);

/* Enter a private mount namespace so no mount outlives the test process;
 * returns 0 or -errno. */
int btrfs_test_private_ns(void);

/* Loop devices bound to a file under `prefix` (a test's own root: other
 * tests on the machine attach theirs meanwhile); mounts in this namespace. */
int btrfs_test_count_loops(const char *prefix);
int btrfs_test_count_mounts(void);

/* Wait (bounded) until the loop count drops to `want` again: the kernel
 * clears an autoclear device when its last opener (the mount, a udev probe)
 * lets go, not necessarily before umount returns.  Returns the last count. */
int btrfs_test_wait_loops(const char *prefix, int want);

/* Whether the file `name` under treefd still has its data only in the
 * page cache (FIEMAP's delalloc flag on its first extent): nothing has
 * started writing it out.  Fails the test when it cannot tell. */
bool btrfs_test_is_delalloc(int treefd, const char *name);

/* Unmount ROOT/snapshots (detaching the loop device) and rm -rf ROOT. */
void btrfs_test_destroy_root(const char *root);

#endif
