/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer engine's core-facing side: resolve a snapshot key to trees and
 * call the directory-fd engine (layer-apply.c, layer-diff.c, tar-writer.c).
 *
 * Diff trees: the snapshot and its parent are mounted read-only under a
 * staging directory in ROOT/tmp (the snapshot itself when active, a
 * temporary view of it when committed; a temporary view of the parent).
 * Going through mounts gives the merged tree on every driver (overlay's
 * upper dir alone is not the tree).  A committed tree the driver keeps
 * whole and read-only (SNAP_DRIVER_CAP_FROZEN_TREE: btrfs' read-only
 * subvolume) is read where it is instead: a view there is no bind of it
 * (vfs) or lower stack (overlay) but a new snapshot, a transaction commit
 * to make and a subvolume deletion to drop, whose inodes are new to the
 * page cache, so every file the diff reads comes off the disk again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core-internal.h"
#include "snapshot/driver-call.h"
#include "snapshot/temp-keys.h"
#include "layer/layer-internal.h"
#include "layer/layer.h"
#include "util/fs-util.h"
#include "util/macro.h"

struct diff_trees;

/* The whiteout hook's state: the core, and the parent, mounted read-only
 * (a view of it, as a diff's old tree) the first time the apply asks for
 * the layers below. */
struct hook_ctx {
	struct snap_core *core;
	const char *parent;
	struct diff_trees *lower;
};

static int whiteout_call(void *state, int dirfd, const char *name, int kind, struct snap_error *err)
{
	struct hook_ctx *h = state;
	return snap_drv_apply_whiteout(snap_core_driver(h->core), snap_core_driver_state(h->core), dirfd, name,
				       kind, err);
}

static int lower_root_call(void *state, struct snap_error *err);
static void hook_ctx_done(struct hook_ctx *h);

/* The tree is a temporary snapshot of this process (temp-keys.h): no undo
 * journal on disk. */
#define APPLY_PRIVATE_TREE 0x100u

