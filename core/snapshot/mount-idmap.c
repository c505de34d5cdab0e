/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mount list entries with containerd 2.x's "uidmap=" / "gidmap=" options:
 * a bind becomes an idmapped clone of its source moved onto the target; any
 * other single-filesystem mount (btrfs subvolid=N) is mounted as usual and
 * then replaced by an idmapped clone of itself, which is what containerd's
 * mount code does for non-overlay types.  An overlay list entry cannot be
 * idmapped after the fact (its layers must be): the driver mounts those.
 */
#include "snapshot/mount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "util/idmap.h"
#include "util/macro.h"

static const char *option_value(const struct snap_mount *m, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < m->n_options; i++)
		if (strncmp(m->options[i], key, klen) == 0 && m->options[i][klen] == '=')
			return m->options[i] + klen + 1;
	return NULL;
}

int snap_mount_idmap_of(const struct snap_mount *m, struct snap_idmap **ret, struct snap_error *err)
{
	const char *u = option_value(m, "uidmap"), *g = option_value(m, "gidmap");
	*ret = NULL;
	if (!u && !g)
		return 0;
	if (!u || !g)
		return snap_error_set(err, -EINVAL, "mount %s %s: %s without %s", m->type, m->source,
				      u ? "uidmap" : "gidmap", u ? "gidmap" : "uidmap");
	_cleanup_free_ struct snap_idmap *map = calloc(1, sizeof(*map));
	if (!map)
		return snap_error_set(err, -ENOMEM, "mount %s: out of memory", m->source);
	int r = snap_idmap_parse(u, "uidmap", map->uid, &map->n_uid, err);
	if (r == 0)
		r = snap_idmap_parse(g, "gidmap", map->gid, &map->n_gid, err);
	if (r < 0)
		return snap_error_prefix(err, "mount %s %s", m->type, m->source);
	*ret = TAKE_PTR(map);
	return 1;
}

struct snap_mount snap_mount_without_idmap(const struct snap_mount *m, char **buf)
{
	struct snap_mount out = *m;
	out.options = buf;
	out.n_options = 0;
	for (size_t i = 0; i < m->n_options; i++)
		if (strncmp(m->options[i], "uidmap=", 7) != 0 && strncmp(m->options[i], "gidmap=", 7) != 0)
			buf[out.n_options++] = m->options[i];
	buf[out.n_options] = NULL;
	return out;
}

int snap_mount_idmap_in_place(const char *target, const struct snap_idmap *map, struct snap_error *err)
{
	_cleanup_close_ int ns = snap_idmap_userns_fd(map, err);
	if (ns < 0)
		return ns;
	_cleanup_close_ int fd = snap_idmap_clone(target, ns, SNAP_IDMAP_RECURSIVE, err);
	if (fd < 0)
		return fd;
	/* Swap the plain mount for its idmapped clone. */
	if (umount2(target, MNT_DETACH) < 0)
		return snap_error_set(err, negative_errno(), "idmap %s: unmount the plain mount: %s", target,
				      strerror(errno));
	if (move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return snap_error_set(err, negative_errno(), "idmap %s: move_mount: %s", target, strerror(errno));
	return 0;
}
