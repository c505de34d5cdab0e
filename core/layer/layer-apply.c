/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Apply an OCI layer tar to a tree, confined to the tree's directory fd and
 * undoable until the end.
 *
 * Reading: two libarchive readers are stacked.  The first reads the fd in
 * "raw" format with every decompression filter, so what it returns is the
 * uncompressed stream itself: that is the only place where the bytes of the
 * diff ID can be hashed (a tar reader hands out entries, not the stream).
 * The second reader parses tar from those bytes.  The fd bytes are hashed in
 * the first reader's read callback (the blob digest).
 *
 * Confinement: parents are opened with snap_openat_in_root (openat2
 * RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, or its fd-walking fallback); the
 * last component is only touched with *at() calls that never follow it.
 *
 * Atomicity: an undo journal.  Before an existing entry is replaced or
 * removed it is renamed into an undo directory in the tree root (same
 * filesystem, so rename works everywhere, even inside a btrfs subvolume);
 * every created path and every changed directory's old metadata is logged.
 * On failure the journal is played backwards, which restores the tree
 * exactly (each undo step sees the tree as it was right after its step).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "layer/layer-internal.h"
#include "layer/layer.h"
#include "util/macro.h"
#include "util/strset.h"

#define READ_BUF (1 << 17)

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

struct input {
	int fd;
	struct archive *raw; /* decompressing reader, format raw */
	struct snap_sha256 blob, diff;
	char *fdbuf, *rawbuf;
	int io_error;
	bool plain; /* no compression: the blob is the stream, hash it once */
	char raw_error[256];
};

struct apply {
	int treefd;
	const struct snap_whiteout_hook *hook;
	struct archive *tar;
	struct snap_error *err;
	const char *entry; /* current entry name, for messages */

	struct snap_strmap layer_paths; /* path -> PATH_CREATED / PATH_UPDATED */
	struct snap_strmap saved_meta;  /* directories with an UNDO_META */
	struct snap_strmap opaque_done;
	struct snap_strmap deferred_idx; /* path -> index + 1 into dirs */

	struct undo *undo;
	size_t n_undo, cap_undo;
	struct deferred_dir *dirs;
	size_t n_dirs, cap_dirs;

	int backupfd;
	char backup_name[64];
	unsigned n_backups;

	char *cache_dir; /* parent directory cache */
	int cache_fd;
	bool cache_stale; /* something was moved or removed: resolve again */

	char *buf;
	uint64_t entries;
};

/* ---- errors ---- */

