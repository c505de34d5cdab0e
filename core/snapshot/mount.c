/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/mount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "snapshot/mount-lib.h"
#include "util/idmap.h"
#include "util/macro.h"

/* The context's free, through the loaded library (the cleanup runs only
 * on contexts it made, so it is loaded then). */
static void context_freep(struct libmnt_context **cxt)
{
	if (*cxt)
		snap_libmount(NULL)->free_context(*cxt);
}

char *snap_mount_options_join(const struct snap_mount *m, const char *extra)
{
	size_t len = 1 + (extra ? strlen(extra) + 1 : 0);
	for (size_t i = 0; i < m->n_options; i++)
		len += strlen(m->options[i]) + 1;
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < m->n_options; i++) {
		if (s[0])
			strcat(s, ",");
		strcat(s, m->options[i]);
	}
	if (extra) {
		if (s[0])
			strcat(s, ",");
		strcat(s, extra);
	}
	return s;
}

static bool has_option(const struct snap_mount *m, const char *opt)
{
	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], opt) == 0)
			return true;
	return false;
}

/* libmount returns a negative errno for its own failures and, after the
 * mount(2) syscall failed, MNT_ERR_* codes with the errno in
 * mnt->context_get_syscall_errno; fold both into -errno. */
static int context_errno(const struct snap_libmount *mnt, struct libmnt_context *cxt, int rc)
{
	if (mnt->context_syscall_called(cxt)) {
		int e = mnt->context_get_syscall_errno(cxt);
		if (e > 0)
			return -e;
	}
	if (rc < 0 && rc > -4096)
		return rc;
	return -EIO;
}

static int mount_plain(const struct snap_mount *m, const char *target, unsigned flags, struct snap_error *err);

static int mount_one(const struct snap_mount *m, const char *target, unsigned flags, struct snap_error *err)
{
	_cleanup_free_ struct snap_idmap *map = NULL;
	int r = snap_mount_idmap_of(m, &map, err);
	if (r <= 0)
		return r < 0 ? r : mount_plain(m, target, flags, err);
	_cleanup_free_ char **buf = calloc(m->n_options + 1, sizeof(char *));
	if (!buf)
		return snap_error_set(err, -ENOMEM, "mount %s: out of memory", target);
	struct snap_mount plain = snap_mount_without_idmap(m, buf);
	if (flags & SNAP_MOUNT_NOIDMAP)
		return mount_plain(&plain, target, flags, err);
	if (strcmp(m->type, "overlay") == 0)
		return snap_error_set(err, -EOPNOTSUPP,
				      "mount overlay on %s: idmapped layers are mounted by the driver, not from the list",
				      target);
	bool ro = (flags & SNAP_MOUNT_RDONLY) || has_option(m, "ro");
	if (has_option(m, "bind") || has_option(m, "rbind"))
		return snap_idmap_bind(m->source, target, map, ro ? SNAP_IDMAP_RDONLY : 0, err);
	r = mount_plain(&plain, target, flags, err);
	if (r < 0)
		return r;
	r = snap_mount_idmap_in_place(target, map, err);
	if (r < 0)
		(void)umount2(target, MNT_DETACH);
	return r;
}

static int mount_plain(const struct snap_mount *m, const char *target, unsigned flags, struct snap_error *err)
{
	bool ro = (flags & SNAP_MOUNT_RDONLY) && !has_option(m, "ro");
	_cleanup_free_ char *opts = snap_mount_options_join(m, ro ? "ro" : NULL);
	if (!opts)
		return snap_error_set(err, -ENOMEM, "mount %s: out of memory", target);
	const struct snap_libmount *mnt = snap_libmount(err);
	if (!mnt)
		return snap_error_prefix(err, "mount %s", target);
	_cleanup_(context_freep) struct libmnt_context *cxt = mnt->new_context();
	if (!cxt)
		return snap_error_set(err, -ENOMEM, "mount %s: out of memory", target);
	/* Never exec /sbin/mount.<type> helpers and never look at fstab: the
	 * list is complete as given.  No canonicalisation: paths come from
	 * the driver and must be used as they are. */
	mnt->context_disable_helpers(cxt, 1);
	mnt->context_disable_canonicalize(cxt, 1);
	mnt->context_set_optsmode(cxt, MNT_OMODE_IGNORE);
	/* "bind"/"rbind" are passed as options; libmount then ignores the
	 * type.  libmount itself does the remount needed for a read-only
	 * bind mount. */
	bool bind = has_option(m, "bind") || has_option(m, "rbind");
	if (!bind && mnt->context_set_fstype(cxt, m->type) < 0)
		return snap_error_set(err, -ENOMEM, "mount %s: out of memory", target);
	if (mnt->context_set_source(cxt, m->source) < 0 || mnt->context_set_target(cxt, target) < 0 ||
	    (opts[0] && mnt->context_set_options(cxt, opts) < 0))
		return snap_error_set(err, -ENOMEM, "mount %s: out of memory", target);
	int rc = mnt->context_mount(cxt);
	if (rc != 0) {
		int r = context_errno(mnt, cxt, rc);
		return snap_error_set(err, r, "mount %s %s on %s (%s): %s", m->type, m->source, target, opts,
				      strerror(-r));
	}
	return 0;
}

int snap_mount_list(const struct snap_mounts *m, const char *target, unsigned flags, struct snap_error *err)
{
	if (!m || m->n == 0)
		return snap_error_set(err, -EINVAL, "mount %s: empty mount list", target ? target : "");
	if (!target || !*target)
		return snap_error_set(err, -EINVAL, "mount: no target");
	for (size_t i = 0; i < m->n; i++) {
		int r = mount_one(&m->v[i], target, flags, err);
		if (r < 0) {
			/* Leave the target as we found it. */
			for (size_t j = i; j > 0; j--)
				snap_unmount_at(target, NULL);
			return r;
		}
	}
	return 0;
}

int snap_unmount_at(const char *target, struct snap_error *err)
{
	if (!target || !*target)
		return snap_error_set(err, -EINVAL, "unmount: no target");
	const struct snap_libmount *mnt = snap_libmount(err);
	if (!mnt)
		return err ? snap_error_prefix(err, "unmount %s", target) : -ELIBACC;
	for (int lazy = 0; lazy <= 1; lazy++) {
		_cleanup_(context_freep) struct libmnt_context *cxt = mnt->new_context();
		if (!cxt)
			return snap_error_set(err, -ENOMEM, "unmount %s: out of memory", target);
		mnt->context_disable_helpers(cxt, 1);
		mnt->context_disable_canonicalize(cxt, 1);
		if (lazy)
			mnt->context_enable_lazy(cxt, 1);
		if (mnt->context_set_target(cxt, target) < 0)
			return snap_error_set(err, -ENOMEM, "unmount %s: out of memory", target);
		int rc = mnt->context_umount(cxt);
		if (rc == 0)
			return 0;
		int r = context_errno(mnt, cxt, rc);
		/* A busy mount is detached lazily as the last resort: the tree
		 * goes away once its last user does. */
		if (r == -EBUSY && !lazy)
			continue;
		return snap_error_set(err, r, "unmount %s: %s", target, strerror(-r));
	}
	return -EBUSY;
}
