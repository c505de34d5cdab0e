/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copying one file: its data (FICLONE first, then copy_file_range, then
 * read/write, holes kept) and its metadata (owner, mode, xattrs, times, in
 * the order that keeps set-id bits and security.capability).  The vfs
 * driver's tree copy (drivers/vfs/copy.c) and the layer applier's copy-up
 * for a hard link (core/layer/apply-copyup.c) both use it.
 */
#ifndef SNAP_FILE_COPY_H
#define SNAP_FILE_COPY_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* Flags: force the fallbacks (tests, benchmarks). */
#define SNAP_COPY_NO_REFLINK 0x1u         /* never try FICLONE */
#define SNAP_COPY_NO_COPY_FILE_RANGE 0x2u /* never try copy_file_range */

enum snap_copy_method {
	SNAP_COPY_METHOD_REFLINK = 1,
	SNAP_COPY_METHOD_COPY_FILE_RANGE = 2,
	SNAP_COPY_METHOD_READ_WRITE = 3,
};

/* Which data-copy methods are still worth trying across the files of one
 * copy: a method that fails with "not supported here" is dropped for the
 * rest of it, so a tree of 10000 files on ext4 pays for one failed FICLONE,
 * not 10000.  Start with snap_copy_data_init, end with snap_copy_data_done. */
struct snap_copy_data {
	bool reflink;
	bool copy_file_range;
	char *buf; /* read/write buffer, allocated on first use */
};

void snap_copy_data_init(struct snap_copy_data *ds, unsigned flags);
void snap_copy_data_done(struct snap_copy_data *ds);

/*
 * Copy the data of regular file `sfd` (st: its fstat) into `dfd` (opened
 * for writing, empty), keeping holes, by the first method that works.
 * *ret_method gets the SNAP_COPY_METHOD_* that moved it (read/write for an
 * empty file), *ret_bytes the logical bytes copied.  Returns 0 or -errno.
 */
int snap_copy_data(struct snap_copy_data *ds, int sfd, int dfd, const struct stat *st, int *ret_method,
		   uint64_t *ret_bytes);

/* The same for one file, with a state of its own; ret_method may be NULL. */
int snap_copy_file_data(int src_fd, int dst_fd, unsigned flags, int *ret_method);

/* Name of a method ("reflink", "copy_file_range", "read/write"). */
const char *snap_copy_method_name(int method);

/*
 * Probe which data-copy methods work for files inside directory `dirfd`
 * (uses O_TMPFILE files, nothing is left behind).  Returns 0 and sets
 * *ret_reflink / *ret_copy_file_range, or -errno when O_TMPFILE files cannot
 * be made there (read-only root, filesystem without O_TMPFILE).
 */
int snap_copy_probe(int dirfd, bool *ret_reflink, bool *ret_copy_file_range);

/* What a metadata copy was doing when it failed: the step ("chown",
 * "listxattr", "setxattr", ...) and the xattr concerned, if any. */
struct snap_copy_fail {
	const char *step;
	char xattr[256];
};

/*
 * Give an opened destination (regular file or directory, not O_PATH) the
 * metadata of source `sfd` (st: its stat): owner, then mode (chown clears
 * set-id bits), then xattrs (trusted.overlay.* never: overlayfs would read
 * them; security.capability after the chown, which clears it), then times
 * (setting xattrs touches them).  Returns 0 or -errno with *f filled.
 */
int snap_copy_meta_fd(int sfd, int dfd, const struct stat *st, struct snap_copy_fail *f);

/* The same for an entry that cannot be opened (symlink, device node, FIFO,
 * socket): `name` in directories sdir and ddir, never followed.  With
 * skip_refused, an xattr the kernel refuses there (user.* on a symlink:
 * EPERM; a namespace the filesystem lacks: EOPNOTSUPP) is skipped and
 * counted in *ret_skipped (may be NULL). */
int snap_copy_meta_at(int sdir, int ddir, const char *name, const struct stat *st, bool skip_refused,
		      uint64_t *ret_skipped, struct snap_copy_fail *f);

#endif
