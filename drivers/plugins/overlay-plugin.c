/* SPDX-License-Identifier: Apache-2.0 */
/* The overlay driver as a loadable plugin (registered as "overlay-plugin"). */
#include "drivers/overlay/overlay.h"

SNAP_PLUGIN_DEFINE(&snap_overlay_driver, "overlay: upper dirs over a lowerdir stack, new mount API (plugin build)");
