/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin for the loader: a driver exported under the wrong name
 * (a plausible typo), so the module has no snap_driver_entry.  The loader
 * must refuse it with a clear error and go on. */
#include "drivers/vfs/vfs.h"

SNAP_EXPORT const struct snap_plugin snap_plugin_entry = {
	.magic = SNAP_PLUGIN_MAGIC,
	.abi_major = SNAP_DRIVER_ABI_MAJOR,
	.abi_minor = SNAP_DRIVER_ABI_MINOR,
	.driver = &snap_vfs_driver,
	.description = "test plugin without the entry symbol",
};
