/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Apply an OCI layer tar to a tree, confined to the tree's directory fd and
 * undoable until the end.  This file runs the apply: it reads the entries,
 * hands each to its handler, then either finishes (deferred directory modes
 * and times, the undo directory removed, one syncfs) or plays the journal
 * back.  The concerns live beside it:
 *
 *   apply-input.c     fd -> decompressor (raw) -> tar, hashing both digests
 *   apply-entry.c     files, directories, nodes, hard links
 *   apply-whiteout.c  .wh. entries and opaque directories
 *   apply-resolve.c   entry names, parents opened inside the root
 *   apply-journal.c   the undo journal and the rollback
 *   apply-writeback.c on btrfs, each file's writeback started as it is closed
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/apply-internal.h"
#include "layer/layer.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/strset.h"

/* ---- end: commit or clean up ---- */

static int dir_depth_cmp(const void *x, const void *y)
{
	size_t a = strlen(((const struct deferred_dir *)x)->path);
	size_t b = strlen(((const struct deferred_dir *)y)->path);
	return a < b ? 1 : a > b ? -1 : 0;
}

static int apply_deferred(struct apply *a, const struct deferred_dir *d)
{
	const char *name;
	_cleanup_close_ int pfd = apply_open_parent(a->treefd, d->path, &name);
	if (pfd < 0)
		return pfd == -ENOENT || pfd == -ENOTDIR ? 0 : pfd;
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (!S_ISDIR(st.st_mode)) /* replaced by a later entry */
		return 0;
	if (fchmodat(pfd, name, d->mode, 0) < 0 || utimensat(pfd, name, d->times, AT_SYMLINK_NOFOLLOW) < 0)
		return negative_errno();
	return 0;
}

static int finish(struct apply *a)
{
	a->entry = NULL;
	apply_cache_drop(a);
	/* Children before parents, so setting a child's times does not
	 * bump a parent's mtime after it was set. */
	if (a->n_dirs > 0) /* qsort(NULL, 0) is undefined */
		qsort(a->dirs, a->n_dirs, sizeof(*a->dirs), dir_depth_cmp);
	const struct deferred_dir *root = NULL;
	for (size_t i = 0; i < a->n_dirs; i++) {
		int r = apply_deferred(a, &a->dirs[i]);
		if (r < 0)
			return apply_fail(a, r, "set mode and times of directory '%s': %s", a->dirs[i].path,
				    strerror(-r));
		if (!a->dirs[i].path[0])
			root = &a->dirs[i];
	}
	/* The commit point: from here on a replay rolls forward. */
	int q = apply_journal_commit(a, root);
	if (q < 0)
		return q;
	if (a->backupfd >= 0) {
		int r = snap_rm_rf_at(a->treefd, a->backup_name);
		if (r < 0)
			return apply_fail(a, r, "remove undo directory %s: %s", a->backup_name, strerror(-r));
		closep(&a->backupfd);
		a->backupfd = -EBADF;
		if (root)
			apply_deferred(a, root);
	}
	/* Durability: one syncfs for the whole tree (docs/core.md says why
	 * not an fsync per file); the caller commits the snapshot only after
	 * this.  SNAP_APPLY_NO_SYNC (--sync=none) skips it. */
	if (a->no_sync)
		return 0;
	_cleanup_close_ int sfd = openat(a->treefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || syncfs(sfd) < 0)
		return snap_error_set(a->err, negative_errno(), "apply layer: syncfs: %s", strerror(errno));
	return 0;
}

static void apply_done(struct apply *a)
{
	apply_cache_drop(a);
	for (size_t i = 0; i < a->n_undo; i++) {
		free(a->undo[i].path);
		snap_xattrs_done(&a->undo[i].xattrs);
	}
	free(a->undo);
	for (size_t i = 0; i < a->n_dirs; i++)
		free(a->dirs[i].path);
	free(a->dirs);
	snap_strmap_done(&a->layer_paths);
	snap_strmap_done(&a->saved_meta);
	snap_strmap_done(&a->created_ids);
	snap_strmap_done(&a->opaque_done);
	snap_strmap_done(&a->whiteout_ids);
	snap_strmap_done(&a->opaque_ids);
	snap_strmap_done(&a->deferred_idx);
	if (a->backupfd >= 0)
		close(a->backupfd);
	if (a->tar)
		archive_read_free(a->tar);
}

int snap_layer_apply_dirfd(int treefd, int fd, const struct snap_whiteout_hook *hook,
			   struct snap_layer_digests *ret, struct snap_error *err)
{
	return snap_layer_apply_journaled(treefd, fd, hook, -EBADF, 0, ret, err);
}

int snap_layer_apply_journaled(int treefd, int fd, const struct snap_whiteout_hook *hook, int journalfd,
			       unsigned flags, struct snap_layer_digests *ret, struct snap_error *err)
{
	struct apply_input in = { 0 };
	struct apply a = {
		.treefd = treefd,
		.hook = hook,
		.err = err,
		.backupfd = -EBADF,
		.cache_fd = -EBADF,
		.journalfd = journalfd,
	};
	snap_apply_undo_name(a.backup_name, sizeof(a.backup_name), (int)getpid());
	in.no_blob_digest = flags & SNAP_APPLY_NO_BLOB_DIGEST;
	int r = apply_input_open(&in, fd, &a.tar, err);
	a.no_sync = flags & SNAP_APPLY_NO_SYNC;
	apply_writeback_start(&a.writeback, treefd);
	_cleanup_free_ char *last = NULL;
	while (r == 0) {
		struct archive_entry *e;
		int q = archive_read_next_header(a.tar, &e);
		if (q == ARCHIVE_EOF)
			break;
		if (q < ARCHIVE_WARN) {
			r = last ? apply_tar_fail(&a, &in, "read the entry after it")
				 : apply_tar_fail(&a, &in, "read the first entry");
			break;
		}
		free(last);
		last = strdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
		a.entry = last;
		r = apply_entry(&a, &in, e);
		a.entries++;
	}
	if (r == 0)
		r = apply_input_drain(&in, err);
	/* Every file closed before the end (the syncfs, or the rollback). */
	apply_writeback_stop(&a.writeback);
	if (r == 0)
		r = finish(&a);
	if (r < 0) {
		apply_rollback(&a);
	} else if (ret) {
		struct snap_layer_digests d = { .entries = a.entries, .xattrs_skipped = a.xattrs_skipped };
		d.blob_size = in.blob.size;
		d.diff_size = in.plain ? in.blob.size : in.diff.size;
		if ((!in.blob_unhashed && snap_sha256_final(&in.blob, d.blob_digest) < 0) ||
		    (in.plain ? (memcpy(d.diff_id, d.blob_digest, sizeof(d.diff_id)), 0)
			      : snap_sha256_final(&in.diff, d.diff_id)) < 0)
			r = snap_error_set(err, -EIO, "apply layer: sha256 failed");
		else
			*ret = d;
	}
	apply_done(&a);
	apply_input_done(&in);
	return r;
}
