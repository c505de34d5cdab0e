/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compare a tree with the layer tar that made it, entry by entry, to name
 * the paths that drifted.
 *
 * The canonical diff ID (layer.c) tells whether a snapshot still is its
 * layer only when the layer was written in canonical form; registries'
 * layers rarely are (other entry order, ustar headers, parent directories
 * left implied).  So the layer blob is read as the applier reads it and
 * checked in both directions:
 *   - every entry the layer leaves in place must be on disk as the layer
 *     says (type, mode, owner, mtime, size and content, link target, device
 *     number, xattrs); a whiteout's path must be gone;
 *   - every change the differ finds between the snapshot and its parent
 *     must come from the layer: an ADD or MODIFY of an entry of the layer
 *     (or of a directory holding one: parents may be implied), a DELETE
 *     under one of its whiteouts, opaque directories or replaced entries.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "layer/layer-internal.h"
#include "layer/layer-names.h"
#include "layer/layer.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/strset.h"

#define READ_BUF (1 << 17)
/* Drift paths kept for the report; the rest are only counted. */
#define DRIFT_KEEP 100

struct ventry {
	char *path;
	size_t seq; /* position in the layer */
	bool live;  /* not replaced by a later entry of the same path */
	mode_t type; /* S_IF* */
	mode_t perm;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	int64_t size;
	char *link;     /* symlink target */
	char *hardlink; /* normalised target path */
	dev_t rdev;
	char digest[SNAP_DIGEST_MAX]; /* content of a regular file */
	struct snap_xattrs xattrs;
};

struct verifier {
	int treefd;
	struct archive *tar;
	struct ventry *v;
	size_t n, cap;
	struct snap_strmap entries; /* path -> index + 1 of the live entry */
	struct snap_strmap hidden;  /* whiteout path -> seq + 1 */
	struct snap_strmap opaque;  /* opaque directory */
	struct snap_strmap implied; /* proper parents of every path the layer names */
	struct snap_layer_verify *out;
	char *buf;
	/* parent directory cache */
	char *pdir;
	int pfd;
};

void snap_layer_verify_done(struct snap_layer_verify *v)
{
	for (size_t i = 0; i < v->n_drift; i++) {
		free(v->drift[i].path);
		free(v->drift[i].what);
	}
	free(v->drift);
	v->drift = NULL;
	v->n_drift = v->n_drift_total = 0;
}

static void verifier_done(struct verifier *vf)
{
	for (size_t i = 0; i < vf->n; i++) {
		free(vf->v[i].path);
		free(vf->v[i].link);
		free(vf->v[i].hardlink);
		snap_xattrs_done(&vf->v[i].xattrs);
	}
	free(vf->v);
	snap_strmap_done(&vf->entries);
	snap_strmap_done(&vf->hidden);
	snap_strmap_done(&vf->opaque);
	snap_strmap_done(&vf->implied);
	if (vf->tar)
		archive_read_free(vf->tar);
	free(vf->buf);
	free(vf->pdir);
	if (vf->pfd >= 0)
		close(vf->pfd);
}

