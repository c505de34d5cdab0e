/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The entry handlers of a layer apply: regular files, directories (their
 * mode and times deferred to the end), symlinks and device nodes, hard
 * links; each replaces what is in its way through the undo journal.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/apply-internal.h"
#include "layer/layer-names.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/strset.h"

/* ---- metadata ---- */

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	if (archive_entry_mtime_is_set(e))
		ts[1] = (struct timespec){ archive_entry_mtime(e), archive_entry_mtime_nsec(e) };
	else
		ts[1] = (struct timespec){ 0, UTIME_OMIT };
	if (archive_entry_atime_is_set(e))
		ts[0] = (struct timespec){ archive_entry_atime(e), archive_entry_atime_nsec(e) };
	else
		ts[0] = ts[1];
}

/* xattrs from the entry; overlayfs' private ones never, and
 * security.capability last so nothing after it can clear it. */
static int set_xattrs(struct apply *a, int fd, int pfd, const char *name, const char *path,
		      struct archive_entry *e)
{
	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		archive_entry_xattr_reset(e);
		const char *k;
		const void *v;
		size_t sz;
		while (archive_entry_xattr_next(e, &k, &v, &sz) == ARCHIVE_OK) {
			if (!k || snap_xattr_is_private(k))
				continue;
			bool cap = strcmp(k, "security.capability") == 0;
			if (cap != (pass == 1))
				continue;
			int r = fd >= 0 ? (fsetxattr(fd, k, v, sz, 0) < 0 ? negative_errno() : 0)
					: snap_xattr_set_at(pfd, name, k, v, sz);
			/* The kernel allows user.* only on files and directories
			 * (EPERM elsewhere), and a filesystem may not support a
			 * namespace at all: skipped and counted, as containerd
			 * skips them with a warning. */
			if ((r == -EOPNOTSUPP || (r == -EPERM && fd < 0 && strncmp(k, "user.", 5) == 0))) {
				a->xattrs_skipped++;
				continue;
			}
			if (r < 0)
				return apply_fail(a, r, "set xattr %s on '%s': %s", k, path, strerror(-r));
		}
	}
	return 0;
}

static int defer_dir(struct apply *a, const char *path, struct archive_entry *e)
{
	void *v;
	struct deferred_dir *d;
	if (snap_strmap_get(&a->deferred_idx, path, &v)) {
		d = &a->dirs[(uintptr_t)v - 1]; /* a duplicate entry: the later wins */
	} else {
		if (a->n_dirs == a->cap_dirs) {
			size_t ncap = a->cap_dirs ? a->cap_dirs * 2 : 64;
			struct deferred_dir *nv = realloc(a->dirs, ncap * sizeof(*nv));
			if (!nv)
				return apply_fail(a, -ENOMEM, "out of memory");
			a->dirs = nv;
			a->cap_dirs = ncap;
		}
		d = &a->dirs[a->n_dirs];
		if (!(d->path = strdup(path)) ||
		    snap_strmap_put(&a->deferred_idx, path, (void *)(uintptr_t)(a->n_dirs + 1)) < 0) {
			free(d->path);
			return apply_fail(a, -ENOMEM, "out of memory");
		}
		a->n_dirs++;
	}
	d->mode = archive_entry_perm(e);
	entry_times(e, d->times);
	return 0;
}

/* ---- entries ---- */

static int write_data(struct apply *a, struct apply_input *in, int fd, const char *path,
		      struct archive_entry *e)
{
	int64_t pos = 0;
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(a->tar, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return apply_tar_fail(a, in, "read data");
		/* A sparse map may place data anywhere: never past the size
		 * the entry declares (libarchive would write it there). */
		if (archive_entry_size_is_set(e) &&
		    (off < 0 || (uint64_t)off + size > (uint64_t)archive_entry_size(e)))
			return apply_fail(a, -EINVAL, "data at offset %lld (%zu bytes) past the size %lld: a corrupt sparse map",
					  (long long)off, size, (long long)archive_entry_size(e));
		if (off != pos) {
			/* Sparse entry: leave a hole. */
			if (lseek(fd, off, SEEK_SET) < 0)
				return apply_fail(a, negative_errno(), "seek: %s", strerror(errno));
			pos = off;
		}
		r = snap_write_all(fd, buf, size);
		if (r < 0)
			return apply_fail(a, r, "write '%s': %s", path, strerror(-r));
		pos += (int64_t)size;
	}
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > pos &&
	    ftruncate(fd, archive_entry_size(e)) < 0)
		return apply_fail(a, negative_errno(), "extend '%s': %s", path, strerror(errno));
	return 0;
}

/* A create of `name` just failed (errno): when the name was taken, the
 * first time, move what is in the way; anything else fails the entry. */
