/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer apply's shared state and the functions its files call across
 * (layer-apply.c runs it; see there for the file per concern).
 */
#ifndef SNAP_APPLY_INTERNAL_H
#define SNAP_APPLY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "layer/layer-internal.h"
#include "util/digest.h"
#include "util/macro.h"
#include "util/strset.h"

struct archive;
struct archive_entry;

enum { PATH_CREATED = 1, PATH_UPDATED = 2 };

enum undo_kind {
	UNDO_CREATED, /* remove path */
	UNDO_BACKUP,  /* rename backup <n> back to path */
	UNDO_META,    /* restore a directory's owner, mode, times and xattrs */
};

struct undo {
	int kind;
	char *path;
	unsigned backup;
	struct stat st;
	struct snap_xattrs xattrs;
};

struct deferred_dir {
	char *path;
	mode_t mode;
	struct timespec times[2];
};

/* apply-writeback.c: on btrfs, the files an apply wrote, handed to a
 * thread that starts their writeback and closes them. */
#define APPLY_WRITEBACK_QUEUE 256

struct apply_writeback {
	bool enabled, started, stop;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ring[APPLY_WRITEBACK_QUEUE];
	size_t head, n, cap; /* cap <= APPLY_WRITEBACK_QUEUE: RLIMIT_NOFILE / 4 */
};

/* Enabled when treefd is on a btrfs; otherwise every fd is just closed. */
void apply_writeback_start(struct apply_writeback *w, int treefd);
/* Takes fd: its writeback started and the fd closed, on the thread or
 * here when the queue is full; off btrfs only closed. */
void apply_writeback_close(struct apply_writeback *w, int fd);
/* Waits until every file handed over is written back (started) and closed. */
void apply_writeback_stop(struct apply_writeback *w);

/* Stream chunks in flight between the reader thread and the tar reader. */
#define APPLY_RING 8

struct apply_input {
	int fd;
	struct archive *raw; /* decompressing reader, format raw */
	struct snap_sha256 blob, diff;
	char *fdbuf;
	size_t fd_pending; /* bytes of fdbuf sniffed at open, not yet handed out */
	/* gzip is inflated here with igzip or zlib, which check every
	 * member's CRC-32 and length trailer (libarchive's gzip filter does
	 * not). */
	bool gzip;
	void *z;           /* struct inflate_state (HAVE_ISAL) or z_stream */
	char *gzbuf;
	bool gz_member_end; /* the last member ended: another may follow */
	/* The reader thread (apply-input.c) reads the fd, hashes it,
	 * decompresses and hashes the stream into ring[] ahead of the tar
	 * reader, on the other core, while this one writes the files.  The
	 * tar reader keeps its last two chunks (apply-pax.c looks back at
	 * the headers of the current entry): chunk[i] holds stream bytes
	 * [chunk_off[i], chunk_off[i] + chunk_len[i]). */
	char *ring[APPLY_RING];
	size_t ring_len[APPLY_RING];
	uint64_t produced, taken; /* chunks, under mu */
	bool sync_init, started, done, failed, stop, draining;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *chunk[2];
	uint64_t chunk_off[2];
	size_t chunk_len[2];
	int cur;           /* the chunk raw_read took last */
	uint64_t raw_size; /* stream bytes read so far */
	/* The reader thread's failure: written by it until `done`, read by
	 * the tar reader's side only after it saw `done` or stopped it. */
	int io_error;
	int raw_errno;      /* the decompressor's errno, if it failed */
	char raw_error[256];
	bool reported;      /* raw_error prefixed for the tar reader */
	bool plain; /* no compression: the blob is the stream, hash it once */
	/* Set by the caller before the open: SNAP_APPLY_NO_BLOB_DIGEST.
	 * blob_unhashed: from the sniff on, gzip bytes are counted, not
	 * hashed. */
	bool no_blob_digest, blob_unhashed;
};

struct apply {
	int treefd;
	const struct snap_whiteout_hook *hook;
	struct archive *tar;
	struct snap_error *err;
	const char *entry; /* current entry name, for messages */
	uint64_t xattrs_skipped; /* refused by the kernel on a symlink or device, or unsupported */

