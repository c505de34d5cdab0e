/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer engine below the core: everything works on directory fds, so it
 * is tested on plain directories and wired to the snapshotter by the thin
 * wrappers in layer.c.
 */
#ifndef SNAP_LAYER_INTERNAL_H
#define SNAP_LAYER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <snapctl/driver.h>

#include "layer/layer-names.h"
#include "util/digest.h"

struct snap_layer_digests;
struct snap_diff_opts;
struct snap_changes;
struct snap_layer_verify;

/* The undo directory of an apply by process `pid` (SNAP_APPLY_BACKUP_PREFIX
 * in layer-names.h). */
static inline void snap_apply_undo_name(char *buf, size_t size, int pid)
{
	snprintf(buf, size, SNAP_APPLY_BACKUP_PREFIX "%d", pid);
}

/* The driver's whiteout hook bound to its state; NULL hook = delete. */
struct snap_whiteout_hook {
	int (*fn)(void *state, int dirfd, const char *name, int kind, struct snap_error *err);
	/* A directory fd of the root of the layers below the tree, merged
	 * (borrowed: valid until the apply returns), or -errno; NULL: an
	 * opaque marker at the root is refused.  Asked for only by such a
	 * marker, which becomes an ENTRY whiteout of every name there. */
	int (*lower_root)(void *state, struct snap_error *err);
	void *state;
};

/*
 * Apply the layer read from `fd` (plain, gzip or zstd tar) into the tree
 * `treefd`.  Whiteouts go to hook->fn when hook and hook->fn are non-NULL:
 * SNAP_WHITEOUT_ENTRY with `dirfd` the directory holding the name and `name`
 * the hidden entry; SNAP_WHITEOUT_OPAQUE with `dirfd` the parent of the
 * opaque directory, reached without symlinks, and `name` its last component
 * (never the root: see lower_root).
 * Lower contents present in the tree itself are removed in both cases.
 * On failure the tree is restored as it was and -errno returned with *err
 * naming the entry.  ret may be NULL.
 */
int snap_layer_apply_dirfd(int treefd, int fd, const struct snap_whiteout_hook *hook,
			   struct snap_layer_digests *ret, struct snap_error *err);
/* No syncfs at the end: the tree is durable whenever the kernel writes it
 * back (--sync=none, scratch roots).  Without it, what the apply wrote is
 * on disk when it returns. */
#define SNAP_APPLY_NO_SYNC 0x1u
/* The caller has no use for the blob's digest: a gzip blob is not hashed
 * (its uncompressed stream still is: the diff ID), and ret->blob_digest is
 * empty.  For blobs of the content store, whose digest was checked when
 * they were written (the unpacker). */
#define SNAP_APPLY_NO_BLOB_DIGEST 0x2u
/* The same, also writing every step to `journalfd` (O_APPEND, already
 * holding the header) before taking it, for snap_layer_journal_replay;
 * flags: SNAP_APPLY_*. */
int snap_layer_apply_journaled(int treefd, int fd, const struct snap_whiteout_hook *hook, int journalfd,
			       unsigned flags, struct snap_layer_digests *ret, struct snap_error *err);

/*
 * Apply journals (apply-replay.c).  The core runs every apply into a
 * snapshot with one: ROOT/tmp/apply-XXXXXX/journal (a staging directory,
 * locked while the apply lives), whose first line is
 * "snapctl-apply-journal 1 <snapshot id> x<undo dir name>".  After the
 * applier died, replay plays it back on the snapshot's tree: backwards
 * (the tree as before the apply) unless it reached its COMMIT record
 * (then forward: the undo directory goes).  Idempotent: a replay killed
 * half-way can be run again.
 */
#define SNAP_APPLY_JOURNAL_STAGING "apply"
#define SNAP_APPLY_JOURNAL_NAME "journal"
/* Header line of a new journal into buf. */
int snap_layer_journal_header(char *buf, size_t size, uint64_t snapshot_id, const char *undo_name);
/* The snapshot id a journal (in staging dir `dirfd`) belongs to: 0 and
 * *ret_id, -ENOENT without a journal, -EINVAL when it is not one. */
int snap_layer_journal_snapshot(int dirfd, uint64_t *ret_id, struct snap_error *err);
/* Replay the journal of staging dir `dirfd` on `treefd`: 0 rolled back,
 * 1 rolled forward, or -errno (steps that failed) with err set. */
int snap_layer_journal_replay(int dirfd, int treefd, struct snap_error *err);

