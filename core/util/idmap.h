/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User-namespace id mappings, as containerd 2.x names them on snapshots:
 * labels containerd.io/snapshot/uidmapping and .../gidmapping, each a
 * comma-separated list of "containerID:hostID:size" ranges, and the mount
 * options "uidmap=..." / "gidmap=..." with the same value.
 *
 * And the user namespace such a mapping describes, as the fd that
 * mount_setattr(MOUNT_ATTR_IDMAP) takes.
 */
#ifndef SNAP_IDMAP_H
#define SNAP_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <snapctl/driver.h>

/* The kernel takes at most 340 lines in a uid_map / gid_map. */
#define SNAP_IDMAP_MAX 340

struct snap_idrange {
	uint32_t ctr;  /* first id inside the namespace (as stored on disk) */
	uint32_t host; /* first id outside (what the host sees) */
	uint32_t size;
};

struct snap_idmap {
	struct snap_idrange uid[SNAP_IDMAP_MAX];
	struct snap_idrange gid[SNAP_IDMAP_MAX];
	size_t n_uid, n_gid;
};

/* Parse one mapping value strictly: decimal numbers only (no sign, no
 * spaces, no leading zeros), size >= 1, no range reaching 2^32-1 (the
 * kernel's invalid id), no overlap between ranges on either side, at most
 * SNAP_IDMAP_MAX ranges.  `what` names the value in messages.  Returns 0
 * or -EINVAL with err set. */
int snap_idmap_parse(const char *value, const char *what, struct snap_idrange *ret, size_t *ret_n,
		     struct snap_error *err);

/* The mapping a snapshot's labels ask for.  Returns 1 with *ret filled
 * when both labels are set, 0 when neither is, -EINVAL (err set) when
 * only one is or either is malformed. */
int snap_idmap_from_labels(const struct snap_label *labels, size_t n, struct snap_idmap *ret,
			   struct snap_error *err);

/* Host id of container id `id`; false when `id` is not mapped. */
bool snap_idmap_to_host(const struct snap_idrange *v, size_t n, uint32_t id, uint32_t *ret);

/* The ids the namespace's root has outside (container 0), or the first
 * range's host id when 0 is not mapped. */
void snap_idmap_root(const struct snap_idmap *m, uid_t *ret_uid, gid_t *ret_gid);

/* An fd of a user namespace with exactly this mapping (O_CLOEXEC; the
 * caller closes it).  Namespaces are made by a child that enters a new
 * user namespace and waits while its maps are written and its
 * /proc/PID/ns/user opened; they are kept per mapping for the life of the
 * process (a few at most: new ones evict the oldest), so a second mount
 * with the same mapping costs a dup().  Returns the fd or -errno. */
int snap_idmap_userns_fd(const struct snap_idmap *m, struct snap_error *err);

/* A detached clone of the tree at `path` (recursive with
 * SNAP_IDMAP_RECURSIVE), idmapped through the user namespace `userns_fd`
 * and read-only with SNAP_IDMAP_RDONLY.  Returns the mount fd or -errno
 * (-EINVAL: the filesystem cannot be idmapped). */
#define SNAP_IDMAP_RDONLY 0x1u
#define SNAP_IDMAP_RECURSIVE 0x2u
int snap_idmap_clone(const char *path, int userns_fd, unsigned flags, struct snap_error *err);

/* Bind `src` on `target` idmapped with `m` (read-only with
 * SNAP_IDMAP_RDONLY).  Returns 0 or -errno. */
int snap_idmap_bind(const char *src, const char *target, const struct snap_idmap *m, unsigned flags,
		    struct snap_error *err);

/* Can the filesystem holding `path` be idmapped?  1 yes, 0 no (with the
 * reason in err), -errno when it could not be tried. */
int snap_idmap_supported(const char *path, struct snap_error *err);

/* containerd 2.x's mount options for a snapshot's mapping labels:
 * "uidmap=V" and "gidmap=V" (to free) and 1, or 0 without labels (both
 * NULL), or -ENOMEM.  The labels were validated when the snapshot was made. */
int snap_idmap_mount_options(const struct snap_ref *snap, char **ret_uid, char **ret_gid);

/* The chown walk (idmap-chown.c), containerd's remap fallback where a
 * filesystem cannot be idmapped: every inode under dirfd (and dirfd itself)
 * gets the host ids of its ids.  Returns 0 or -errno. */
struct snap_idmap_chown_stats {
	uint64_t entries; /* inodes chowned */
	uint64_t bytes;   /* their apparent size */
};
int snap_idmap_chown_tree(int dirfd, const struct snap_idmap *map, struct snap_idmap_chown_stats *stats);

/* Is the mapping the identity (every range ctr == host)?  Mounting through
 * it changes nothing. */
bool snap_idmap_is_identity(const struct snap_idmap *m);

#endif