static int fail(struct apply *a, int code, const char *fmt, ...) _printf_(3, 4);
static int fail(struct apply *a, int code, const char *fmt, ...)
{
	char why[SNAP_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* A hostile name may be PATH_MAX long: keep the reason readable. */
	if (a->entry && strlen(a->entry) > 160)
		return snap_error_set(a->err, code, "apply layer: entry '%.120s...' (%zu bytes): %s",
				      a->entry, strlen(a->entry), why);
	if (a->entry)
		return snap_error_set(a->err, code, "apply layer: entry '%s': %s", a->entry, why);
	return snap_error_set(a->err, code, "apply layer: %s", why);
}

/* ---- journal ---- */

static int undo_push(struct apply *a, int kind, const char *path, struct undo **ret)
{
	if (a->n_undo == a->cap_undo) {
		size_t ncap = a->cap_undo ? a->cap_undo * 2 : 256;
		struct undo *nv = realloc(a->undo, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		a->undo = nv;
		a->cap_undo = ncap;
	}
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	struct undo *u = &a->undo[a->n_undo++];
	*u = (struct undo){ .kind = kind, .path = p };
	if (ret)
		*ret = u;
	return 0;
}

static void cache_drop(struct apply *a)
{
	free(a->cache_dir);
	a->cache_dir = NULL;
	if (a->cache_fd >= 0)
		close(a->cache_fd);
	a->cache_fd = -EBADF;
}

static const char *last_component(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static size_t dir_len(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? (size_t)(s - path) : 0;
}

/* Open the parent directory of `path`; name = its last component.  "" (the
 * root) gives the root's parent as the root itself and name ".". */
static int open_parent(int treefd, const char *path, const char **ret_name)
{
	size_t dl = dir_len(path);
	*ret_name = path[0] ? last_component(path) : ".";
	if (dl == 0) {
		int fd = openat(treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? negative_errno() : fd;
	}
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return -ENOMEM;
	return snap_openat_in_root(treefd, dir, O_PATH | O_DIRECTORY, 0);
}

/* Save a pre-existing directory's metadata once, before anything in it or
 * of it changes. */
static int save_meta(struct apply *a, int pfd, const char *name, const char *path)
{
	void *v;
	if (snap_strmap_get(&a->layer_paths, path, &v) && v == (void *)PATH_CREATED)
		return 0;
	int r = snap_strset_add(&a->saved_meta, path);
	if (r <= 0)
		return r < 0 ? fail(a, r, "out of memory") : 0;
	struct undo *u;
	if (undo_push(a, UNDO_META, path, &u) < 0)
		return fail(a, -ENOMEM, "out of memory");
	if (fstatat(pfd, name, &u->st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(a, negative_errno(), "stat '%s': %s", path[0] ? path : ".", strerror(errno));
	r = snap_xattrs_read_at(pfd, name, true, &u->xattrs);
	if (r < 0)
		return fail(a, r, "read xattrs of '%s': %s", path[0] ? path : ".", strerror(-r));
	return 0;
}

static int save_parent_meta(struct apply *a, const char *path)
{
	size_t dl = dir_len(path);
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return fail(a, -ENOMEM, "out of memory");
	void *v;
	if (snap_strmap_get(&a->saved_meta, dir, NULL) ||
	    (snap_strmap_get(&a->layer_paths, dir, &v) && v == (void *)PATH_CREATED))
		return 0;
	const char *name;
	_cleanup_close_ int pfd = open_parent(a->treefd, dir, &name);
	if (pfd < 0)
		return fail(a, pfd, "open '%s': %s", dir[0] ? dir : ".", strerror(-pfd));
	return save_meta(a, pfd, name, dir);
}

static int ensure_backup_dir(struct apply *a)
{
	if (a->backupfd >= 0)
		return 0;
	int r = save_parent_meta(a, a->backup_name);
	if (r < 0)
		return r;
	if (mkdirat(a->treefd, a->backup_name, 0700) < 0)
		return fail(a, negative_errno(), "create undo directory %s: %s", a->backup_name,
			    strerror(errno));
	a->backupfd = openat(a->treefd, a->backup_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (a->backupfd < 0) {
		r = negative_errno();
		unlinkat(a->treefd, a->backup_name, AT_REMOVEDIR);
		return fail(a, r, "open undo directory: %s", strerror(-r));
	}
	return 0;
}

/* Get `path`'s existing entry out of the way: entries this layer created are
 * simply removed, older ones are moved to the undo directory. */
static int remove_existing(struct apply *a, int pfd, const char *name, const char *path,
			   const struct stat *st)
{
	void *v = NULL;
	snap_strmap_get(&a->layer_paths, path, &v);
	/* The cached parent may lie below what moves; the caller's own pfd
	 * (the parent of `name`) stays valid. */
	a->cache_stale = true;
	int r = save_parent_meta(a, path);
	if (r < 0)
		return r;
	if (v == (void *)PATH_CREATED) {
		r = snap_rm_rf_at(pfd, name);
		return r < 0 ? fail(a, r, "remove '%s': %s", path, strerror(-r)) : 0;
	}
	if ((r = ensure_backup_dir(a)) < 0)
		return r;
	char bname[32];
	snprintf(bname, sizeof(bname), "%u", a->n_backups);
	struct undo *u;
	if (undo_push(a, UNDO_BACKUP, path, &u) < 0)
		return fail(a, -ENOMEM, "out of memory");
	if (renameat(pfd, name, a->backupfd, bname) < 0) {
		r = negative_errno();
		free(u->path);
		a->n_undo--;
		return fail(a, r, "move '%s' aside: %s", path, strerror(-r));
	}
	u->backup = a->n_backups++;
	return 0;
}

static int mark_created(struct apply *a, const char *path)
{
	if (undo_push(a, UNDO_CREATED, path, NULL) < 0 ||
	    snap_strmap_set(&a->layer_paths, path, (void *)PATH_CREATED) < 0)
		return fail(a, -ENOMEM, "out of memory");
	return 0;
}

/* ---- resolving parents ---- */

/*
 * mkdir -p of `dir` inside the tree, following symlinks the way
 * RESOLVE_IN_ROOT does (absolute targets and ".." stay in the root), so a
 * later snap_openat_in_root of `dir` succeeds.  Needed where a layer's
 * symlink points at a directory that is not in this tree: overlay's upper
 * dir holds only this layer, the directory may be in a lower one.
 * A missing parent is created like tar does: root-owned, 0755.
 */
static int make_parents(struct apply *a, const char *dir)
{
	_cleanup_free_ char *pending = strdup(dir);
	_cleanup_free_ char *where = strdup("");
	if (!pending || !where)
		return fail(a, -ENOMEM, "out of memory");
	_cleanup_close_ int cur = openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return fail(a, negative_errno(), "open the root: %s", strerror(errno));
	int links = 0;
	for (;;) {
		char *p = pending;
		while (*p == '/')
			p++;
		if (!*p)
			return 0;
		char *e = strchrnul(p, '/');
		_cleanup_free_ char *comp = strndup(p, (size_t)(e - p));
		_cleanup_free_ char *rest = strdup(e);
		if (!comp || !rest)
			return fail(a, -ENOMEM, "out of memory");
		free(pending);
		pending = TAKE_PTR(rest);
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *slash = strrchr(where, '/');
			*(slash ? slash : where) = '\0';
			int fd = where[0] ? snap_openat_in_root(a->treefd, where, O_PATH | O_DIRECTORY, 0)
					  : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd == -1)
				fd = negative_errno();
			if (fd < 0)
				return fail(a, fd, "open '%s': %s", where, strerror(-fd));
			closep(&cur);
			cur = fd;
			continue;
		}
		_cleanup_free_ char *next = NULL;
		if ((where[0] ? asprintf(&next, "%s/%s", where, comp) : asprintf(&next, "%s", comp)) < 0)
			return fail(a, -ENOMEM, "out of memory");
		struct stat st;
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return fail(a, negative_errno(), "stat '%s': %s", next, strerror(errno));
			int r = save_parent_meta(a, next);
			if (r < 0)
				return r;
			if (mkdirat(cur, comp, 0755) < 0)
				return fail(a, negative_errno(), "create parent directory '%s': %s", next,
					    strerror(errno));
			if ((r = mark_created(a, next)) < 0)
				return r;
		} else if (S_ISLNK(st.st_mode)) {
			if (++links > 40)
				return fail(a, -ELOOP, "resolve '%s': %s", dir, strerror(ELOOP));
			char target[PATH_MAX];
			ssize_t n = readlinkat(cur, comp, target, sizeof(target) - 1);
			if (n < 0)
				return fail(a, negative_errno(), "readlink '%s': %s", next, strerror(errno));
			target[n] = '\0';
			char *joined;
			if (asprintf(&joined, "%s/%s", target, pending) < 0)
				return fail(a, -ENOMEM, "out of memory");
			free(pending);
			pending = joined;
			if (strlen(pending) >= PATH_MAX)
				return fail(a, -ENAMETOOLONG, "resolve '%s': %s", dir, strerror(ENAMETOOLONG));
			if (target[0] == '/') {
				where[0] = '\0';
				int fd = openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (fd < 0)
					return fail(a, negative_errno(), "open the root: %s", strerror(errno));
				closep(&cur);
				cur = fd;
			}
			continue;
		} else if (!S_ISDIR(st.st_mode)) {
			return fail(a, -ENOTDIR, "open parent directory '%s': a parent is not a directory", dir);
		}
		int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return fail(a, negative_errno(), "open '%s': %s", next, strerror(errno));
		closep(&cur);
		cur = fd;
		free(where);
		where = TAKE_PTR(next);
	}
}

/* A borrowed fd of path's parent directory (cached across entries). */
static int get_parent(struct apply *a, const char *path, const char **ret_name)
{
	size_t dl = dir_len(path);
	*ret_name = last_component(path);
	if (a->cache_stale)
		cache_drop(a);
	a->cache_stale = false;
	if (a->cache_dir && strlen(a->cache_dir) == dl && strncmp(a->cache_dir, path, dl) == 0)
		return a->cache_fd;
	cache_drop(a);
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return fail(a, -ENOMEM, "out of memory");
	int fd;
	for (int tries = 0;; tries++) {
		fd = dl ? snap_openat_in_root(a->treefd, dir, O_PATH | O_DIRECTORY, 0)
			: openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd == -1)
			fd = negative_errno();
		if (fd != -ENOENT || tries > 0)
			break;
		int r = make_parents(a, dir);
		if (r < 0)
			return r;
	}
	if (fd < 0)
		return fail(a, fd, "open parent directory '%s': %s", dir,
			    fd == -ENOTDIR ? "a parent is not a directory" : strerror(-fd));
	a->cache_dir = TAKE_PTR(dir);
	a->cache_fd = fd;
	return fd;
}

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
			if (r < 0)
				return fail(a, r, "set xattr %s on '%s': %s", k, path, strerror(-r));
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
				return fail(a, -ENOMEM, "out of memory");
			a->dirs = nv;
			a->cap_dirs = ncap;
		}
		d = &a->dirs[a->n_dirs];
		if (!(d->path = strdup(path)) ||
		    snap_strmap_put(&a->deferred_idx, path, (void *)(uintptr_t)(a->n_dirs + 1)) < 0) {
			free(d->path);
			return fail(a, -ENOMEM, "out of memory");
		}
		a->n_dirs++;
	}
	d->mode = archive_entry_perm(e);
	entry_times(e, d->times);
	return 0;
}

