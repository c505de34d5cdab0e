/* SPDX-License-Identifier: Apache-2.0 */
/* The drivers compiled into this binary.  Each driver's meson.build appends
 * its name to `builtin_drivers`, which becomes HAVE_DRIVER_<NAME> in
 * builtin-drivers.h, so only drivers whose sources are built are named. */
#include "loader.h"

#include "plugin-api/builtin-drivers.h"

#if HAVE_DRIVER_OVERLAY
extern const struct snap_driver snap_overlay_driver;
#endif
#if HAVE_DRIVER_BTRFS
extern const struct snap_driver snap_btrfs_driver;
#endif
#if HAVE_DRIVER_VFS
extern const struct snap_driver snap_vfs_driver;
#endif

/* Order matters only for listings: the fast drivers first. */
static const struct snap_driver *const builtins[] = {
#if HAVE_DRIVER_OVERLAY
	&snap_overlay_driver,
#endif
#if HAVE_DRIVER_BTRFS
	&snap_btrfs_driver,
#endif
#if HAVE_DRIVER_VFS
	&snap_vfs_driver,
#endif
	NULL,
};

int snap_loader_add_builtins(struct snap_loader *l)
{
	for (size_t i = 0; builtins[i]; i++) {
		/* A built-in table that does not validate is a build bug;
		 * report it like a broken plugin rather than abort. */
		struct snap_error e = { 0 };
		if (snap_loader_add(l, builtins[i], "builtin", NULL, &e) < 0)
			snap_loader_record_error(l, e.message);
	}
	return 0;
}
