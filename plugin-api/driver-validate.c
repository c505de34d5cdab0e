/* SPDX-License-Identifier: Apache-2.0 */
/* What a driver table must satisfy before the loader registers it. */
#include "driver-validate.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "util/macro.h"

static bool name_valid(const char *name)
{
	if (!name || !*name || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

int snap_drv_validate(const struct snap_driver *drv, struct snap_error *err)
{
	if (!drv)
		return snap_error_set(err, -EINVAL, "driver table is NULL");
	if (SNAP_ABI_MAJOR_OF(drv->abi_version) != SNAP_DRIVER_ABI_MAJOR)
		return snap_error_set(err, -EPROTO, "driver '%s': ABI major %d, this snapctl speaks %d",
				      drv->name ? drv->name : "?", SNAP_ABI_MAJOR_OF(drv->abi_version),
				      SNAP_DRIVER_ABI_MAJOR);
	if (!name_valid(drv->name))
		return snap_error_set(err, -EINVAL, "driver name '%s' is not [a-z0-9_-]{1,64}",
				      drv->name ? drv->name : "(null)");
	static const struct {
		const char *name;
		size_t off;
	} required[] = {
		{ "open", offsetof(struct snap_driver, open) },
		{ "close", offsetof(struct snap_driver, close) },
		{ "create", offsetof(struct snap_driver, create) },
		{ "mounts", offsetof(struct snap_driver, mounts) },
		{ "commit", offsetof(struct snap_driver, commit) },
		{ "remove", offsetof(struct snap_driver, remove) },
	};
	for (size_t i = 0; i < ELEMENTSOF(required); i++) {
		void (*const *fn)(void) = (void (*const *)(void))((const char *)drv + required[i].off);
		if (!*fn)
			return snap_error_set(err, -EINVAL, "driver '%s': required method '%s' is missing",
					      drv->name, required[i].name);
	}
	return 0;
}
