/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers: a sample tree holding every kind of entry a layer can hold,
 * and a deep comparison of two trees (cmocka assertions). */
#ifndef SNAP_TEST_TREE_UTIL_H
#define SNAP_TEST_TREE_UTIL_H

#include <stdbool.h>

/* Fill directory `dirfd` with the sample tree (needs root: chown, mknod,
 * trusted.* and security.capability xattrs).  Calls fail_msg on error. */
void tree_build_sample(int dirfd);

/* Assert that the trees at `a` and `b` hold the same entries with the same
 * type, mode, owner, size, data, device numbers, symlink targets, xattrs
 * (trusted.overlay.* excluded: it must be absent from b) and hardlink
 * structure (names of one inode in a are names of one inode in b).  With
 * TREE_CMP_ALL also the mtimes (ns), link counts and the roots' own
 * metadata: what a copy must keep.  Without, what containerd's
 * fstest.CheckDirectoryEqual compares: two trees built by the same steps
 * at different times. */
#define TREE_CMP_TIMES 0x1u
#define TREE_CMP_NLINK 0x2u
#define TREE_CMP_ROOT 0x4u
#define TREE_CMP_ALL (TREE_CMP_TIMES | TREE_CMP_NLINK | TREE_CMP_ROOT)
void tree_assert_same(int a, int b, unsigned flags);
static inline void tree_assert_equal(int a, int b)
{
	tree_assert_same(a, b, TREE_CMP_ALL);
}

/* A fresh temporary directory (mkdtemp under /tmp or $TMPDIR); the path is
 * returned, newly allocated. */
char *tree_mkdtemp(void);

/* rm -rf of an absolute path; quiet. */
void tree_rm_rf(const char *path);

/* Write a small file (O_CREAT|O_TRUNC) and read it back in full. */
void tree_write(int dirfd, const char *name, const char *content);
char *tree_read(int dirfd, const char *name);

#endif
