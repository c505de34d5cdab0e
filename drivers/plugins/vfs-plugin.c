/* SPDX-License-Identifier: Apache-2.0 */
/* The vfs driver as a loadable plugin (registered as "vfs-plugin"). */
#include "drivers/vfs/vfs.h"

SNAP_PLUGIN_DEFINE(&snap_vfs_driver, "vfs: full copy per active snapshot (plugin build)");
