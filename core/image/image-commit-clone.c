/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A commit's layer without applying it again.  A commit writes the
 * container's changes as a layer blob and then needs a committed snapshot
 * holding that layer on the image's top layer.  Applying the blob into a
 * prepared snapshot writes every byte once more (the commit-image bench's
 * 100 MiB log: about half of a btrfs commit).  Where the driver can clone
 * (btrfs: a snapshot of the container's subvolume, O(1)), the container is
 * cloned under the unpacker's staging key first and the blob is written
 * from the clone.  The clone is a frozen copy, so the layer is by
 * construction the clone's diff against the parent: its diff ID is what
 * `verify` recomputes from the committed snapshot, and a container still
 * writing cannot make the blob and the snapshot disagree.
 *
 * A layer does not carry everything a tree holds, so the clone is kept
 * only when applying the layer to the parent gives the clone back:
 *   - no file in the layer has links outside it and no entry has xattrs a
 *     layer never carries (the diff's SNAP_DIFF_INEXACT_*);
 *   - the root, which no layer has as an entry, has the parent root's
 *     mode, owner and xattrs;
 *   - no name at the root is one the differ leaves out (an apply's undo
 *     directory, SNAP_APPLY_BACKUP_PREFIX).
 * Otherwise the clone is removed and the blob applied, as for any layer.
 * What no layer carries either way: atimes, ctimes, the root's times,
 * inode flags (chattr), holes.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image-internal.h"
#include "layer/layer-internal.h"
#include "layer/layer-names.h"
#include "snapshot/driver-call.h"
#include "util/fs-util.h"

int img_clone_container(struct snap_core *core, const char *container, const char *parent_chain,
			char *ret_key, size_t key_size, struct snap_error *err)
{
	*ret_key = '\0';
	if (!parent_chain || !*parent_chain)
		return 0; /* a scratch image: the root would come from nothing */
	_cleanup_(snap_info_done) struct snap_info info = { 0 };
	int r = snap_stat(core, container, &info, err);
	if (r < 0)
		return r;
	if (info.kind != SNAP_KIND_ACTIVE || !info.parent || strcmp(info.parent, parent_chain) != 0)
		return 0;
	char key[128];
	r = img_staging_key(key, sizeof(key), err);
	if (r < 0)
		return r;
	struct snap_error e = { 0 };
	r = snap_core_clone(core, key, container, &e);
	if (r == -EOPNOTSUPP)
		return 0;
	if (r < 0) {
		*err = e;
		return snap_error_prefix(err, "commit %s", container);
	}
	snprintf(ret_key, key_size, "%s", key);
	return 0;
}

/* The parent's tree where the driver keeps it frozen (btrfs: its read-only
 * subvolume); -EOPNOTSUPP for a driver that keeps none. */
static int open_frozen(struct snap_core *core, const char *key, int *ret_fd, struct snap_error *err)
{
	const struct snap_driver *drv = snap_core_driver(core);
	if (!snap_drv_frozen_tree(drv))
		return snap_error_set(err, -EOPNOTSUPP, "driver '%s' keeps no frozen tree", drv->name);
	_cleanup_(snap_chain_done) struct snap_chain_owned chain = { 0 };
	int r = snap_chain_get(core, key, &chain, err);
	if (r < 0)
		return r;
	if (chain.self.kind != SNAP_KIND_COMMITTED)
		return snap_error_set(err, -EINVAL, "'%s' is not committed", key);
	return snap_drv_open_tree(drv, snap_core_driver_state(core), &chain.self, ret_fd, err);
}

/* Why applying the layer to the parent would not give the clone (its tree
 * open at nfd) back, or NULL when it would. */
static int clone_differs(struct snap_core *core, int nfd, const char *parent_chain,
			 const struct snap_layer_digests *dg, const char **ret_why, struct snap_error *err)
{
	*ret_why = NULL;
	if (dg->inexact & SNAP_DIFF_INEXACT_LINKS) {
		*ret_why = "a file in the layer has links outside it";
		return 0;
	}
	if (dg->inexact & SNAP_DIFF_INEXACT_XATTRS) {
		*ret_why = "an entry has xattrs no layer carries";
		return 0;
	}
	_cleanup_close_ int ofd = -EBADF;
	struct snap_error e = { 0 };
	if (open_frozen(core, parent_chain, &ofd, &e) < 0) {
		*ret_why = "the parent's tree cannot be read in place";
		return 0;
	}
	struct stat ns, os;
	if (fstat(nfd, &ns) < 0 || fstat(ofd, &os) < 0)
		return snap_error_set(err, negative_errno(), "commit: stat the roots: %s", strerror(errno));
	if (ns.st_mode != os.st_mode || ns.st_uid != os.st_uid || ns.st_gid != os.st_gid) {
		*ret_why = "the root's mode or owner changed";
		return 0;
	}
	int r;
	_cleanup_(snap_xattrs_done) struct snap_xattrs nx = { 0 }, ox = { 0 };
	if ((r = snap_xattrs_read_at(nfd, ".", true, &nx)) < 0 || (r = snap_xattrs_read_at(ofd, ".", true, &ox)) < 0)
		return snap_error_set(err, r, "commit: read the xattrs of the roots: %s", strerror(-r));
	if (!snap_xattrs_equal(&nx, &ox)) {
		*ret_why = "the root's xattrs changed";
		return 0;
	}
	_cleanup_(snap_names_done) struct snap_names all = { 0 }, kept = { 0 };
	if ((r = snap_dir_list_sorted(nfd, NULL, &all)) < 0 ||
	    (r = snap_dir_list_sorted(nfd, SNAP_APPLY_BACKUP_PREFIX, &kept)) < 0)
		return snap_error_set(err, r, "commit: list the root: %s", strerror(-r));
	if (all.n != kept.n)
		*ret_why = "a name at the root is one a layer leaves out";
	return 0;
}

/* Durable as an applied layer would be: synced with --sync=full (its
 * tree open at nfd), else recorded as pending with its blob
 * (core/pending-trees.h).  *ret_pending: not synced. */
static int clone_settle(struct snap_core *core, int nfd, const char *what, bool *ret_pending,
			struct snap_error *err)
{
	bool sync = snap_core_sync_trees(core);
	*ret_pending = !sync && !snap_core_no_sync(core);
	if (!sync)
		return 0;
	_cleanup_close_ int sfd = openat(nfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || syncfs(sfd) < 0)
		return snap_error_set(err, negative_errno(), "commit layer %s: syncfs: %s", what, strerror(errno));
	return 0;
}

int img_commit_clone(struct snap_core *core, const char *key, const char *parent_chain,
		     struct img_layer *layer, const struct snap_layer_digests *dg, struct img_created *created,
		     bool *ret_kept, struct snap_error *err)
{
	*ret_kept = false;
	_cleanup_close_ int nfd = -EBADF;
	const char *why = NULL;
	uint64_t size = 0;
	int r = snap_core_open_tree(core, key, &nfd, err);
	if (r == 0)
		r = clone_differs(core, nfd, parent_chain, dg, &why, err);
	if (r == 0 && !why && (r = snap_chain_id(parent_chain, layer->diff_id, layer->chain_id)) < 0)
		snap_error_set(err, r, "layer %s: bad diff_id %s", layer->blob_digest, layer->diff_id);
	/* 1: the same layer is there already; <0 also for a snapshot of its
	 * name that is not one, which fails the commit as it fails an unpack */
	if (r == 0 && !why)
		r = img_existing_layer(core, layer->chain_id, parent_chain, layer->diff_id, &size, err);
	if (r != 0 || why) {
		snap_remove(core, key, NULL);
		if (r > 0) {
			layer->diff_size = size;
			*ret_kept = true;
		}
		return r < 0 ? r : 0;
	}
	layer->diff_size = dg->diff_size;
	bool pending = false;
	r = clone_settle(core, nfd, layer->chain_id, &pending, err);
	if (r < 0) {
		snap_remove(core, key, NULL);
		return r;
	}
	r = img_commit_staged(core, key, parent_chain, layer, pending, created, NULL, err);
	*ret_kept = r == 0;
	return r;
}
