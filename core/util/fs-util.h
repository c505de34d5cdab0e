/* SPDX-License-Identifier: Apache-2.0 */
/* Path resolution confined to a directory fd, and small fd-based helpers.
 * Every function returns 0 (or an fd) on success and -errno on failure. */
#ifndef SNAP_FS_UTIL_H
#define SNAP_FS_UTIL_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <snapctl/driver.h>

/* Open `path` relative to `rootfd` as if rootfd were "/": absolute names and
 * ".." stop at the root, symlinks are followed but never out of the root,
 * magic links are refused.  Uses openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)
 * and falls back to walking components with O_PATH fds where openat2 is
 * missing (ENOSYS) or refused (EPERM from a seccomp filter).  `flags` always
 * gain O_CLOEXEC.  Returns the new fd or -errno. */
int snap_openat_in_root(int rootfd, const char *path, int flags, mode_t mode);

/* Resolve the parent directory of `path` inside `rootfd` (as above) and
 * return an O_PATH|O_DIRECTORY fd for it; *ret_name points into a newly
 * allocated copy of the last component ("." for the root itself).  The last
 * component is not resolved: the caller acts on it with *at() calls and
 * AT_SYMLINK_NOFOLLOW.  Returns the fd or -errno (ENOTDIR when a parent is
 * not a directory). */
int snap_open_parent_in_root(int rootfd, const char *path, char **ret_name);

/* Normalise a layer or user path: drop leading '/', "./", empty components;
 * ".." components pop (never above the root).  Returns a newly allocated
 * string ("" for the root) or NULL with errno=ENAMETOOLONG/ENOMEM. */
char *snap_path_normalize(const char *path);

/* Remove `name` in `dirfd` recursively without following symlinks.  Missing
 * is not an error.  Returns 0 or -errno. */
int snap_rm_rf_at(int dirfd, const char *name);

/* Remove everything inside directory `dirfd` but the directory itself. */
int snap_rm_children_at(int dirfd);

/* mkdir -p of an absolute or cwd-relative path; existing dirs are fine. */
int snap_mkdir_p(const char *path, mode_t mode);

/* The names in a directory, sorted bytewise (strcmp). */
struct snap_names {
	char **v;
	size_t n;
};
void snap_names_done(struct snap_names *n);

/* Sorted names of directory `fd` without "." and ".."; names beginning with
 * `skip_prefix` (may be NULL) are left out.  Returns 0 or -errno. */
int snap_dir_list_sorted(int fd, const char *skip_prefix, struct snap_names *ret);

/*
 * Disk usage of the tree at directory `dirfd` as containerd's fs.DiskUsage
 * counts it: size = st_blocks * 512 of every inode, inodes = the number of
 * inodes, an inode with several names (same st_dev and st_ino, see
 * inode-map.h) counted once; symlinks are not followed, entries removed
 * while the walk runs are skipped.  The directory itself counts only with
 * SNAP_USAGE_ROOT.  Returns 0 and fills *ret, or -errno with *err naming the
 * entry (its path relative to dirfd).
 */
#define SNAP_USAGE_ROOT (1u << 0)
int snap_usage_at(int dirfd, unsigned flags, struct snap_usage *ret, struct snap_error *err);

/* Force the openat2 fallback (tests); also set by SNAPCTL_NO_OPENAT2=1. */
void snap_fs_force_no_openat2(bool on);
bool snap_fs_have_openat2(void);

/* The name of a filesystem type (statfs's f_type): "ext4", "xfs",
 * "btrfs", "tmpfs", "overlay", ...; NULL for one this does not know. */
const char *snap_fs_type_name(long magic);

/* Write all of buf / read a small file whole (NUL-terminated, max bytes). */
int snap_write_all(int fd, const void *buf, size_t len);
int snap_read_file_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len);

/* Atomically replace dirfd/name with contents: write to a temp name, fsync,
 * rename into place. */
int snap_write_file_atomic_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode);

#endif