/* ---- entries ---- */

static int tar_fail(struct apply *a, struct input *in, const char *what)
{
	const char *s = in->raw_error[0] ? in->raw_error : archive_error_string(a->tar);
	int e = in->io_error ? in->io_error : archive_errno(a->tar) > 0 ? -archive_errno(a->tar) : -EIO;
	return fail(a, e, "%s: %s", what, s ? s : "corrupt input");
}

static int write_data(struct apply *a, struct input *in, int fd, const char *path,
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
			return tar_fail(a, in, "read data");
		if (off != pos) {
			/* Sparse entry: leave a hole. */
			if (lseek(fd, off, SEEK_SET) < 0)
				return fail(a, negative_errno(), "seek: %s", strerror(errno));
			pos = off;
		}
		r = snap_write_all(fd, buf, size);
		if (r < 0)
			return fail(a, r, "write '%s': %s", path, strerror(-r));
		pos += (int64_t)size;
	}
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > pos &&
	    ftruncate(fd, archive_entry_size(e)) < 0)
		return fail(a, negative_errno(), "extend '%s': %s", path, strerror(errno));
	return 0;
}

static int apply_file(struct apply *a, struct input *in, struct archive_entry *e, const char *path)
{
	const char *name;
	int pfd = get_parent(a, path, &name);
	if (pfd < 0)
		return pfd;
	int r = save_parent_meta(a, path);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = -EBADF;
	for (int tries = 0;; tries++) {
		fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries > 0)
			return fail(a, negative_errno(), "create: %s", strerror(errno));
		struct stat st;
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(a, negative_errno(), "stat: %s", strerror(errno));
		if ((r = remove_existing(a, pfd, name, path, &st)) < 0)
			return r;
	}
	if ((r = mark_created(a, path)) < 0)
		return r;
	/* Data first: a write clears setuid bits and security.capability. */
	if ((r = write_data(a, in, fd, path, e)) < 0)
		return r;
	/* chown clears setuid/setgid and capabilities, so mode and xattrs
	 * come after it. */
	if (fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return fail(a, negative_errno(), "chown: %s", strerror(errno));
	if (fchmod(fd, archive_entry_perm(e)) < 0)
		return fail(a, negative_errno(), "chmod: %s", strerror(errno));
	if ((r = set_xattrs(a, fd, pfd, name, path, e)) < 0)
		return r;
	struct timespec ts[2];
	entry_times(e, ts);
	if (futimens(fd, ts) < 0)
		return fail(a, negative_errno(), "set times: %s", strerror(errno));
	return 0;
}

