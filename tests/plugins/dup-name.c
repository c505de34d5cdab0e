/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin for the loader: a valid plugin whose driver is named "vfs",
 * the name of the built-in driver (built without the "-plugin" suffix).
 * The loader must refuse the duplicate with a clear error and go on. */
#include "drivers/vfs/vfs.h"

SNAP_PLUGIN_DEFINE(&snap_vfs_driver, "test plugin reusing the built-in name vfs");