static int drift(struct verifier *vf, const char *path, const char *fmt, ...) _printf_(3, 4);
static int drift(struct verifier *vf, const char *path, const char *fmt, ...)
{
	struct snap_layer_verify *o = vf->out;
	o->n_drift_total++;
	if (o->n_drift >= DRIFT_KEEP)
		return 0;
	struct snap_layer_drift *nv = realloc(o->drift, (o->n_drift + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	o->drift = nv;
	char *what = NULL;
	va_list ap;
	va_start(ap, fmt);
	int q = vasprintf(&what, fmt, ap);
	va_end(ap);
	char *p = strdup(path[0] ? path : ".");
	if (q < 0 || !p) {
		free(p);
		if (q >= 0)
			free(what);
		return -ENOMEM;
	}
	o->drift[o->n_drift++] = (struct snap_layer_drift){ .path = p, .what = what };
	return 0;
}

static const char *type_name(mode_t t)
{
	switch (t) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symlink";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFIFO: return "a fifo";
	default: return "a special file";
	}
}

static int add_implied(struct verifier *vf, const char *path)
{
	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/'))
		if (snap_strmap_putn(&vf->implied, path, (size_t)(s - path), NULL) < 0)
			return -ENOMEM;
	/* The root is the parent of every top-level name. */
	return path[0] && snap_strmap_put(&vf->implied, "", NULL) < 0 ? -ENOMEM : 0;
}

static int read_data(struct verifier *vf, struct ventry *ve, struct snap_error *err)
{
	struct snap_sha256 h;
	if (snap_sha256_init(&h) < 0)
		return snap_error_set(err, -ENOMEM, "verify: out of memory");
	for (;;) {
		la_ssize_t n = archive_read_data(vf->tar, vf->buf, READ_BUF);
		if (n < 0) {
			snap_sha256_done(&h);
			const char *s = archive_error_string(vf->tar);
			return snap_error_set(err, -EINVAL, "verify: read layer entry '%s': %s", ve->path,
					      s ? s : "corrupt input");
		}
		if (n == 0)
			break;
		snap_sha256_update(&h, vf->buf, (size_t)n);
	}
	ve->size = (int64_t)h.size;
	if (snap_sha256_final(&h, ve->digest) < 0)
		return snap_error_set(err, -EIO, "verify: sha256 failed");
	return 0;
}

static int read_xattrs(struct archive_entry *e, struct snap_xattrs *ret)
{
	int n = archive_entry_xattr_reset(e);
	if (n <= 0)
		return 0;
	ret->v = calloc((size_t)n, sizeof(*ret->v));
	if (!ret->v)
		return -ENOMEM;
	const char *name;
	const void *value;
	size_t size;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (snap_xattr_is_private(name))
			continue;
		struct snap_xattr *x = &ret->v[ret->n];
		x->name = strdup(name);
		x->value = malloc(size ? size : 1);
		if (!x->name || !x->value) {
			free(x->name);
			free(x->value);
			return -ENOMEM;
		}
		memcpy(x->value, value, size);
		x->size = size;
		ret->n++;
	}
	return 0;
}

static int xattr_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap_xattr *)a)->name, ((const struct snap_xattr *)b)->name);
}

