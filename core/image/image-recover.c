/* SPDX-License-Identifier: Apache-2.0 */
/*
 * After a reboot: the layer trees unpacked unsynced in an earlier boot
 * (core/pending-trees.c) may have lost pages in a power loss.  Each is
 * compared with its layer (snap_layer_verify: the canonical diff ID, then
 * entry by entry against the blob), and one that differs is applied again
 * from its blob in place, under the apply's undo journal, and synced.
 * Parents come first (lower snapshot ids), so an overlay child's lower
 * layers are whole when it is compared.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core-internal.h"
#include "image/image-internal.h"
#include "layer/layer.h"
#include "pending-trees.h"

static bool intact(const struct snap_layer_verify *v)
{
	return v->diff_id_match || (v->blob_compared && v->n_drift_total == 0);
}

static int verify_tree(struct snap_core *core, const struct snap_pending_row *p, int blobfd, bool *ret_intact,
		       size_t *ret_drift, struct snap_error *err)
{
	if (blobfd >= 0 && lseek(blobfd, 0, SEEK_SET) < 0)
		return snap_error_set(err, negative_errno(), "blob %s: seek: %s", p->blob_digest, strerror(errno));
	struct snap_layer_verify v = { 0 };
	int r = snap_layer_verify(core, p->key, p->diff_id, blobfd, &v, err);
	if (r < 0)
		return r;
	*ret_intact = intact(&v);
	*ret_drift = v.n_drift_total;
	snap_layer_verify_done(&v);
	return 0;
}

/* One pending tree: 0 when it is whole (found so, or made so) and its row
 * dropped, -errno with err set otherwise. */
static int recover_one(struct snap_core *core, const struct snap_pending_row *p, struct snap_error *err)
{
	struct snap_error be = { 0 };
	_cleanup_close_ int blobfd = snap_content_open(core, p->blob_digest, NULL, &be);
	bool ok = false;
	size_t drift = 0;
	int r = verify_tree(core, p, blobfd, &ok, &drift, err);
	if (r < 0)
		return r;
	if (!ok) {
		if (blobfd < 0)
			return snap_error_set(err, -ENOENT,
					      "layer tree '%s' differs from its diff ID %s and cannot be unpacked "
					      "again: %s; remove its images and import them again",
					      p->key, p->diff_id, be.message);
		if (lseek(blobfd, 0, SEEK_SET) < 0)
			return snap_error_set(err, negative_errno(), "blob %s: seek: %s", p->blob_digest,
					      strerror(errno));
		struct snap_layer_digests dg = { 0 };
		r = snap_layer_reapply_fd(core, p->key, blobfd, &dg, err);
		if (r < 0)
			return r;
		if (strcmp(dg.diff_id, p->diff_id) != 0)
			return snap_error_set(err, -EIO, "layer tree '%s': blob %s now hashes to %s, not %s", p->key,
					      p->blob_digest, dg.diff_id, p->diff_id);
		size_t before = drift;
		r = verify_tree(core, p, blobfd, &ok, &drift, err);
		if (r < 0)
			return r;
		if (!ok)
			return snap_error_set(err, -EIO,
					      "layer tree '%s' still differs from its layer after it was applied "
					      "again (%zu paths)",
					      p->key, drift);
		snap_core_notice(core, "layer tree '%s' was damaged (%zu paths) and is unpacked again from %s",
				 p->key, before, p->blob_digest);
	}
	return snap_pending_delete(core, p->id, p->created_ns, err);
}

int snap_pending_recover(struct snap_core *core, struct snap_error *err)
{
	_cleanup_(snap_pending_list_done) struct snap_pending_list l = { 0 };
	int r = snap_pending_other_boot(core, &l, err);
	if (r < 0)
		return r;
	/* Rows carry their snapshot's namespace; keys are looked up in it. */
	char ns[SNAP_NAMESPACE_MAX + 1];
	memcpy(ns, core->ns, sizeof(ns));
	bool from_key = core->ns_from_key;
	core->ns_from_key = false;
	int first = 0;
	size_t failed = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct snap_error e = { 0 };
		snprintf(core->ns, sizeof(core->ns), "%s", l.v[i].ns);
		int q = recover_one(core, &l.v[i], &e);
		if (q < 0) {
			snap_core_notice(core, "warning: %s", e.message);
			failed++;
			if (!first)
				first = q;
		}
	}
	memcpy(core->ns, ns, sizeof(ns));
	core->ns_from_key = from_key;
	if (failed)
		return snap_error_set(err, first, "%zu of %zu layer trees from before the reboot are not whole",
				      failed, l.n);
	return 0;
}
