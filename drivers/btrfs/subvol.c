/* SPDX-License-Identifier: Apache-2.0 */
/* Subvolume operations through libbtrfsutil (never the `btrfs` tool), and
 * the raw tree search the usage and diff code read the trees with. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <btrfsutil.h>

#include "btrfs-internal.h"
#include "util/macro.h"

/* libbtrfsutil leaves the failing syscall's errno in place; its own
 * description names the step (e.g. "Could not create subvolume"). */
static int util_error(struct snap_error *err, enum btrfs_util_error e, const char *op,
		      const char *what)
{
	int r = negative_errno();
	return snap_error_set(err, r, "%s %s: %s: %s", op, what, btrfs_util_strerror(e),
			      strerror(-r));
}

int btrfs_subvol_create(int dirfd, const char *name, const char *what, struct snap_error *err)
{
	enum btrfs_util_error e = btrfs_util_create_subvolume_fd(dirfd, name, 0, NULL, NULL);
	if (e != BTRFS_UTIL_OK)
		return util_error(err, e, "create subvolume", what);
	return 0;
}

int btrfs_subvol_snapshot(int srcfd, int dirfd, const char *name, bool readonly,
			  const char *what, struct snap_error *err)
{
	int flags = readonly ? BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY : 0;
	enum btrfs_util_error e = btrfs_util_create_snapshot_fd2(srcfd, dirfd, name, flags, NULL,
								 NULL);
	if (e != BTRFS_UTIL_OK)
		return util_error(err, e, "snapshot subvolume", what);
	return 0;
}

int btrfs_subvol_set_readonly(int fd, bool ro, const char *what, struct snap_error *err)
{
	enum btrfs_util_error e = btrfs_util_set_subvolume_read_only_fd(fd, ro);
	if (e != BTRFS_UTIL_OK)
		return util_error(err, e, ro ? "set read-only" : "set writable", what);
	return 0;
}

int btrfs_subvol_delete(int dirfd, const char *name, const char *what, struct snap_error *err)
{
	/* RECURSIVE: a container may have created subvolumes inside its tree. */
	enum btrfs_util_error e = btrfs_util_delete_subvolume_fd(
		dirfd, name, BTRFS_UTIL_DELETE_SUBVOLUME_RECURSIVE);
	if (e != BTRFS_UTIL_OK)
		return util_error(err, e, "delete subvolume", what);
	return 0;
}

int btrfs_subvol_id(int fd, uint64_t *ret)
{
	uint64_t id;
	if (btrfs_util_subvolume_id_fd(fd, &id) != BTRFS_UTIL_OK)
		return negative_errno();
	*ret = id;
	return 0;
}

/* Subvolume `id` (0: the one fd is in) of fd's filesystem. */
static int facts_of(int fd, uint64_t id, struct btrfs_subvol_facts *ret)
{
	struct btrfs_util_subvolume_info info;
	if (btrfs_util_subvolume_info_fd(fd, id, &info) != BTRFS_UTIL_OK)
		return negative_errno();
	*ret = (struct btrfs_subvol_facts){
		.id = info.id,
		.generation = info.generation,
		.otransid = info.otransid,
		.ctransid = info.ctransid,
		.readonly = (info.flags & BTRFS_ROOT_SUBVOL_RDONLY) != 0,
	};
	memcpy(ret->uuid, info.uuid, sizeof(ret->uuid));
	memcpy(ret->parent_uuid, info.parent_uuid, sizeof(ret->parent_uuid));
	return 0;
}

int btrfs_subvol_facts(int fd, struct btrfs_subvol_facts *ret)
{
	return facts_of(fd, 0, ret);
}

static int uuid_cb(const struct btrfs_search_item *it, void *ctx)
{
	if (it->type != BTRFS_UUID_KEY_SUBVOL || it->len < sizeof(uint64_t))
		return 0;
	uint64_t id;
	memcpy(&id, it->data, sizeof(id));
	*(uint64_t *)ctx = le64toh(id);
	return 1;
}

int btrfs_subvol_facts_by_uuid(int fd, const uint8_t uuid[16], struct btrfs_subvol_facts *ret)
{
	static const uint8_t none[16];
	if (memcmp(uuid, none, sizeof(none)) == 0)
		return -ENOENT;
	/* The uuid tree's key is the uuid itself, as two little-endian
	 * halves (fs/btrfs/uuid-tree.c). */
	uint64_t hi, lo, id = 0;
	memcpy(&hi, uuid, sizeof(hi));
	memcpy(&lo, uuid + 8, sizeof(lo));
	struct btrfs_key k = { le64toh(hi), BTRFS_UUID_KEY_SUBVOL, le64toh(lo) };
	int r = btrfs_tree_search(fd, BTRFS_UUID_TREE_OBJECTID, &k, &k, 0, uuid_cb, &id);
	if (r < 0)
		return r;
	if (id == 0)
		return -ENOENT;
	return facts_of(fd, id, ret);
}

