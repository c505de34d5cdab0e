/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer engine: apply OCI layer tars into a snapshot, and write the
 * changes of a snapshot against its parent as an OCI layer tar.
 *
 * Canonical diff form (what makes diffs byte-identical across drivers):
 *   - entries sorted by path (bytewise, '/' sorting before any other byte so
 *     a directory's children directly follow it), PAX format, original
 *     mtime (ns), uid/gid, mode, xattrs (never trusted.overlay.*);
 *   - every changed path is preceded by its parent directories as they are
 *     in the new tree;
 *   - a deleted entry is an empty regular file ".wh.NAME" (mode 0, times 0,
 *     owner 0); an opaque marker ".wh..wh..opq" is written for a directory
 *     when every entry it had in the parent is gone from it (it then replaces
 *     the individual whiteouts);
 *   - hardlinks inside the layer are written as links to the first path;
 *   - atime and ctime are not written; the snapshot root itself is never
 *     an entry; directories are named with a trailing '/'; xattrs go in
 *     SCHILY.xattr.* records; regular files are written dense (holes depend
 *     on the filesystem, so writing them sparse would differ by driver);
 *     whiteouts and markers are empty regular files, mode 0, owner 0, mtime 0.
 * A canonical layer is a fixed point: diff(apply(L)) == L byte for byte.
 *
 * The engine itself works on directory fds (layer-internal.h); the functions
 * below resolve a snapshot key and call it.  Apply calls the driver's
 * apply_whiteout hook (dirfd = the directory holding the hidden name; for
 * OPAQUE dirfd = the parent of the opaque directory and name its last
 * component, "." for the root) only when the snapshot has a parent.
 */
#ifndef SNAP_LAYER_H
#define SNAP_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core.h"
#include "util/digest.h" /* SNAP_DIGEST_MAX */

struct snap_layer_digests {
	char diff_id[SNAP_DIGEST_MAX];     /* sha256 of the uncompressed tar */
	/* sha256 of the bytes as read/written; empty after an unpack of a
	 * gzip blob (snap_layer_apply_blob_fd: the content store checked it) */
	char blob_digest[SNAP_DIGEST_MAX];
	uint64_t diff_size;                /* uncompressed bytes */
	uint64_t blob_size;                /* bytes as read/written */
	uint64_t entries;
	uint64_t xattrs_skipped; /* xattrs the filesystem refused (apply only) */
	/* diff only: what the layer leaves out of the tree it was written
	 * from (SNAP_DIFF_INEXACT_*); 0: applied to the parent, the layer
	 * gives that tree back (but for atimes, ctimes, the root's times and
	 * inode flags, which no layer carries) */
	unsigned inexact;
};

/* A file in the layer has links outside it (a link to an unchanged file
 * of the parent): applied, the layer makes it a copy. */
#define SNAP_DIFF_INEXACT_LINKS 0x1u
/* An entry in the layer has xattrs a layer never carries
 * (snap_xattr_is_private: overlay's own, xfs' second copy of an ACL). */
#define SNAP_DIFF_INEXACT_XATTRS 0x2u

enum snap_compression {
	SNAP_COMPRESS_NONE = 0,
	SNAP_COMPRESS_GZIP = 1,
	SNAP_COMPRESS_ZSTD = 2,
};

/* Apply an OCI layer (plain, gzip or zstd, detected) read from `fd` into the
 * active snapshot `key`.  On failure the snapshot is as it was before and
 * *err names the entry and the reason.  ret may be NULL. */
int snap_layer_apply_fd(struct snap_core *core, const char *key, int fd,
			struct snap_layer_digests *ret, struct snap_error *err);
/* The same for a layer read from a blob of the content store, which is on
 * disk before any row names it (the unpacker): the tree is synced only
 * with SNAP_CORE_SYNC_TREES (--sync=full).  *ret_pending tells that it was
 * not (--sync=blob): the caller records the snapshot as pending
 * (core/pending-trees.h) in the transaction that publishes it.
 * ret->blob_digest is left empty for a gzip blob (not hashed again). */
int snap_layer_apply_blob_fd(struct snap_core *core, const char *key, int fd, bool *ret_pending,
			     struct snap_layer_digests *ret, struct snap_error *err);
/* Apply the layer again in place into snapshot `key`, committed or not,
 * all or nothing under the undo journal, and sync it: the recovery of a
 * pending tree found damaged after a reboot (layer-recover.c). */
int snap_layer_reapply_fd(struct snap_core *core, const char *key, int fd, struct snap_layer_digests *ret,
			  struct snap_error *err);

#define SNAP_DIFF_GENERIC 0x1u /* ignore the driver's fast diff (tests, bench) */

struct snap_diff_opts {
	int compression; /* enum snap_compression */
	unsigned flags;  /* SNAP_DIFF_* */
};

/* Write the changes of active or committed `key` against its parent as an
 * OCI layer tar to `fd`.  ret may be NULL. */
int snap_layer_diff_fd(struct snap_core *core, const char *key, int fd,
		       const struct snap_diff_opts *opts, struct snap_layer_digests *ret,
		       struct snap_error *err);

/* The same changes as a list (docker diff): kind is SNAP_CHANGE_*, path
 * begins with '/', sorted by path; parent directories of changes appear as
 * MODIFY when they existed in the parent. */
struct snap_change {
	int kind;
	char *path;
};
struct snap_changes {
	struct snap_change *v;
	size_t n;
};
void snap_changes_done(struct snap_changes *c);
int snap_layer_changes(struct snap_core *core, const char *key, unsigned flags,
		       struct snap_changes *ret, struct snap_error *err);


/* ---- verify (layer-verify.c) ---- */

struct snap_layer_drift {
	char *path; /* relative to the snapshot root, "." for the root */
	char *what; /* "content differs from the layer", "mode 0600 on disk, 0644 in the layer", ... */
};

struct snap_layer_verify {
	char disk_diff_id[SNAP_DIGEST_MAX]; /* canonical diff of the snapshot against its parent */
	bool diff_id_match;  /* disk_diff_id is the expected diff ID */
	bool blob_compared;  /* the tree was compared with the layer blob entry by entry */
	struct snap_layer_drift *drift; /* the first paths that differ (at most 100) */
	size_t n_drift;
	size_t n_drift_total;
};
void snap_layer_verify_done(struct snap_layer_verify *v);

/*
 * Verify committed snapshot `key` against the layer that made it.  The
 * changes of the snapshot against its parent are written in canonical form
 * (hashed, never stored) and the hash compared with `expected_diff_id`.
 * When it differs and `blobfd` (the layer blob, or -1) is given, the tree is
 * compared entry by entry with the blob, which tells drift from a layer
 * that simply was not in canonical form and names the paths that changed.
 * The snapshot is intact when diff_id_match, or when blob_compared and
 * n_drift_total == 0.  Returns 0 with *ret filled, or -errno when the check
 * itself could not run.
 */
int snap_layer_verify(struct snap_core *core, const char *key, const char *expected_diff_id,
		      int blobfd, struct snap_layer_verify *ret, struct snap_error *err);

#endif
