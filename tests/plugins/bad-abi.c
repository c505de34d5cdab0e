/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin for the loader: a complete driver (the vfs sources, named
 * "vfs-bad-abi") whose descriptor claims an ABI major this snapctl does not
 * know.  The loader must refuse it with a clear error and go on. */
#include "drivers/vfs/vfs.h"

SNAP_EXPORT const struct snap_plugin snap_driver_entry = {
	.magic = SNAP_PLUGIN_MAGIC,
	.abi_major = SNAP_DRIVER_ABI_MAJOR + 1,
	.abi_minor = 0,
	.driver = &snap_vfs_driver,
	.description = "test plugin with an unknown ABI major",
};
