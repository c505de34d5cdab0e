/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one change made to sqlite's unix VFS: its fchown() is skipped when
 * the file already has the owner asked for.
 *
 * Run as root, sqlite fchown()s the -wal and the -shm to the database's
 * owner every time a connection opens them (so that a root process never
 * leaves files other users cannot open), also on a read-only connection.
 * Mostly they already belong to that owner, and the call only moves
 * their ctime: a reader of the root that changed an inode's metadata.
 * An fchown to the owner a file already has does nothing else (the files
 * carry no set-id bits), so it is left out; a different owner is still
 * set.  sqlite allows the swap through xSetSystemCall.
 */
#ifndef SNAP_STORE_VFS_H
#define SNAP_STORE_VFS_H

/* Install the fchown above in the default VFS, once per process, before
 * the first connection opens.  Thread-safe. */
void snap_store_vfs_setup(void);

#endif