/* Read the layer into vf: live entries, whiteouts, opaque directories. */
static int load_layer(struct verifier *vf, int blobfd, struct snap_error *err)
{
	if (!(vf->tar = archive_read_new()) || !(vf->buf = malloc(READ_BUF)))
		return snap_error_set(err, -ENOMEM, "verify: out of memory");
	/* The same filters the applier accepts, none of them external. */
	archive_read_support_filter_gzip(vf->tar);
	archive_read_support_filter_zstd(vf->tar);
	archive_read_support_filter_xz(vf->tar);
	archive_read_support_filter_bzip2(vf->tar);
	archive_read_support_format_tar(vf->tar);
	if (archive_read_open_fd(vf->tar, blobfd, READ_BUF) != ARCHIVE_OK) {
		const char *s = archive_error_string(vf->tar);
		return snap_error_set(err, -EINVAL, "verify: read layer: %s", s ? s : "not a tar");
	}
	for (size_t seq = 0;; seq++) {
		struct archive_entry *e;
		int q = archive_read_next_header(vf->tar, &e);
		if (q == ARCHIVE_EOF)
			return 0;
		if (q < ARCHIVE_WARN) {
			const char *s = archive_error_string(vf->tar);
			return snap_error_set(err, -EINVAL, "verify: read layer: %s", s ? s : "corrupt tar");
		}
		const char *raw = archive_entry_pathname(e);
		_cleanup_free_ char *path = snap_path_normalize(raw ? raw : "");
		if (!path)
			return snap_error_set(err, negative_errno(), "verify: layer entry '%.200s': %s",
					      raw ? raw : "", strerror(errno));
		if (snap_layer_aufs_meta(path))
			continue;
		const char *slash = strrchr(path, '/');
		const char *base = slash ? slash + 1 : path;
		size_t dl = slash ? (size_t)(slash - path) : 0;
		if (strncmp(base, ".wh.", 4) == 0) {
			_cleanup_free_ char *target = NULL;
			bool opq = strcmp(base, ".wh..wh..opq") == 0;
			if (opq ? !(target = strndup(path, dl))
				: asprintf(&target, "%.*s%s%s", (int)dl, path, dl ? "/" : "", base + 4) < 0) {
				target = NULL;
				return snap_error_set(err, -ENOMEM, "verify: out of memory");
			}
			int r = opq ? snap_strmap_put(&vf->opaque, target, NULL)
				    : snap_strmap_set(&vf->hidden, target, (void *)(uintptr_t)(seq + 1));
			if (r < 0 || add_implied(vf, target) < 0 ||
			    (opq && snap_strmap_put(&vf->implied, target, NULL) < 0))
				return snap_error_set(err, -ENOMEM, "verify: out of memory");
			continue;
		}
		if (vf->n == vf->cap) {
			size_t ncap = vf->cap ? vf->cap * 2 : 256;
			struct ventry *nv = realloc(vf->v, ncap * sizeof(*nv));
			if (!nv)
				return snap_error_set(err, -ENOMEM, "verify: out of memory");
			vf->v = nv;
			vf->cap = ncap;
		}
		struct ventry *ve = &vf->v[vf->n++];
		*ve = (struct ventry){
			.path = TAKE_PTR(path),
			.seq = seq,
			.live = true,
			.type = archive_entry_filetype(e),
			.perm = archive_entry_perm(e) & 07777,
			.uid = (uid_t)archive_entry_uid(e),
			.gid = (gid_t)archive_entry_gid(e),
			.mtime = { archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
			.rdev = archive_entry_rdev(e),
		};
		void *prev;
		if (snap_strmap_get(&vf->entries, ve->path, &prev))
			vf->v[(uintptr_t)prev - 1].live = false;
		if (snap_strmap_set(&vf->entries, ve->path, (void *)(uintptr_t)vf->n) < 0 ||
		    add_implied(vf, ve->path) < 0 || read_xattrs(e, &ve->xattrs) < 0)
			return snap_error_set(err, -ENOMEM, "verify: out of memory");
		if (ve->xattrs.n > 1)
			qsort(ve->xattrs.v, ve->xattrs.n, sizeof(*ve->xattrs.v), xattr_name_cmp);
		if (archive_entry_hardlink(e)) {
			if (!(ve->hardlink = snap_path_normalize(archive_entry_hardlink(e))))
				return snap_error_set(err, -ENOMEM, "verify: out of memory");
		} else if (ve->type == AE_IFLNK) {
			if (!(ve->link = strdup(archive_entry_symlink(e) ? archive_entry_symlink(e) : "")))
				return snap_error_set(err, -ENOMEM, "verify: out of memory");
		} else if (ve->type == AE_IFREG) {
			int r = read_data(vf, ve, err);
			if (r < 0)
				return r;
		}
	}
}

/* A later whiteout of the entry itself or of a directory above it. */
static bool hidden_after(struct verifier *vf, const struct ventry *ve)
{
	void *v;
	for (size_t len = strlen(ve->path);;) {
		if (snap_strmap_getn(&vf->hidden, ve->path, len, &v) && (uintptr_t)v - 1 > ve->seq)
			return true;
		const char *s = memrchr(ve->path, '/', len);
		if (!s)
			return false;
		len = (size_t)(s - ve->path);
	}
}

/* An fd of the directory holding `path` in the tree; *ret_name its last
 * component. */
static int parent_of(struct verifier *vf, const char *path, const char **ret_name)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) : 0;
	*ret_name = slash ? slash + 1 : path;
	if (vf->pdir && strlen(vf->pdir) == dl && strncmp(vf->pdir, path, dl) == 0)
		return vf->pfd;
	free(vf->pdir);
	vf->pdir = NULL;
	if (vf->pfd >= 0)
		close(vf->pfd);
	vf->pfd = -EBADF;
	_cleanup_free_ char *dir = strndup(path, dl);
	if (!dir)
		return -ENOMEM;
	int fd = snap_openat_in_root(vf->treefd, dir, O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	vf->pfd = fd;
	vf->pdir = TAKE_PTR(dir);
	return fd;
}

static int hash_file(int pfd, const char *name, char out[SNAP_DIGEST_MAX], uint64_t *ret_size)
{
	_cleanup_close_ int fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	return snap_sha256_fd(fd, out, ret_size);
}

static bool xattr_skippable(const struct ventry *ve, const struct snap_xattr *x)
{
	/* The kernel refuses user.* xattrs on symlinks; the applier skips
	 * them as containerd does, so their absence is not drift. */
	return ve->type == AE_IFLNK && strncmp(x->name, "user.", 5) == 0;
}

