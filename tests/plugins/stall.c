/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test plugin for snapctl fstest: the vfs driver, registered as "vfs-stall",
 * whose create of an active snapshot creates the file named by
 * SNAPCTL_TEST_STALL_MARKER and then blocks until the process is killed.
 * It gives tests/fstest/fstest-sigint.sh a configuration that is certainly
 * still running when the SIGINT arrives, however fast the machine is.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "drivers/vfs/vfs.h"

static struct snap_driver stall;

static int stall_create(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
			struct snap_error *err)
{
	int r = snap_vfs_driver.create(state, snap, parents, err);
	if (r < 0 || snap->kind != SNAP_KIND_ACTIVE)
		return r;
	const char *marker = getenv("SNAPCTL_TEST_STALL_MARKER");
	if (marker) {
		int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	for (;;)
		pause();
}

__attribute__((constructor)) static void stall_init(void)
{
	stall = snap_vfs_driver;
	stall.name = "vfs-stall";
	stall.create = stall_create;
}

SNAP_PLUGIN_DEFINE(&stall, "test plugin: the vfs driver whose create blocks until killed (fstest SIGINT test)");
