/* SPDX-License-Identifier: Apache-2.0 */
/* The btrfs driver as a loadable plugin (registered as "btrfs-plugin"). */
#include "drivers/btrfs/btrfs.h"

SNAP_PLUGIN_DEFINE(&snap_btrfs_driver, "btrfs: subvolume snapshots, automatic loopback (plugin build)");
