/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registered name of an in-tree driver.  Every in-tree driver is built
 * twice: into snapctl (name "vfs") and as a loadable plugin (name
 * "vfs-plugin"), so that both can be registered in one process and the
 * conformance suite can run against the dlopen-loaded copy.  The plugin
 * build defines SNAP_PLUGIN_NAME_SUFFIX (drivers/plugins/meson.build).
 *
 *   .name = SNAP_DRIVER_NAME("vfs"),
 */
#ifndef SNAP_PLUGIN_NAME_H
#define SNAP_PLUGIN_NAME_H

#ifndef SNAP_PLUGIN_NAME_SUFFIX
#define SNAP_PLUGIN_NAME_SUFFIX ""
#endif

#define SNAP_DRIVER_NAME(base) base SNAP_PLUGIN_NAME_SUFFIX

#endif
