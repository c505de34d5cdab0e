/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loader's check of a driver table (built-in or from a plugin), before
 * it is registered.  It belongs to the plugin API, not to the core: the
 * core only ever calls drivers the loader accepted (core/snapshot/driver-call.c).
 */
#ifndef SNAP_DRIVER_VALIDATE_H
#define SNAP_DRIVER_VALIDATE_H

#include <snapctl/driver.h>

/* ABI major, name syntax ([a-z0-9_-]{1,64}), required methods (open, close,
 * create, mounts, commit, remove).  Returns 0 or -EINVAL/-EPROTO with the
 * reason. */
int snap_drv_validate(const struct snap_driver *drv, struct snap_error *err);

#endif