/* ---- change collection and the tar writer (tar-writer.c) ---- */

struct snap_diff_collector;

/*
 * A collector of changes: its sink receives changes in any order (from the
 * generic differ or a driver's fast diff).  `new_treefd` is the whole new
 * tree (parent directories are read from it, DELETE has no src fd);
 * `old_treefd` the parent tree, used to decide opaque directories (may be
 * -1: never opaque).  The fds are borrowed and must outlive the collector.
 */
int snap_diff_collector_new(int new_treefd, int old_treefd, struct snap_diff_collector **ret);
void snap_diff_collector_free(struct snap_diff_collector *c);
struct snap_change_sink *snap_diff_collector_sink(struct snap_diff_collector *c);
/* First error a sink callback hit (message and code), if any. */
int snap_diff_collector_error(struct snap_diff_collector *c, struct snap_error *err);
/* Write the canonical layer tar (see layer.h) to fd. */
int snap_diff_collector_write(struct snap_diff_collector *c, int fd, int compression,
			      struct snap_layer_digests *ret, struct snap_error *err);
/* The docker-diff list. */
int snap_diff_collector_changes(struct snap_diff_collector *c, struct snap_changes *ret,
				struct snap_error *err);

/* ---- the generic differ (layer-diff.c) ---- */

/* Walk `old_dirfd` (the parent tree) and `new_dirfd` in parallel and send
 * every change to sink; src_dirfd of ADD/MODIFY is new_dirfd.  prepared_ns:
 * the new snapshot's (struct snap_ref), 0 when unknown (entry-compare.h). */
int snap_diff_trees(int old_dirfd, int new_dirfd, int64_t prepared_ns, struct snap_change_sink *sink,
		    struct snap_error *err);

/* Generic diff of two trees straight to a layer tar, prepare time unknown
 * (every regular file whose metadata match is read). */
int snap_layer_diff_dirfd(int old_dirfd, int new_dirfd, int fd, const struct snap_diff_opts *opts,
			  struct snap_layer_digests *ret, struct snap_error *err);
int snap_layer_changes_dirfd(int old_dirfd, int new_dirfd, struct snap_changes *ret,
			     struct snap_error *err);

/* ---- extended attributes (layer-xattr.c) ---- */

struct snap_xattr {
	char *name;
	void *value;
	size_t size;
};
struct snap_xattrs {
	struct snap_xattr *v;
	size_t n;
};

/* Never taken from a layer nor written to one, nor compared by the differ:
 * names private to the filesystem that stores them, overlayfs' own metadata
 * (trusted.overlay.*, user.overlay.*) and xfs' second name for a POSIX ACL
 * (trusted.SGI_ACL_FILE, trusted.SGI_ACL_DEFAULT). */
bool snap_xattr_is_private(const char *name);
/* Read every xattr of `name` in `dirfd` without following a symlink, sorted
 * by name, private ones left out unless `all`.  Returns 0 or -errno. */
int snap_xattrs_read_at(int dirfd, const char *name, bool all, struct snap_xattrs *ret);
bool snap_xattrs_equal(const struct snap_xattrs *a, const struct snap_xattrs *b);
/* Set one xattr on `name` in `dirfd` without following a symlink. */
int snap_xattr_set_at(int dirfd, const char *name, const char *key, const void *value,
		      size_t size);
int snap_xattr_remove_at(int dirfd, const char *name, const char *key);
void snap_xattrs_done(struct snap_xattrs *x);

/* Canonical path order: bytewise, with '/' sorting before every other
 * byte, so a directory's children directly follow it. */
int snap_path_cmp(const char *a, const char *b);

/* Of a relative path "a/b/c": the last component "c" and the length of
 * its directory "a/b" (0 for a top-level name). */
static inline const char *snap_path_base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static inline size_t snap_path_dir_len(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? (size_t)(s - path) : 0;
}

/* ---- comparing a tree with its layer (layer-verify.c) ---- */

/* Compare tree `new_treefd` with the layer tar read from `blobfd` (plain,
 * gzip or zstd), and the differ's `changes` of the tree against its parent
 * (paths relative, or with a leading '/') with what the layer changes.
 * Appends drift to *ret and sets ret->blob_compared.  Returns 0 or -errno
 * when the comparison could not run. */
int snap_layer_verify_dirfd(int new_treefd, int blobfd, const struct snap_changes *changes,
			    struct snap_layer_verify *ret, struct snap_error *err);

#endif