	struct snap_strmap layer_paths; /* path -> PATH_CREATED / PATH_UPDATED */
	/* Identities (apply_id_key) of what this apply created and of the
	 * directories it saved the metadata of (UNDO_META): by the object,
	 * not by the name, since a name may lead through a symlink that the
	 * layer created or changed. */
	struct snap_strmap created_ids;
	struct snap_strmap saved_meta;
	struct snap_strmap opaque_done;
	/* Identities of the whiteouts the hook made (a later entry of the
	 * layer may need a directory there). */
	struct snap_strmap whiteout_ids;
	/* Identities of the directories the hook made opaque (over the
	 * layers below: nothing there merges with them). */
	struct snap_strmap opaque_ids;
	struct snap_strmap deferred_idx; /* path -> index + 1 into dirs */

	struct undo *undo;
	size_t n_undo, cap_undo;
	struct deferred_dir *dirs;
	size_t n_dirs, cap_dirs;

	int backupfd;
	char backup_name[64];
	unsigned n_backups;
	int journalfd; /* the on-disk undo journal, or -EBADF (apply-journal.c) */

	char *cache_dir; /* parent directory cache */
	int cache_fd;
	char *cache_resolved; /* cache_dir without symlinks, once needed */
	dev_t cache_dev; /* cache_fd's identity */
	ino_t cache_ino;
	bool cache_stale; /* something was moved or removed: resolve again */

	char *buf;
	uint64_t entries;
	bool no_sync; /* SNAP_APPLY_NO_SYNC */
	struct apply_writeback writeback;
};

/* layer-apply.c: set *a->err naming the current entry; returns code. */
int apply_fail(struct apply *a, int code, const char *fmt, ...) _printf_(3, 4);

/* apply-journal.c */
int apply_undo_push(struct apply *a, int kind, const char *path, struct undo **ret);
/* Save a pre-existing directory's metadata once (UNDO_META): the directory
 * `name` in pfd, which `path` names; the record holds its resolved path. */
int apply_save_meta(struct apply *a, int pfd, const char *name, const char *path);
/* The same for the directory pfd, the parent `path` resolved to. */
int apply_save_parent_meta(struct apply *a, int pfd, const char *path);
/* Get `path`'s existing entry out of the way: removed when this apply
 * created it (st's identity), moved to the undo directory otherwise. */
int apply_remove_existing(struct apply *a, int pfd, const char *name, const char *path,
			  const struct stat *st);
/* `name` in pfd (`path`) was just created by this apply. */
int apply_mark_created(struct apply *a, int pfd, const char *name, const char *path);
/* A name this apply made for an existing object (a hardlink): the name is
 * the layer's, the object is not. */
int apply_mark_linked(struct apply *a, int pfd, const char *path);
/* Something (a driver's whiteout) is about to be created at `path`: undone
 * by removing it (in memory and a "C" record). */
int apply_undo_created(struct apply *a, int pfd, const char *path);
/* Play the journal backwards; never fails, notes failed steps in *a->err. */
void apply_rollback(struct apply *a);
/* On-disk journal: `path` holds nothing now, and whatever appears there
 * before the apply ends is its own (a "C" record, written before the
 * create).  apply_prepare_create checks that with fstatat first: when
 * something is there, the create fails with EEXIST and moving it aside
 * logs the record. */
int apply_journal_absent(struct apply *a, int pfd, const char *path);
int apply_prepare_create(struct apply *a, int pfd, const char *name, const char *path);
/* The apply is complete: the COMMIT record, with the root's final mode and
 * times when the layer set them (root may be NULL). */
int apply_journal_commit(struct apply *a, const struct deferred_dir *root);
/* Restore a directory's owner, mode, xattrs and times (an UNDO_META). */
int apply_restore_meta(int treefd, const struct undo *u);

/* apply-resolve.c */
void apply_cache_drop(struct apply *a);
/* An O_PATH fd of path's parent (owned by the caller); name = last
 * component, "." for the root "". */