void btrfs_subvol_base(int fd, const struct btrfs_subvol_facts *f, struct btrfs_subvol_base *ret)
{
	struct btrfs_subvol_base b = { .otransid = f->otransid };
	memcpy(b.origin_uuid, f->parent_uuid, sizeof(b.origin_uuid));
	/* Follow the sources while they are writable: a clone's source is an
	 * active snapshot; the chain ends at a read-only subvolume (a
	 * committed snapshot, the parent) or where a source is gone. */
	for (int depth = 0; depth < 8; depth++) {
		struct btrfs_subvol_facts src;
		/* Gone, being deleted, or unreadable: the chain ends here.
		 * A diff then finds the origin is not the parent and walks
		 * both trees; usage counts from here. */
		if (btrfs_subvol_facts_by_uuid(fd, b.origin_uuid, &src) < 0 || src.readonly)
			break;
		b.otransid = src.otransid;
		memcpy(b.origin_uuid, src.parent_uuid, sizeof(b.origin_uuid));
		b.cloned = true;
	}
	*ret = b;
}

static int key_cmp(const struct btrfs_key *a, const struct btrfs_key *b)
{
	if (a->objectid != b->objectid)
		return a->objectid < b->objectid ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

/* The key right after k in key order. */
static bool key_next(struct btrfs_key *k)
{
	if (k->offset < UINT64_MAX) {
		k->offset++;
		return true;
	}
	k->offset = 0;
	if (k->type < UINT8_MAX) {
		k->type++;
		return true;
	}
	k->type = 0;
	if (k->objectid < UINT64_MAX) {
		k->objectid++;
		return true;
	}
	return false;
}

#define SEARCH_BUF_SIZE (64 * 1024)

int btrfs_tree_search(int fd, uint64_t tree_id, const struct btrfs_key *min,
		      const struct btrfs_key *max, uint64_t min_transid, btrfs_search_cb cb,
		      void *ctx)
{
	_cleanup_free_ struct btrfs_ioctl_search_args_v2 *args =
		malloc(sizeof(*args) + SEARCH_BUF_SIZE);
	if (!args)
		return -ENOMEM;
	struct btrfs_key cur = *min;

	for (;;) {
		memset(&args->key, 0, sizeof(args->key));
		args->key.tree_id = tree_id;
		args->key.min_objectid = cur.objectid;
		args->key.min_type = cur.type;
		args->key.min_offset = cur.offset;
		args->key.max_objectid = max->objectid;
		args->key.max_type = max->type;
		args->key.max_offset = max->offset;
		args->key.min_transid = min_transid;
		args->key.max_transid = UINT64_MAX;
		args->key.nr_items = UINT32_MAX;
		args->buf_size = SEARCH_BUF_SIZE;
		if (ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2, args) < 0)
			return negative_errno();
		if (args->key.nr_items == 0)
			return 0;

		size_t off = 0;
		struct btrfs_key last = cur;
		for (uint32_t i = 0; i < args->key.nr_items; i++) {
			struct btrfs_ioctl_search_header sh;
			memcpy(&sh, (const char *)args->buf + off, sizeof(sh));
			off += sizeof(sh);
			last = (struct btrfs_key){ .objectid = sh.objectid, .type = (uint8_t)sh.type,
						   .offset = sh.offset };
			struct btrfs_search_item item = {
				.objectid = sh.objectid,
				.type = sh.type,
				.offset = sh.offset,
				.transid = sh.transid,
				.data = (const char *)args->buf + off,
				.len = sh.len,
			};
			off += sh.len;
			int r = cb(&item, ctx);
			if (r < 0)
				return r;
			if (r > 0)
				return 0;
		}
		if (key_cmp(&last, max) >= 0 || !key_next(&last))
			return 0;
		cur = last;
	}
}

int btrfs_open_subvol(const struct snap_ref *ref, int *ret_fd, struct snap_error *err)
{
	_cleanup_close_ int dfd = open(ref->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(err, negative_errno(), "open snapshot %" PRIu64 " (%s): %s",
				      ref->id, ref->path, strerror(errno));
	int fd = openat(dfd, BTRFS_SUBVOL_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(),
				      "open subvolume of snapshot %" PRIu64 " (%s/" BTRFS_SUBVOL_NAME
				      "): %s",
				      ref->id, ref->path, strerror(errno));
	*ret_fd = fd;
	return 0;
}