/* Apply into the tree of `key` (info: its row) under an undo journal. */
static int apply_into(struct snap_core *core, const char *key, const struct snap_info *info, int treefd,
		      int fd, unsigned flags, struct snap_layer_digests *ret, struct snap_error *err)
{
	struct hook_ctx hctx = { .core = core, .parent = info->parent, .lower = NULL };
	struct snap_whiteout_hook hook = { .fn = whiteout_call, .lower_root = lower_root_call, .state = &hctx };
	/* Without a parent there is nothing below to hide: the driver's
	 * whiteouts (overlay's 0/0 devices) would only show up as devices in
	 * a one-layer view of this snapshot, so they are not made. */
	bool has_hook = info->parent && info->parent[0] &&
			snap_drv_has(snap_core_driver(core), SNAP_DRV_APPLY_WHITEOUT);
	if (flags & APPLY_PRIVATE_TREE) {
		/* No one else sees the tree and gc removes it whole if we die:
		 * the in-memory undo is enough, no journal on disk. */
		int r = snap_layer_apply_journaled(treefd, fd, has_hook ? &hook : NULL, -EBADF,
						   flags & ~APPLY_PRIVATE_TREE, ret, err);
		hook_ctx_done(&hctx);
		return r < 0 ? snap_error_prefix(err, "apply to '%s'", key) : 0;
	}
	/* The undo journal outside the tree, in a staging directory locked
	 * while this process lives: if it dies, check --repair plays the
	 * journal back (apply-replay.c) and the snapshot is as before. */
	_cleanup_free_ char *staging = NULL;
	int r = snap_core_mkstaging(core, SNAP_APPLY_JOURNAL_STAGING, &staging, err);
	if (r < 0)
		return snap_error_prefix(err, "apply layer to '%s'", key);
	_cleanup_close_ int sfd = open(staging, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int jfd = sfd < 0 ? -EBADF
					  : openat(sfd, SNAP_APPLY_JOURNAL_NAME,
						   O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	char undo[64], header[256];
	snap_apply_undo_name(undo, sizeof(undo), (int)getpid());
	int n = snap_layer_journal_header(header, sizeof(header), info->id, undo);
	if (jfd < 0 || n < 0 || (r = snap_write_all(jfd, header, (size_t)n)) < 0)
		r = snap_error_set(err, jfd < 0 ? negative_errno() : n < 0 ? n : r,
				   "apply layer to '%s': create the undo journal in %s: %s", key, staging,
				   strerror(jfd < 0 ? errno : n < 0 ? -n : -r));
	else
		r = snap_layer_apply_journaled(treefd, fd, has_hook ? &hook : NULL, jfd, flags, ret, err);
	hook_ctx_done(&hctx);
	/* Done or rolled back: the journal has nothing left to undo. */
	int q = snap_rm_rf_at(AT_FDCWD, staging);
	snap_core_staging_done(core, staging);
	if (r < 0)
		return snap_error_prefix(err, "apply to '%s'", key);
	if (q < 0)
		return snap_error_set(err, q, "apply to '%s': remove %s: %s", key, staging, strerror(-q));
	return 0;
}

static int apply_active(struct snap_core *core, const char *key, int fd, unsigned flags,
			struct snap_layer_digests *ret, struct snap_error *err)
{
	_cleanup_(snap_info_done) struct snap_info info = { 0 };
	int r = snap_stat(core, key, &info, err);
	if (r < 0)
		return snap_error_prefix(err, "apply layer to '%s'", key);
	if (info.kind != SNAP_KIND_ACTIVE)
		return snap_error_set(err, info.kind == SNAP_KIND_COMMITTED ? -EBUSY : -EINVAL,
				      "apply layer to '%s': snapshot is %s, not active", key,
				      info.kind == SNAP_KIND_COMMITTED ? "committed" : "a view");
	_cleanup_close_ int treefd = -EBADF;
	r = snap_core_open_tree(core, key, &treefd, err);
	if (r < 0)
		return snap_error_prefix(err, "apply layer to '%s'", key);
	return apply_into(core, key, &info, treefd, fd, flags, ret, err);
}

int snap_layer_apply_fd(struct snap_core *core, const char *key, int fd,
			struct snap_layer_digests *ret, struct snap_error *err)
{
	/* Nothing else holds what was applied: the tree is synced unless
	 * durability is off altogether. */
	return apply_active(core, key, fd, snap_core_no_sync(core) ? SNAP_APPLY_NO_SYNC : 0, ret, err);
}

int snap_layer_apply_blob_fd(struct snap_core *core, const char *key, int fd, bool *ret_pending,
			     struct snap_layer_digests *ret, struct snap_error *err)
{
	bool sync = snap_core_sync_trees(core);
	/* The unpacker's staging snapshot ("snapctl-unpack-PID-...", the
	 * only caller) is private to this process, and gc and check remove it
	 * whole once the process is gone (temp-keys.h).  The content store
	 * checked the blob's digest when it was written and the unpacker
	 * checks the diff ID: hashing the blob again would only cost a core
	 * (190 MiB of Debian-sized layers: ~0.1 s). */
	unsigned flags = (sync ? 0 : SNAP_APPLY_NO_SYNC) | SNAP_APPLY_NO_BLOB_DIGEST |
			 (snap_temp_key_private(key) ? APPLY_PRIVATE_TREE : 0);
	int r = apply_active(core, key, fd, flags, ret, err);
	*ret_pending = r == 0 && !sync && !snap_core_no_sync(core);
	return r;
}

int snap_layer_reapply_fd(struct snap_core *core, const char *key, int fd, struct snap_layer_digests *ret,
			  struct snap_error *err)
{
	_cleanup_(snap_info_done) struct snap_info info = { 0 };
	int r = snap_stat(core, key, &info, err);
	if (r < 0)
		return snap_error_prefix(err, "apply layer again to '%s'", key);
	_cleanup_close_ int treefd = -EBADF;
	r = snap_core_open_tree_id(core, info.id, key, info.kind, &treefd, err);
	if (r < 0)
		return snap_error_prefix(err, "apply layer again to '%s'", key);
	/* Synced: the pending row goes once this returns. */
	return apply_into(core, key, &info, treefd, fd, 0, ret, err);
}

/* ---- the two trees of a diff ---- */

struct diff_trees {
	struct snap_core *core;
	struct snap_chain_owned chain;
	char *staging;
	char *targets[2]; /* staging/new, staging/old */
	bool mounted[2];
	char *views[2];   /* temporary view keys, or NULL */
	int newfd, oldfd;
};

static void diff_trees_done(struct diff_trees *t)
{
	if (t->newfd >= 0)
		close(t->newfd);
	if (t->oldfd >= 0)
		close(t->oldfd);
	t->newfd = t->oldfd = -EBADF;
	for (int i = 0; i < 2; i++) {
		if (t->mounted[i])
			snap_unmount_at(t->targets[i], NULL);
		if (t->views[i])
			snap_remove(t->core, t->views[i], NULL);
		if (t->targets[i])
			rmdir(t->targets[i]);
		free(t->targets[i]);
		free(t->views[i]);
		t->targets[i] = t->views[i] = NULL;
		t->mounted[i] = false;
	}
	if (t->staging) {
		rmdir(t->staging);
		snap_core_staging_done(t->core, t->staging);
	}
	free(t->staging);
	t->staging = NULL;
	snap_chain_done(&t->chain);
}

/* Mount `key` (a view of it when committed) read-only on targets[i]. */
static int mount_tree(struct diff_trees *t, int i, const char *key, bool committed,
		      struct snap_error *err)
{
	static unsigned counter;
	const char *mkey = key;
	if (committed) {
		if (asprintf(&t->views[i], SNAP_TEMP_DIFF_PREFIX "%d-%u-%s", (int)getpid(), counter++,
			     i == 0 ? "self" : "parent") < 0) {
			t->views[i] = NULL;
			return snap_error_set(err, -ENOMEM, "out of memory");
		}
		int r = snap_view(t->core, t->views[i], key, NULL, NULL, err);
		if (r < 0) {
			free(t->views[i]);
			t->views[i] = NULL;
			return snap_error_prefix(err, "view of '%s'", key);
		}
		mkey = t->views[i];
	}
	/* The snapshot's own ids, whatever mapping its labels ask for. */
	int r = snap_mount_at(t->core, mkey, t->targets[i], SNAP_MOUNT_RDONLY | SNAP_MOUNT_NOIDMAP, err);
	if (r < 0)
		return r;
	t->mounted[i] = true;
	return 0;
}

/* The parent's tree, mounted once per apply that asks for it. */
static int lower_root_call(void *state, struct snap_error *err)
{
	struct hook_ctx *h = state;
	if (h->lower)
		return h->lower->oldfd;
	struct diff_trees *t = calloc(1, sizeof(*t));
	if (!t)
		return snap_error_set(err, -ENOMEM, "out of memory");
	*t = (struct diff_trees){ .core = h->core, .newfd = -EBADF, .oldfd = -EBADF };
	h->lower = t;
	int r = snap_core_mkstaging(h->core, "lower", &t->staging, err);
	if (r < 0)
		return r;
	if (asprintf(&t->targets[1], "%s/old", t->staging) < 0) {
		t->targets[1] = NULL;
		return snap_error_set(err, -ENOMEM, "out of memory");
	}
	if (mkdir(t->targets[1], 0700) < 0)
		return snap_error_set(err, negative_errno(), "mkdir %s: %s", t->targets[1], strerror(errno));
	if ((r = mount_tree(t, 1, h->parent, true, err)) < 0)
		return r;
	t->oldfd = open(t->targets[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->oldfd < 0)
		return snap_error_set(err, negative_errno(), "open %s: %s", t->targets[1], strerror(errno));
	return t->oldfd;
}

static void hook_ctx_done(struct hook_ctx *h)
{
	if (!h->lower)
		return;
	diff_trees_done(h->lower);
	free(h->lower);
	h->lower = NULL;
}

/* A directory fd of `ref`'s tree, side i: where the driver keeps it when
 * committed and frozen there, else mounted read-only on targets[i]. */
static int tree_open(struct diff_trees *t, int i, const struct snap_ref *ref, int *ret_fd,
		     struct snap_error *err)
{
	const struct snap_driver *drv = snap_core_driver(t->core);
	bool committed = ref->kind == SNAP_KIND_COMMITTED;
	if (committed && snap_drv_frozen_tree(drv))
		return snap_drv_open_tree(drv, snap_core_driver_state(t->core), ref, ret_fd, err);
	int r = mount_tree(t, i, ref->key, committed, err);
	if (r < 0)
		return r;
	int fd = open(t->targets[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "open %s: %s", t->targets[i], strerror(errno));
	*ret_fd = fd;
	return 0;
}

static int diff_trees_open(struct snap_core *core, const char *key, struct diff_trees *t,
			   struct snap_error *err)
{
	*t = (struct diff_trees){ .core = core, .newfd = -EBADF, .oldfd = -EBADF };
	int r = snap_chain_get(core, key, &t->chain, err);
	if (r < 0)
		return r;
	if (t->chain.self.kind == SNAP_KIND_VIEW)
		return snap_error_set(err, -EINVAL, "'%s' is a view: it has no changes of its own", key);
	if ((r = snap_core_mkstaging(core, "diff", &t->staging, err)) < 0)
		return r;
	for (int i = 0; i < 2; i++) {
		if (asprintf(&t->targets[i], "%s/%s", t->staging, i == 0 ? "new" : "old") < 0) {
			t->targets[i] = NULL;
			return snap_error_set(err, -ENOMEM, "out of memory");
		}
		if (mkdir(t->targets[i], 0700) < 0)
			return snap_error_set(err, negative_errno(), "mkdir %s: %s", t->targets[i],
					      strerror(errno));
	}
	r = tree_open(t, 0, &t->chain.self, &t->newfd, err);
	if (r == 0 && t->chain.n > 0)
		r = tree_open(t, 1, &t->chain.parents[0], &t->oldfd, err);
	if (r < 0)
		return r;
	/* Without a parent, "old" is the empty directory. */
	if (t->oldfd < 0 && (t->oldfd = open(t->targets[1], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return snap_error_set(err, negative_errno(), "open %s: %s", t->targets[1], strerror(errno));
	return 0;
}

/* Fill the collector: the driver's fast diff for an active snapshot unless
 * told otherwise, else (or when it says -EOPNOTSUPP) the generic walk. */
static int collect(struct diff_trees *t, unsigned flags, struct snap_diff_collector **ret,
		   struct snap_error *err)
{
	struct snap_diff_collector *c = NULL;
	if (snap_diff_collector_new(t->newfd, t->oldfd, &c) < 0)
		return snap_error_set(err, -ENOMEM, "out of memory");
	const struct snap_driver *drv = snap_core_driver(t->core);
	if (!(flags & SNAP_DIFF_GENERIC) && t->chain.self.kind == SNAP_KIND_ACTIVE &&
	    snap_drv_has(drv, SNAP_DRV_DIFF)) {
		struct snap_chain parents = { .refs = t->chain.parents, .n = t->chain.n };
		int r = snap_drv_diff(drv, snap_core_driver_state(t->core), &t->chain.self, &parents,
				      snap_diff_collector_sink(c), err);
		if (r == 0 && (r = snap_diff_collector_error(c, err)) == 0) {
			*ret = c;
			return 0;
		}
		snap_diff_collector_free(c);
		c = NULL;
		if (r != -EOPNOTSUPP)
			return r;
		snap_error_clear(err);
		if (snap_diff_collector_new(t->newfd, t->oldfd, &c) < 0)
			return snap_error_set(err, -ENOMEM, "out of memory");
	}
	int r = snap_diff_trees(t->oldfd, t->newfd, t->chain.self.prepared_ns, snap_diff_collector_sink(c), err);
	if (r < 0) {
		snap_diff_collector_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int snap_layer_diff_fd(struct snap_core *core, const char *key, int fd,
		       const struct snap_diff_opts *opts, struct snap_layer_digests *ret,
		       struct snap_error *err)
{
	struct diff_trees t;
	int r = diff_trees_open(core, key, &t, err);
	struct snap_diff_collector *c = NULL;
	if (r == 0)
		r = collect(&t, opts ? opts->flags : 0, &c, err);
	if (r == 0)
		r = snap_diff_collector_write(c, fd, opts ? opts->compression : SNAP_COMPRESS_NONE, ret, err);
	snap_diff_collector_free(c);
	diff_trees_done(&t);
	return r < 0 ? snap_error_prefix(err, "diff '%s'", key) : 0;
}

int snap_layer_changes(struct snap_core *core, const char *key, unsigned flags,
		       struct snap_changes *ret, struct snap_error *err)
{
	struct diff_trees t;
	int r = diff_trees_open(core, key, &t, err);
	struct snap_diff_collector *c = NULL;
	if (r == 0)
		r = collect(&t, flags, &c, err);
	if (r == 0)
		r = snap_diff_collector_changes(c, ret, err);
	snap_diff_collector_free(c);
	diff_trees_done(&t);
	return r < 0 ? snap_error_prefix(err, "changes of '%s'", key) : 0;
}

/* ---- verify ---- */

/* A sink that records every change and hands it on to the collector, so
 * one walk gives both the canonical diff and the change list. */
struct tee_sink {
	struct snap_change_sink sink;
	struct snap_change_sink *next;
	struct snap_changes changes;
	size_t cap;
};

static int tee_change(struct snap_change_sink *sink, int kind, const char *path, int src_dirfd)
{
	struct tee_sink *t = sink->opaque;
	if (t->changes.n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct snap_change *nv = realloc(t->changes.v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->changes.v = nv;
		t->cap = ncap;
	}
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	t->changes.v[t->changes.n++] = (struct snap_change){ .kind = kind, .path = p };
	return t->next->change(t->next, kind, path, src_dirfd);
}

int snap_layer_verify(struct snap_core *core, const char *key, const char *expected_diff_id,
		      int blobfd, struct snap_layer_verify *ret, struct snap_error *err)
{
	*ret = (struct snap_layer_verify){ 0 };
	struct diff_trees t;
	int r = diff_trees_open(core, key, &t, err);
	struct snap_diff_collector *c = NULL;
	struct tee_sink tee = { .sink.change = tee_change };
	tee.sink.opaque = &tee;
	if (r == 0 && snap_diff_collector_new(t.newfd, t.oldfd, &c) < 0)
		r = snap_error_set(err, -ENOMEM, "out of memory");
	if (r == 0) {
		tee.next = snap_diff_collector_sink(c);
		/* The generic walk, never a fast diff: what is on disk is the
		 * question, not what a driver remembers having changed. */
		r = snap_diff_trees(t.oldfd, t.newfd, t.chain.self.prepared_ns, &tee.sink, err);
	}
	/* The canonical tar is hashed as it is written; /dev/null keeps no byte. */
	_cleanup_close_ int devnull = r == 0 ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -EBADF;
	if (r == 0 && devnull < 0)
		r = snap_error_set(err, negative_errno(), "open /dev/null: %s", strerror(errno));
	struct snap_layer_digests dg = { 0 };
	if (r == 0)
		r = snap_diff_collector_write(c, devnull, SNAP_COMPRESS_NONE, &dg, err);
	if (r == 0) {
		memcpy(ret->disk_diff_id, dg.diff_id, sizeof(ret->disk_diff_id));
		ret->diff_id_match = strcmp(dg.diff_id, expected_diff_id) == 0;
		if (!ret->diff_id_match && blobfd >= 0)
			r = snap_layer_verify_dirfd(t.newfd, blobfd, &tee.changes, ret, err);
	}
	snap_changes_done(&tee.changes);
	snap_diff_collector_free(c);
	diff_trees_done(&t);
	if (r < 0) {
		snap_layer_verify_done(ret);
		return snap_error_prefix(err, "verify '%s'", key);
	}
	return 0;
}