static int apply_dir(struct apply *a, struct archive_entry *e, const char *path)
{
	const char *name;
	int pfd = path[0] ? get_parent(a, path, &name) : open_parent(a->treefd, "", &name);
	_cleanup_close_ int rootfd = path[0] ? -EBADF : pfd;
	if (pfd < 0)
		return path[0] ? pfd : fail(a, pfd, "open the root: %s", strerror(-pfd));
	int r;
	if (path[0] && (r = save_parent_meta(a, path)) < 0)
		return r;
	for (int tries = 0;; tries++) {
		if (path[0] && mkdirat(pfd, name, 0700) == 0) {
			if ((r = mark_created(a, path)) < 0)
				return r;
			break;
		}
		if (path[0] && (errno != EEXIST || tries > 0))
			return fail(a, negative_errno(), "mkdir: %s", strerror(errno));
		struct stat st;
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(a, negative_errno(), "stat: %s", strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			/* An existing directory is kept and updated. */
			if ((r = save_meta(a, pfd, name, path)) < 0)
				return r;
			if (!snap_strmap_get(&a->layer_paths, path, NULL) &&
			    snap_strmap_put(&a->layer_paths, path, (void *)PATH_UPDATED) < 0)
				return fail(a, -ENOMEM, "out of memory");
			break;
		}
		if (!path[0])
			return fail(a, -ENOTDIR, "the root is not a directory");
		if ((r = remove_existing(a, pfd, name, path, &st)) < 0)
			return r;
	}
	_cleanup_close_ int dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return fail(a, negative_errno(), "open: %s", strerror(errno));
	if (fchown(dfd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return fail(a, negative_errno(), "chown: %s", strerror(errno));
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
	int r;
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
		if (errno != EEXIST || tries > 0)
			return fail(a, negative_errno(), "create: %s", strerror(errno));
		struct stat st;
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(a, negative_errno(), "stat: %s", strerror(errno));
		if ((r = remove_existing(a, pfd, name, path, &st)) < 0)
			return r;
	}
	return mark_created(a, path);
}

static int apply_node(struct apply *a, struct archive_entry *e, const char *path)
{
	if (archive_entry_filetype(e) == AE_IFLNK && !archive_entry_symlink(e))
		return fail(a, -EINVAL, "symlink without a target");
	const char *name;
	int pfd = get_parent(a, path, &name);
	if (pfd < 0)
		return pfd;
	int r = save_parent_meta(a, path);
	if (r < 0 || (r = create_node(a, pfd, name, path, e)) < 0)
		return r;
	if (fchownat(pfd, name, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return fail(a, negative_errno(), "chown: %s", strerror(errno));
	/* Symlinks have no mode of their own; for nodes fchmodat acts on the
	 * node just created (not a symlink), after chown cleared setuid. */
	if (archive_entry_filetype(e) != AE_IFLNK && fchmodat(pfd, name, archive_entry_perm(e), 0) < 0)
		return fail(a, negative_errno(), "chmod: %s", strerror(errno));
	if ((r = set_xattrs(a, -1, pfd, name, path, e)) < 0)
		return r;
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(a, negative_errno(), "set times: %s", strerror(errno));
	return 0;
}

/* ".." that would climb above the root. */
static bool escapes_root(const char *p)
{
	int depth = 0;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return true;
		} else if (!(n == 1 && p[0] == '.')) {
			depth++;
		}
		p = e;
	}
	return false;
}

static int checked_path(struct apply *a, const char *raw, const char *what, char **ret)
{
	if (strlen(raw) >= PATH_MAX)
		return fail(a, -ENAMETOOLONG, "%s is longer than PATH_MAX (%zu bytes)", what, strlen(raw));
	if (escapes_root(raw))
		return fail(a, -EPERM, "%s '%.200s' escapes the root", what, raw);
	char *n = snap_path_normalize(raw);
	if (!n)
		return fail(a, negative_errno(), "%s: %s", what,
			    errno == ENAMETOOLONG ? "a component is longer than NAME_MAX" : strerror(errno));
	/* The undo directories of applies (ours or a crashed one's) are
	 * invisible to the differ: a layer cannot use their names. */
	if (strncmp(n, SNAP_APPLY_BACKUP_PREFIX, strlen(SNAP_APPLY_BACKUP_PREFIX)) == 0) {
		free(n);
		return fail(a, -EPERM, "%s uses the reserved prefix " SNAP_APPLY_BACKUP_PREFIX, what);
	}
	*ret = n;
	return 0;
}

static int apply_hardlink(struct apply *a, struct archive_entry *e, const char *path)
{
	_cleanup_free_ char *target = NULL;
	int r = checked_path(a, archive_entry_hardlink(e), "hardlink target", &target);
	if (r < 0)
		return r;
	if (!target[0] || strcmp(target, path) == 0)
		return fail(a, -EINVAL, "hardlink to itself or to the root");
	const char *tname;
	_cleanup_close_ int tpfd = open_parent(a->treefd, target, &tname);
	struct stat tst;
	if (tpfd < 0 || fstatat(tpfd, tname, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
		r = tpfd < 0 ? tpfd : negative_errno();
		return fail(a, r, "hardlink target '%s' %s", target,
			    r == -ENOENT ? "does not exist" : strerror(-r));
	}
	if (S_ISDIR(tst.st_mode))
		return fail(a, -EPERM, "hardlink target '%s' is a directory", target);
	const char *name;
	int pfd = get_parent(a, path, &name);
	if (pfd < 0)
		return pfd;
	if ((r = save_parent_meta(a, path)) < 0)
		return r;
	for (int tries = 0;; tries++) {
		/* flags 0: a symlink target is linked itself, never followed. */
		if (linkat(tpfd, tname, pfd, name, 0) == 0)
			break;
		if (errno != EEXIST || tries > 0)
			return fail(a, negative_errno(), "link to '%s': %s", target, strerror(errno));
		struct stat st;
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(a, negative_errno(), "stat: %s", strerror(errno));
		if (st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
			return 0;
		if ((r = remove_existing(a, pfd, name, path, &st)) < 0)
			return r;
	}
	return mark_created(a, path);
}

/* ---- whiteouts ---- */

static int purge(struct apply *a, int dirfd, const char *dirpath)
{
	int lfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0)
		return fail(a, negative_errno(), "open '%s': %s", dirpath[0] ? dirpath : ".",
			    strerror(errno));
	_cleanup_closedir_ DIR *d = fdopendir(lfd);
	if (!d) {
		close(lfd);
		return fail(a, -ENOMEM, "out of memory");
	}
	/* Collect first: entries are renamed away while we go. */
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!dirpath[0] && strcmp(de->d_name, a->backup_name) == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(names, cap * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			names = nv;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_free_ char *child = NULL;
		if ((dirpath[0] ? asprintf(&child, "%s/%s", dirpath, names[i])
				: asprintf(&child, "%s", names[i])) < 0) {
			r = -ENOMEM;
			break;
		}
		void *v = NULL;
		snap_strmap_get(&a->layer_paths, child, &v);
		struct stat st;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = fail(a, negative_errno(), "stat '%s': %s", child, strerror(errno));
			break;
		}
		if (!v) {
			r = remove_existing(a, dirfd, names[i], child, &st);
		} else if (v == (void *)PATH_UPDATED && S_ISDIR(st.st_mode)) {
			/* This layer's directory, but older contents below it are
			 * hidden too. */
			_cleanup_close_ int sub = openat(dirfd, names[i],
							 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? fail(a, negative_errno(), "open '%s': %s", child, strerror(errno))
				    : purge(a, sub, child);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r == -ENOMEM)
		return fail(a, r, "out of memory");
	return r;
}

static int call_hook(struct apply *a, int dirfd, const char *name, int kind)
{
	struct snap_error herr = { 0 };
	int r = a->hook->fn(a->hook->state, dirfd, name, kind, &herr);
	if (r < 0)
		return fail(a, r, "driver whiteout: %s", herr.message[0] ? herr.message : strerror(-r));
	return 0;
}

static int apply_opaque(struct apply *a, const char *dir)
{
	int r = snap_strset_add(&a->opaque_done, dir);
	if (r < 0)
		return fail(a, r, "out of memory");
	if (r == 0) /* once per directory: repeated markers cost nothing */
		return 0;
	bool hook = a->hook && a->hook->fn;
	_cleanup_close_ int dfd = dir[0] ? snap_openat_in_root(a->treefd, dir, O_PATH | O_DIRECTORY, 0)
				     : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		dfd = negative_errno();
	if (dfd == -ENOENT && hook) {
		if ((r = make_parents(a, dir)) < 0)
			return r;
		dfd = snap_openat_in_root(a->treefd, dir, O_PATH | O_DIRECTORY, 0);
	}
	if (dfd == -ENOENT || dfd == -ENOTDIR)
		return 0; /* nothing below to hide */
	if (dfd < 0)
		return fail(a, dfd, "open '%s': %s", dir, strerror(-dfd));
	if ((r = purge(a, dfd, dir)) < 0)
		return r;
	if (!hook)
		return 0;
	const char *name;
	_cleanup_close_ int pfd = open_parent(a->treefd, dir, &name);
	if (pfd < 0)
		return fail(a, pfd, "open parent of '%s': %s", dir, strerror(-pfd));
	if ((r = save_meta(a, pfd, name, dir)) < 0)
		return r;
	return call_hook(a, pfd, name, SNAP_WHITEOUT_OPAQUE);
}

static int apply_whiteout(struct apply *a, const char *path)
{
	const char *base = last_component(path);
	size_t dl = dir_len(path);
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return fail(a, -ENOMEM, "out of memory");
	if (strcmp(base, ".wh..wh..opq") == 0)
		return apply_opaque(a, dir);
	if (strncmp(base, ".wh..wh.", 8) == 0)
		return 0; /* aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not a whiteout */
	const char *victim = base + 4;
	if (!victim[0] || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
		return fail(a, -EINVAL, "invalid whiteout name");
	_cleanup_free_ char *tpath = NULL;
	if ((dl ? asprintf(&tpath, "%s/%s", dir, victim) : asprintf(&tpath, "%s", victim)) < 0)
		return fail(a, -ENOMEM, "out of memory");
	/* Whiteouts only hide the layers below, never this layer's entries. */
	if (snap_strmap_get(&a->layer_paths, tpath, NULL))
		return 0;
	bool hook = a->hook && a->hook->fn;
	const char *name;
	int pfd;
	if (hook) {
		pfd = get_parent(a, tpath, &name);
		if (pfd < 0)
			return pfd;
	} else {
		/* Without a parent there is nothing to delete. */
		if (a->cache_stale)
			cache_drop(a);
		a->cache_stale = false;
		_cleanup_close_ int probe = dl ? snap_openat_in_root(a->treefd, dir, O_PATH | O_DIRECTORY, 0)
					   : openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (probe == -ENOENT || probe == -ENOTDIR)
			return 0;
		pfd = get_parent(a, tpath, &name);
		if (pfd < 0)
			return pfd;
	}
	int r = save_parent_meta(a, tpath);
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if ((r = remove_existing(a, pfd, name, tpath, &st)) < 0)
			return r;
	} else if (errno != ENOENT) {
		return fail(a, negative_errno(), "stat '%s': %s", tpath, strerror(errno));
	}
	if (!hook)
		return 0;
	/* Whatever the hook creates (a whiteout device) is removed on undo. */
	if (undo_push(a, UNDO_CREATED, tpath, NULL) < 0)
		return fail(a, -ENOMEM, "out of memory");
	return call_hook(a, pfd, name, SNAP_WHITEOUT_ENTRY);
}

static int apply_entry(struct apply *a, struct input *in, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw || !raw[0])
		return fail(a, -EINVAL, "entry without a name");
	_cleanup_free_ char *path = NULL;
	int r = checked_path(a, raw, "name", &path);
	if (r < 0)
		return r;
	if (path[0] && strncmp(last_component(path), ".wh.", 4) == 0)
		return apply_whiteout(a, path);
	if (archive_entry_hardlink(e))
		return path[0] ? apply_hardlink(a, e, path) : fail(a, -EINVAL, "the root cannot be a hardlink");
	int type = archive_entry_filetype(e);
	if (!path[0] && type != AE_IFDIR)
		return fail(a, -EINVAL, "the root can only be a directory");
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
		return fail(a, -EINVAL, "unsupported entry type 0%o", (unsigned)type);
	}
}

/* ---- end: commit or roll back ---- */

static int restore_meta(struct apply *a, const struct undo *u)
{
	const char *name;
	_cleanup_close_ int pfd = open_parent(a->treefd, u->path, &name);
	if (pfd < 0)
		return pfd;
	int r = 0;
	if (fchownat(pfd, name, u->st.st_uid, u->st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(pfd, name, u->st.st_mode & 07777, 0) < 0)
		r = negative_errno();
	_cleanup_(snap_xattrs_done) struct snap_xattrs now = { 0 };
	if (snap_xattrs_read_at(pfd, name, true, &now) == 0) {
		for (size_t i = 0; i < now.n; i++) {
			bool keep = false;
			for (size_t j = 0; j < u->xattrs.n && !keep; j++)
				keep = strcmp(now.v[i].name, u->xattrs.v[j].name) == 0;
			if (!keep)
				snap_xattr_remove_at(pfd, name, now.v[i].name);
		}
	}
	for (size_t j = 0; j < u->xattrs.n; j++)
		snap_xattr_set_at(pfd, name, u->xattrs.v[j].name, u->xattrs.v[j].value, u->xattrs.v[j].size);
	struct timespec ts[2] = { u->st.st_atim, u->st.st_mtim };
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 && r == 0)
		r = negative_errno();
	return r;
}

static void rollback(struct apply *a)
{
	cache_drop(a);
	unsigned failed = 0;
	const struct undo *root_meta = NULL;
	for (size_t i = a->n_undo; i-- > 0;) {
		const struct undo *u = &a->undo[i];
		const char *name;
		int r;
		if (u->kind == UNDO_META) {
			r = restore_meta(a, u);
			if (!u->path[0])
				root_meta = u;
		} else {
			_cleanup_close_ int pfd = open_parent(a->treefd, u->path, &name);
			if (pfd < 0) {
				r = pfd;
			} else if (u->kind == UNDO_CREATED) {
				r = snap_rm_rf_at(pfd, name);
			} else {
				char bname[32];
				snprintf(bname, sizeof(bname), "%u", u->backup);
				r = renameat(a->backupfd, bname, pfd, name) < 0 ? negative_errno() : 0;
			}
		}
		if (r < 0)
			failed++;
	}
	if (a->backupfd >= 0) {
		if (snap_rm_rf_at(a->treefd, a->backup_name) < 0)
			failed++;
		/* Removing the undo directory touched the root once more. */
		if (root_meta)
			restore_meta(a, root_meta);
	}
	if (failed && a->err) {
		size_t len = strlen(a->err->message);
		snprintf(a->err->message + len, sizeof(a->err->message) - len,
			 " (rollback incomplete: %u steps failed)", failed);
	}
}

static int dir_depth_cmp(const void *x, const void *y)
{
	size_t a = strlen(((const struct deferred_dir *)x)->path);
	size_t b = strlen(((const struct deferred_dir *)y)->path);
	return a < b ? 1 : a > b ? -1 : 0;
}

static int apply_deferred(struct apply *a, const struct deferred_dir *d)
{
	const char *name;
	_cleanup_close_ int pfd = open_parent(a->treefd, d->path, &name);
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
	cache_drop(a);
	/* Children before parents, so setting a child's times does not
	 * bump a parent's mtime after it was set. */
	if (a->n_dirs > 0) /* qsort(NULL, 0) is undefined */
		qsort(a->dirs, a->n_dirs, sizeof(*a->dirs), dir_depth_cmp);
	const struct deferred_dir *root = NULL;
	for (size_t i = 0; i < a->n_dirs; i++) {
		int r = apply_deferred(a, &a->dirs[i]);
		if (r < 0)
			return fail(a, r, "set mode and times of directory '%s': %s", a->dirs[i].path,
				    strerror(-r));
		if (!a->dirs[i].path[0])
			root = &a->dirs[i];
	}
	if (a->backupfd >= 0) {
		int r = snap_rm_rf_at(a->treefd, a->backup_name);
		if (r < 0)
			return fail(a, r, "remove undo directory %s: %s", a->backup_name, strerror(-r));
		closep(&a->backupfd);
		a->backupfd = -EBADF;
		if (root)
			apply_deferred(a, root);
	}
	/* Durability: one syncfs for the whole tree instead of an fsync per
	 * file; the caller commits the snapshot only after this. */
	_cleanup_close_ int sfd = openat(a->treefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || syncfs(sfd) < 0)
		return snap_error_set(a->err, negative_errno(), "apply layer: syncfs: %s", strerror(errno));
	return 0;
}

static void apply_done(struct apply *a)
{
	cache_drop(a);
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
	snap_strmap_done(&a->opaque_done);
	snap_strmap_done(&a->deferred_idx);
	if (a->backupfd >= 0)
		close(a->backupfd);
	if (a->tar)
		archive_read_free(a->tar);
}

/* ---- input: fd -> decompressor (raw) -> tar ---- */

static la_ssize_t fd_read(struct archive *ar, void *ctx, const void **buf)
{
	struct input *in = ctx;
	for (;;) {
		ssize_t n = read(in->fd, in->fdbuf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			in->io_error = negative_errno();
			archive_set_error(ar, errno, "read layer: %s", strerror(errno));
			return -1;
		}
		snap_sha256_update(&in->blob, in->fdbuf, (size_t)n);
		*buf = in->fdbuf;
		return n;
	}
}

static la_ssize_t raw_read(struct archive *ar, void *ctx, const void **buf)
{
	struct input *in = ctx;
	la_ssize_t n = archive_read_data(in->raw, in->rawbuf, READ_BUF);
	if (n < 0) {
		const char *s = archive_error_string(in->raw);
		snprintf(in->raw_error, sizeof(in->raw_error), "decompress: %s", s ? s : "corrupt input");
		archive_set_error(ar, archive_errno(in->raw) > 0 ? archive_errno(in->raw) : EIO, "%s",
				  in->raw_error);
		return -1;
	}
	if (!in->plain)
		snap_sha256_update(&in->diff, in->rawbuf, (size_t)n);
	*buf = in->rawbuf;
	return n;
}

static void input_done(struct input *in)
{
	if (in->raw)
		archive_read_free(in->raw);
	snap_sha256_done(&in->blob);
	snap_sha256_done(&in->diff);
	free(in->fdbuf);
	free(in->rawbuf);
}

static int input_open(struct input *in, int fd, struct archive **ret_tar, struct snap_error *err)
{
	in->fd = fd;
	if (snap_sha256_init(&in->blob) < 0 || snap_sha256_init(&in->diff) < 0 ||
	    !(in->fdbuf = malloc(READ_BUF)) || !(in->rawbuf = malloc(READ_BUF)) ||
	    !(in->raw = archive_read_new()))
		return snap_error_set(err, -ENOMEM, "apply layer: out of memory");
	/* Only filters built into libarchive: none spawns an external
	 * program on untrusted input. */
	archive_read_support_filter_gzip(in->raw);
	archive_read_support_filter_zstd(in->raw);
	archive_read_support_filter_xz(in->raw);
	archive_read_support_filter_bzip2(in->raw);
	archive_read_support_format_raw(in->raw);
	struct archive_entry *e;
	if (archive_read_open(in->raw, in, NULL, fd_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(in->raw, &e) != ARCHIVE_OK) {
		const char *s = archive_error_string(in->raw);
		int code = in->io_error ? in->io_error : -EINVAL;
		return snap_error_set(err, code, "apply layer: %s", s ? s : "empty input");
	}
	in->plain = archive_filter_code(in->raw, 0) == ARCHIVE_FILTER_NONE;
	struct archive *tar = archive_read_new();
	if (!tar)
		return snap_error_set(err, -ENOMEM, "apply layer: out of memory");
	archive_read_support_format_tar(tar);
	if (archive_read_open(tar, in, NULL, raw_read, NULL) != ARCHIVE_OK) {
		const char *s = in->raw_error[0] ? in->raw_error : archive_error_string(tar);
		int r = snap_error_set(err, -EINVAL, "apply layer: not a tar: %s", s ? s : "unknown format");
		archive_read_free(tar);
		return r;
	}
	*ret_tar = tar;
	return 0;
}

/* Hash what the tar reader left: the end-of-archive padding and anything
 * after it, so the digests cover the whole stream and the whole blob. */
static int input_drain(struct input *in, struct snap_error *err)
{
	for (;;) {
		la_ssize_t n = archive_read_data(in->raw, in->rawbuf, READ_BUF);
		if (n < 0) {
			const char *s = archive_error_string(in->raw);
			return snap_error_set(err, -EINVAL, "apply layer: decompress: %s",
					      s ? s : "corrupt input");
		}
		if (n == 0)
			break;
		if (!in->plain)
			snap_sha256_update(&in->diff, in->rawbuf, (size_t)n);
	}
	for (;;) {
		ssize_t n = read(in->fd, in->fdbuf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return snap_error_set(err, negative_errno(), "apply layer: read: %s", strerror(errno));
		if (n == 0)
			return 0;
		snap_sha256_update(&in->blob, in->fdbuf, (size_t)n);
	}
}

int snap_layer_apply_dirfd(int treefd, int fd, const struct snap_whiteout_hook *hook,
			   struct snap_layer_digests *ret, struct snap_error *err)
{
	struct input in = { 0 };
	struct apply a = {
		.treefd = treefd,
		.hook = hook,
		.err = err,
		.backupfd = -EBADF,
		.cache_fd = -EBADF,
	};
	snprintf(a.backup_name, sizeof(a.backup_name), SNAP_APPLY_BACKUP_PREFIX "%d", (int)getpid());
	int r = input_open(&in, fd, &a.tar, err);
	_cleanup_free_ char *last = NULL;
	while (r == 0) {
		struct archive_entry *e;
		int q = archive_read_next_header(a.tar, &e);
		if (q == ARCHIVE_EOF)
			break;
		if (q < ARCHIVE_WARN) {
			r = last ? tar_fail(&a, &in, "read the entry after it")
				 : tar_fail(&a, &in, "read the first entry");
			break;
		}
		free(last);
		last = strdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
		a.entry = last;
		r = apply_entry(&a, &in, e);
		a.entries++;
	}
	if (r == 0)
		r = input_drain(&in, err);
	if (r == 0)
		r = finish(&a);
	if (r < 0) {
		rollback(&a);
	} else if (ret) {
		struct snap_layer_digests d = { .entries = a.entries };
		d.blob_size = in.blob.size;
		d.diff_size = in.plain ? in.blob.size : in.diff.size;
		if (snap_sha256_final(&in.blob, d.blob_digest) < 0 ||
		    (in.plain ? (memcpy(d.diff_id, d.blob_digest, sizeof(d.diff_id)), 0)
			      : snap_sha256_final(&in.diff, d.diff_id)) < 0)
			r = snap_error_set(err, -EIO, "apply layer: sha256 failed");
		else
			*ret = d;
	}
	apply_done(&a);
	input_done(&in);
	return r;
}