static bool xattrs_match(const struct ventry *ve, const struct snap_xattrs *disk)
{
	size_t i = 0, j = 0;
	for (;;) {
		while (i < ve->xattrs.n && j < disk->n &&
		       strcmp(ve->xattrs.v[i].name, disk->v[j].name) < 0 &&
		       xattr_skippable(ve, &ve->xattrs.v[i]))
			i++;
		if (i == ve->xattrs.n || j == disk->n)
			break;
		const struct snap_xattr *a = &ve->xattrs.v[i], *b = &disk->v[j];
		if (strcmp(a->name, b->name) != 0 || a->size != b->size ||
		    memcmp(a->value, b->value, a->size) != 0)
			return false;
		i++;
		j++;
	}
	while (i < ve->xattrs.n && xattr_skippable(ve, &ve->xattrs.v[i]))
		i++;
	return i == ve->xattrs.n && j == disk->n;
}

/* The entry whose attributes and content `ve` has: itself, or the target
 * of a hardlink (the last live entry of that path). */
static const struct ventry *resolve_link(struct verifier *vf, const struct ventry *ve)
{
	void *v;
	for (int depth = 0; ve && ve->hardlink && depth < 8; depth++)
		ve = snap_strmap_get(&vf->entries, ve->hardlink, &v) ? &vf->v[(uintptr_t)v - 1] : NULL;
	return ve && !ve->hardlink ? ve : NULL;
}

static int check_entry(struct verifier *vf, const struct ventry *ve, struct snap_error *err)
{
	const struct ventry *src = resolve_link(vf, ve);
	if (!src)
		return drift(vf, ve->path, "hardlink to '%s', which the layer does not hold",
			     ve->hardlink);
	const char *name;
	struct stat st;
	int pfd = ve->path[0] ? parent_of(vf, ve->path, &name) : vf->treefd;
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return drift(vf, ve->path, "missing on disk");
	if (pfd < 0)
		return snap_error_set(err, pfd, "verify: open directory of '%s': %s", ve->path,
				      strerror(-pfd));
	if (!ve->path[0])
		name = ".";
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return drift(vf, ve->path, "missing on disk");
		return snap_error_set(err, negative_errno(), "verify: stat '%s': %s", ve->path,
				      strerror(errno));
	}
	mode_t type = st.st_mode & S_IFMT;
	if (type != src->type)
		return drift(vf, ve->path, "%s on disk, %s in the layer", type_name(type),
			     type_name(src->type));
	/* What changed most: content first, then metadata. */
	if (type == S_IFREG) {
		if ((int64_t)st.st_size != src->size)
			return drift(vf, ve->path, "%" PRId64 " bytes on disk, %" PRId64 " in the layer",
				     (int64_t)st.st_size, src->size);
		char digest[SNAP_DIGEST_MAX];
		int r = hash_file(pfd, name, digest, NULL);
		if (r < 0)
			return snap_error_set(err, r, "verify: read '%s': %s", ve->path, strerror(-r));
		if (strcmp(digest, src->digest) != 0)
			return drift(vf, ve->path, "content differs from the layer");
	} else if (type == S_IFLNK) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(pfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return snap_error_set(err, negative_errno(), "verify: readlink '%s': %s", ve->path,
					      strerror(errno));
		target[n] = '\0';
		if (strcmp(target, src->link) != 0)
			return drift(vf, ve->path, "symlink to '%s' on disk, to '%s' in the layer", target,
				     src->link);
	} else if ((type == S_IFCHR || type == S_IFBLK) && st.st_rdev != src->rdev) {
		return drift(vf, ve->path, "device %u:%u on disk, %u:%u in the layer",
			     major(st.st_rdev), minor(st.st_rdev), major(src->rdev), minor(src->rdev));
	}
	if ((st.st_mode & 07777) != src->perm)
		return drift(vf, ve->path, "mode %04o on disk, %04o in the layer",
			     (unsigned)(st.st_mode & 07777), (unsigned)src->perm);
	if (st.st_uid != src->uid || st.st_gid != src->gid)
		return drift(vf, ve->path, "owner %u:%u on disk, %u:%u in the layer", st.st_uid,
			     st.st_gid, src->uid, src->gid);
	/* Directories: children the layer adds may be newer than the
	 * directory entry, but the applier sets directory times last. */
	if (st.st_mtim.tv_sec != src->mtime.tv_sec || st.st_mtim.tv_nsec != src->mtime.tv_nsec)
		return drift(vf, ve->path, "mtime %" PRId64 ".%09ld on disk, %" PRId64 ".%09ld in the layer",
			     (int64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (int64_t)src->mtime.tv_sec,
			     src->mtime.tv_nsec);
	_cleanup_(snap_xattrs_done) struct snap_xattrs xs = { 0 };
	int r = snap_xattrs_read_at(pfd, name, false, &xs);
	if (r < 0)
		return snap_error_set(err, r, "verify: read xattrs of '%s': %s", ve->path, strerror(-r));
	if (!xattrs_match(src, &xs))
		return drift(vf, ve->path, "xattrs differ from the layer");
	return 0;
}