static int clear_the_way(struct apply *a, int pfd, const char *name, const char *path, int tries)
{
	if (errno != EEXIST || tries > 0)
		return apply_fail(a, negative_errno(), "create: %s", strerror(errno));
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return apply_fail(a, negative_errno(), "stat: %s", strerror(errno));
	return apply_remove_existing(a, pfd, name, path, &st);
}

static int apply_file(struct apply *a, struct apply_input *in, struct archive_entry *e, const char *path)
{
	const char *name;
	int pfd = apply_get_parent(a, path, &name);
	if (pfd < 0)
		return pfd;
	int r = apply_save_parent_meta(a, pfd, path);
	if (r < 0 || (r = apply_prepare_create(a, pfd, name, path)) < 0)
		return r;
	_cleanup_close_ int fd = -EBADF;
	for (int tries = 0;; tries++) {
		fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if ((r = clear_the_way(a, pfd, name, path, tries)) < 0)
			return r;
	}
	if ((r = apply_mark_created(a, pfd, name, path)) < 0)
		return r;
	/* Data first: a write clears setuid bits and security.capability. */
	if ((r = write_data(a, in, fd, path, e)) < 0)
		return r;
	/* chown clears setuid/setgid and capabilities, so mode and xattrs
	 * come after it. */
	if (fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return apply_fail(a, negative_errno(), "chown: %s", strerror(errno));
	if (fchmod(fd, archive_entry_perm(e)) < 0)
		return apply_fail(a, negative_errno(), "chmod: %s", strerror(errno));
	if ((r = set_xattrs(a, fd, pfd, name, path, e)) < 0)
		return r;
	struct timespec ts[2];
	entry_times(e, ts);
	if (futimens(fd, ts) < 0)
		return apply_fail(a, negative_errno(), "set times: %s", strerror(errno));
	apply_writeback_close(&a->writeback, TAKE_FD(fd));
	return 0;
}

static int apply_dir(struct apply *a, struct archive_entry *e, const char *path)
{
	const char *name;
	int pfd = path[0] ? apply_get_parent(a, path, &name) : apply_open_parent(a->treefd, "", &name);
	_cleanup_close_ int rootfd = path[0] ? -EBADF : pfd;
	if (pfd < 0)
		return path[0] ? pfd : apply_fail(a, pfd, "open the root: %s", strerror(-pfd));
	int r;
	if (path[0] && ((r = apply_save_parent_meta(a, pfd, path)) < 0 ||
			(r = apply_prepare_create(a, pfd, name, path)) < 0))
		return r;
	bool whited_out = false; /* the layer's whiteout was in the way */
	for (int tries = 0;; tries++) {
		if (path[0] && mkdirat(pfd, name, 0700) == 0) {
			if ((r = apply_mark_created(a, pfd, name, path)) < 0)
				return r;
			/* What the whiteout hid stays hidden below the new
			 * directory. */
			if (whited_out && (r = apply_hide_lower_dir(a, pfd, name)) < 0)
				return r;
			break;
		}
		if (path[0] && (errno != EEXIST || tries > 0))
			return apply_fail(a, negative_errno(), "mkdir: %s", strerror(errno));
		struct stat st;
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return apply_fail(a, negative_errno(), "stat: %s", strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			/* An existing directory is kept and updated. */
			if ((r = apply_save_meta(a, pfd, name, path)) < 0)
				return r;
			if (!snap_strmap_get(&a->layer_paths, path, NULL) &&
			    snap_strmap_put(&a->layer_paths, path, (void *)PATH_UPDATED) < 0)
				return apply_fail(a, -ENOMEM, "out of memory");
			break;
		}
		if (!path[0])
			return apply_fail(a, -ENOTDIR, "the root is not a directory");
		whited_out = apply_is_layer_whiteout(a, &st);
		if ((r = apply_remove_existing(a, pfd, name, path, &st)) < 0)
			return r;
	}
	_cleanup_close_ int dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return apply_fail(a, negative_errno(), "open: %s", strerror(errno));
	if (fchown(dfd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return apply_fail(a, negative_errno(), "chown: %s", strerror(errno));
	if ((r = set_xattrs(a, dfd, pfd, name, path, e)) < 0)
		return r;
	/* Mode and times once the directory's contents are written (a
	 * read-only directory must still receive them, and every child
	 * created bumps the mtime). */
	return defer_dir(a, path, e);
}

/* Create a non-regular, non-directory entry with create(), replacing what
 * is in the way. */
static int create_node(struct apply *a, int pfd, const char *name, const char *path,
		       struct archive_entry *e)
{
	int r = apply_prepare_create(a, pfd, name, path);
	if (r < 0)
		return r;
	for (int tries = 0;; tries++) {
		int q;
		switch (archive_entry_filetype(e)) {
		case AE_IFLNK:
			q = symlinkat(archive_entry_symlink(e), pfd, name);
			break;
		case AE_IFIFO:
			q = mknodat(pfd, name, S_IFIFO | 0600, 0);
			break;
		default:
			q = mknodat(pfd, name,
				    (archive_entry_filetype(e) == AE_IFCHR ? S_IFCHR : S_IFBLK) | 0600,
				    makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e)));
			break;
		}
		if (q == 0)
			break;
		if ((r = clear_the_way(a, pfd, name, path, tries)) < 0)
			return r;
	}
	return apply_mark_created(a, pfd, name, path);
}

static int apply_node(struct apply *a, struct archive_entry *e, const char *path)
{
	if (archive_entry_filetype(e) == AE_IFLNK && !archive_entry_symlink(e))
		return apply_fail(a, -EINVAL, "symlink without a target");
	const char *name;
	int pfd = apply_get_parent(a, path, &name);
	if (pfd < 0)
		return pfd;
	int r = apply_save_parent_meta(a, pfd, path);
	if (r < 0 || (r = create_node(a, pfd, name, path, e)) < 0)
		return r;
	if (fchownat(pfd, name, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return apply_fail(a, negative_errno(), "chown: %s", strerror(errno));
	/* Symlinks have no mode of their own; for nodes fchmodat acts on the
	 * node just created (not a symlink), after chown cleared setuid. */
	if (archive_entry_filetype(e) != AE_IFLNK && fchmodat(pfd, name, archive_entry_perm(e), 0) < 0)
		return apply_fail(a, negative_errno(), "chmod: %s", strerror(errno));
	if ((r = set_xattrs(a, -1, pfd, name, path, e)) < 0)
		return r;
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return apply_fail(a, negative_errno(), "set times: %s", strerror(errno));
	return 0;
}

static int apply_hardlink(struct apply *a, struct archive_entry *e, const char *path)
{
	_cleanup_free_ char *target = NULL;
	int r = apply_checked_path(a, archive_entry_hardlink(e), "hardlink target", &target);
	if (r < 0)
		return r;
	if (!target[0] || strcmp(target, path) == 0)
		return apply_fail(a, -EINVAL, "hardlink to itself or to the root");
	/* Overlay: a target only the layers below hold is copied up first. */
	_cleanup_free_ char *tname = NULL;
	_cleanup_close_ int tpfd = -EBADF;
	struct stat tst;
	r = apply_link_target(a, target, &tpfd, &tname, &tst);
	if (r == -ENOENT)
		return apply_fail(a, r, "hardlink target '%s' does not exist", target);
	if (r == -EPERM)
		return apply_fail(a, r, "hardlink target '%s' is a directory", target);
	if (r < 0)
		return r;
	const char *name;
	int pfd = apply_get_parent(a, path, &name);
	if (pfd < 0)
		return pfd;
	if ((r = apply_save_parent_meta(a, pfd, path)) < 0 || (r = apply_prepare_create(a, pfd, name, path)) < 0)
		return r;
	for (int tries = 0;; tries++) {
		/* flags 0: a symlink target is linked itself, never followed. */
		if (linkat(tpfd, tname, pfd, name, 0) == 0)
			break;
		if (errno != EEXIST || tries > 0)
			return apply_fail(a, negative_errno(), "link to '%s': %s", target, strerror(errno));
		struct stat st;
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return apply_fail(a, negative_errno(), "stat: %s", strerror(errno));
		if (st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
			return 0;
		if ((r = apply_remove_existing(a, pfd, name, path, &st)) < 0)
			return r;
	}
	/* The name is the layer's, the file may be older: never removed as
	 * the layer's own by its identity. */
	return apply_mark_linked(a, pfd, path);
}

int apply_entry(struct apply *a, struct apply_input *in, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw || !raw[0])
		return apply_fail(a, -EINVAL, "entry without a name");
	int r = apply_pax_check(a, in);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = NULL;
	r = apply_checked_path(a, raw, "name", &path);
	if (r < 0)
		return r;
	if (snap_layer_aufs_meta(path))
		return 0;
	if (path[0] && strncmp(snap_path_base(path), ".wh.", 4) == 0)
		return apply_whiteout(a, path);
	if (archive_entry_hardlink(e))
		return path[0] ? apply_hardlink(a, e, path) : apply_fail(a, -EINVAL, "the root cannot be a hardlink");
	int type = archive_entry_filetype(e);
	if (!path[0] && type != AE_IFDIR)
		return apply_fail(a, -EINVAL, "the root can only be a directory");
	switch (type) {
	case AE_IFREG:
		return apply_file(a, in, e, path);
	case AE_IFDIR:
		return apply_dir(a, e, path);
	case AE_IFLNK:
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return apply_node(a, e, path);
	default:
		return apply_fail(a, -EINVAL, "unsupported entry type 0%o", (unsigned)type);
	}
}