int apply_open_parent(int treefd, const char *path, const char **ret_name);
/* mkdir -p of `dir` inside the tree, following symlinks inside the root
 * (overlay: those of the layers below too, see apply-resolve.c);
 * *ret_where (may be NULL) gets its resolved path, "" for the root. */
int apply_make_parents(struct apply *a, const char *dir, char **ret_where);
/* `dir` resolved inside the tree like snap_openat_in_root does, as a path
 * without symlinks ("" for the root), into *ret. */
int apply_resolved_dir(struct apply *a, const char *dir, char **ret);
/* `dir` resolved inside the tree and (overlay) the layers below, made in
 * the tree first when `create` (mkdir -p, copying up lower directories):
 * its path without symlinks (*ret_where, may be NULL), owned O_PATH fds of
 * it in the tree (*ret_cur, -EBADF when it is only below) and of the lower
 * directory merged with it (*ret_lower, -EBADF when nothing below shows
 * there).  Without `create`: -ENOENT or -ENOTDIR without an error set when
 * it is not a directory. */
int apply_find_dir(struct apply *a, const char *dir, bool create, char **ret_where, int *ret_cur,
		   int *ret_lower);
/* Put back the times of directory dirfd (`path`), stat()ed in *before: a
 * copy-up never changes its parent's times, as in overlayfs. */
int apply_keep_times(struct apply *a, int dirfd, const struct stat *before, const char *path);
/* Whether `path` exists (not followed), in the tree or (overlay) the layers
 * below (0 too when the hook cannot show them): 0, or -ENOENT / -ENOTDIR
 * without an error set (another -errno sets one).  Creates nothing. */
int apply_probe_entry(struct apply *a, const char *path);
/* A borrowed fd of path's parent directory (cached across entries). */
int apply_get_parent(struct apply *a, const char *path, const char **ret_name);
/* Check and normalize an entry's name or link target into *ret. */
int apply_checked_path(struct apply *a, const char *raw, const char *what, char **ret);

/* apply-copyup.c: the target of a hard link entry, `target` (checked),
 * resolved in the tree and (overlay) the layers below; what is only below
 * is copied up into the tree first, as overlayfs does before link(2).
 * *ret_pfd gets its parent in the tree (owned), *ret_name its name there
 * (owned), *ret_st its stat.  -ENOENT without an error set when there is
 * nothing by that name; -EPERM for a directory. */
int apply_link_target(struct apply *a, const char *target, int *ret_pfd, char **ret_name, struct stat *ret_st);

/* apply-whiteout.c: `path` names a .wh. entry. */
int apply_whiteout(struct apply *a, const char *path);
/* st is a whiteout the hook made for this layer. */
bool apply_is_layer_whiteout(struct apply *a, const struct stat *st);
/* st is a directory the hook made opaque in this apply. */
bool apply_is_opaque_dir(struct apply *a, const struct stat *st);
/* The directory `name` in pfd was just made where this layer whited the
 * name out: the hook makes it opaque, so what the whiteout hid stays hidden. */
int apply_hide_lower_dir(struct apply *a, int pfd, const char *name);

/* apply-entry.c */
int apply_entry(struct apply *a, struct apply_input *in, struct archive_entry *e);

/* apply-input.c */
int apply_input_open(struct apply_input *in, int fd, struct archive **ret_tar, struct snap_error *err);
/* Hash what the tar reader left, so the digests cover the whole blob. */
int apply_input_drain(struct apply_input *in, struct snap_error *err);
void apply_input_done(struct apply_input *in);
/* apply-pax.c: refuse an entry whose PAX path or linkpath record holds a
 * NUL byte (libarchive cuts the name there without a word; Go's
 * archive/tar, hence containerd, refuses it). */
int apply_pax_check(struct apply *a, struct apply_input *in);
/* Stop the reader thread, if it runs, and wait for it. */
void apply_input_stop(struct apply_input *in);
/* Fail with the reader's error for `what`. */
int apply_tar_fail(struct apply *a, struct apply_input *in, const char *what);

#endif