static int check_hidden(struct verifier *vf, const char *path, uintptr_t seq1,
			struct snap_error *err)
{
	void *v;
	/* Re-created later in the same layer: the entry is checked instead. */
	if (snap_strmap_get(&vf->entries, path, &v) && vf->v[(uintptr_t)v - 1].seq + 1 > seq1)
		return 0;
	const char *name;
	int pfd = parent_of(vf, path, &name);
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return 0;
	if (pfd < 0)
		return snap_error_set(err, pfd, "verify: open directory of '%s': %s", path,
				      strerror(-pfd));
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return drift(vf, path, "on disk, the layer deletes it");
	return 0;
}

/* Does the layer account for a DELETE of `path` found by the differ? */
static bool delete_explained(struct verifier *vf, const char *path)
{
	void *v;
	for (size_t len = strlen(path);;) {
		if (snap_strmap_getn(&vf->hidden, path, len, NULL))
			return true;
		if (len < strlen(path) && snap_strmap_getn(&vf->opaque, path, len, NULL))
			return true;
		/* Replaced: the entry itself, or a non-directory above it. */
		if (snap_strmap_getn(&vf->entries, path, len, &v) &&
		    (len == strlen(path) || vf->v[(uintptr_t)v - 1].type != AE_IFDIR))
			return true;
		if (len == 0)
			return false;
		const char *s = memrchr(path, '/', len);
		len = s ? (size_t)(s - path) : 0;
	}
}

int snap_layer_verify_dirfd(int new_treefd, int blobfd, const struct snap_changes *changes,
			    struct snap_layer_verify *ret, struct snap_error *err)
{
	struct verifier vf = { .treefd = new_treefd, .pfd = -EBADF, .out = ret };
	int r = load_layer(&vf, blobfd, err);
	for (size_t i = 0; r == 0 && i < vf.n; i++) {
		const struct ventry *ve = &vf.v[i];
		if (ve->live && !hidden_after(&vf, ve))
			r = check_entry(&vf, ve, err);
	}
	for (size_t k = 0; r == 0 && k < vf.hidden.cap; k++) {
		const struct snap_strmap_slot *sl = &vf.hidden.slots[k];
		if (sl->key)
			r = check_hidden(&vf, sl->key, (uintptr_t)sl->value, err);
	}
	for (size_t i = 0; r == 0 && changes && i < changes->n; i++) {
		const struct snap_change *c = &changes->v[i];
		const char *p = c->path[0] == '/' ? c->path + 1 : c->path;
		if (c->kind == SNAP_CHANGE_DELETE) {
			if (!delete_explained(&vf, p))
				r = drift(&vf, p, "deleted on disk, the layer keeps it");
		} else if (!snap_strmap_get(&vf.entries, p, NULL) && !snap_strmap_get(&vf.implied, p, NULL)) {
			r = drift(&vf, p, c->kind == SNAP_CHANGE_ADD ? "added on disk, not in the layer"
								      : "changed on disk, the layer does not touch it");
		}
	}
	if (r == -ENOMEM && err && !err->code)
		r = snap_error_set(err, -ENOMEM, "verify: out of memory");
	if (r == 0)
		ret->blob_compared = true;
	verifier_done(&vf);
	return r;
}
