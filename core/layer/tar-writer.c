/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The change collector and the deterministic layer writer shared by the
 * generic differ and the drivers' fast diffs.  Changes arrive in any order
 * through a struct snap_change_sink; the collector sorts them into the
 * canonical form described in layer.h and writes a PAX tar.
 *
 * Digests: the tar is written by a libarchive writer (pax, no filter)
 * whose write callback hashes the uncompressed stream (the diff ID).  With
 * compression, that callback hands the bytes to a compressor on several
 * cores (compress.h: gzip in pigz's manner, zstd with its workers), whose
 * output callback hashes what reaches the fd (the blob digest) on this
 * thread.  Both digests come out of one pass without a pipe or
 * decompressing the result again.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/hash-thread.h"
#include "layer/compress.h"
#include "layer/layer-internal.h"
#include "layer/layer.h"
#include "util/macro.h"
#include "util/strset.h"

#define REC_OPAQUE 100 /* beside SNAP_CHANGE_*: an opaque marker for `path` */

struct rec {
	char *path;    /* normalised, relative, never "" */
	char *tarname; /* name in the tar, without a directory's trailing '/' */
	int kind;
	int src;            /* index into srcs; -1: the new tree */
	bool parent;        /* added as the parent of a change */
	bool under_opaque;  /* a DELETE replaced by its directory's opaque marker */
	bool dropped;       /* merged into another record, or below a deleted directory */
};

struct src_fd {
	int orig; /* the driver's fd number */
	int fd;   /* our dup */
};

struct snap_diff_collector {
	struct snap_change_sink sink;
	int new_treefd;
	int old_treefd;
	struct rec *v;
	size_t n, cap;
	struct src_fd *srcs;
	size_t n_srcs;
	struct snap_error err;
	bool finished;
};

static void rec_free(struct rec *r)
{
	free(r->path);
	free(r->tarname);
}

void snap_diff_collector_free(struct snap_diff_collector *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		rec_free(&c->v[i]);
	free(c->v);
	for (size_t i = 0; i < c->n_srcs; i++)
		close(c->srcs[i].fd);
	free(c->srcs);
	free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct snap_diff_collector, snap_diff_collector_free)

static int push_rec(struct snap_diff_collector *c, char *path, int kind, int src, bool parent)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 256;
		struct rec *nv = realloc(c->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = ncap;
	}
	c->v[c->n++] = (struct rec){ .path = path, .kind = kind, .src = src, .parent = parent };
	return 0;
}

static int src_index(struct snap_diff_collector *c, int fd)
{
	for (size_t i = 0; i < c->n_srcs; i++)
		if (c->srcs[i].orig == fd)
			return (int)i;
	/* The driver's fd is only valid during its diff call; the tar is
	 * written after sorting, so keep our own duplicate. */
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (d < 0)
		return negative_errno();
	struct src_fd *ns = realloc(c->srcs, (c->n_srcs + 1) * sizeof(*ns));
	if (!ns) {
		close(d);
		return -ENOMEM;
	}
	c->srcs = ns;
	c->srcs[c->n_srcs] = (struct src_fd){ .orig = fd, .fd = d };
	return (int)c->n_srcs++;
}

static int sink_change(struct snap_change_sink *sink, int kind, const char *path, int src_dirfd)
{
	struct snap_diff_collector *c = sink->opaque;
	if (kind != SNAP_CHANGE_ADD && kind != SNAP_CHANGE_MODIFY && kind != SNAP_CHANGE_DELETE)
		return snap_error_set(&c->err, -EINVAL, "diff: change of unknown kind %d for '%s'", kind,
				      path);
	char *norm = snap_path_normalize(path);
	if (!norm)
		return snap_error_set(&c->err, negative_errno(), "diff: change '%s': %s", path,
				      strerror(errno));
	if (!norm[0]) { /* the root itself is never written */
		free(norm);
		return 0;
	}
	int src = -1;
	if (kind != SNAP_CHANGE_DELETE && src_dirfd >= 0 && src_dirfd != c->new_treefd) {
		src = src_index(c, src_dirfd);
		if (src < 0) {
			free(norm);
			return snap_error_set(&c->err, src, "diff: change '%s': dup source fd: %s", path,
					      strerror(-src));
		}
	}
	int r = push_rec(c, norm, kind, src, false);
	if (r < 0) {
		free(norm);
		return snap_error_set(&c->err, r, "diff: change '%s': %s", path, strerror(-r));
	}
	c->finished = false;
	return 0;
}

int snap_diff_collector_new(int new_treefd, int old_treefd, struct snap_diff_collector **ret)
{
	struct snap_diff_collector *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sink.opaque = c;
	c->sink.change = sink_change;
	c->new_treefd = new_treefd;
	c->old_treefd = old_treefd;
	*ret = c;
	return 0;
}

struct snap_change_sink *snap_diff_collector_sink(struct snap_diff_collector *c)
{
	return &c->sink;
}

int snap_diff_collector_error(struct snap_diff_collector *c, struct snap_error *err)
{
	if (c->err.code == 0)
		return 0;
	return snap_error_set(err, c->err.code, "%s", c->err.message);
}

static int rec_path_cmp(const void *a, const void *b)
{
	return snap_path_cmp(((const struct rec *)a)->path, ((const struct rec *)b)->path);
}

static int rec_tarname_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	return snap_path_cmp(x->tarname ? x->tarname : "", y->tarname ? y->tarname : "");
}

/* Entries of `dir` in the old tree, or -errno. */
static int count_old_entries(int old_treefd, const char *dir)
{
	int fd = snap_openat_in_root(old_treefd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd < 0)
		return fd;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return negative_errno();
	}
	int n = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!dir[0] && strncmp(de->d_name, SNAP_APPLY_BACKUP_PREFIX,
				       strlen(SNAP_APPLY_BACKUP_PREFIX)) == 0)
			continue;
		n++;
	}
	return errno ? negative_errno() : n;
}

/* ---- finishing: the canonical record list ---- */

/* Records added by an earlier finish (parents, opaque markers) are
 * recomputed; the others lose what the earlier finish decided. */
static void finish_reset(struct snap_diff_collector *c)
{
	size_t w = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].parent || c->v[i].kind == REC_OPAQUE) {
			rec_free(&c->v[i]);
			continue;
		}
		c->v[i].under_opaque = c->v[i].dropped = false;
		free(c->v[i].tarname);
		c->v[i].tarname = NULL;
		c->v[w++] = c->v[i];
	}
	c->n = w;
}

/* Sort by path and merge duplicates: a path both deleted and added (a
 * lower entry replaced) is a modification; the last source wins. */
static void finish_merge_duplicates(struct snap_diff_collector *c)
{
	if (c->n > 0) /* qsort(NULL, 0) is undefined */
		qsort(c->v, c->n, sizeof(*c->v), rec_path_cmp);
	for (size_t i = 1; i < c->n; i++) {
		struct rec *a = &c->v[i - 1], *b = &c->v[i];
		if (strcmp(a->path, b->path) != 0)
			continue;
		int kind;
		if (a->kind == SNAP_CHANGE_DELETE && b->kind == SNAP_CHANGE_DELETE)
			kind = SNAP_CHANGE_DELETE;
		else if (a->kind == SNAP_CHANGE_ADD && b->kind == SNAP_CHANGE_ADD)
			kind = SNAP_CHANGE_ADD;
		else
			kind = SNAP_CHANGE_MODIFY;
		if (b->kind == SNAP_CHANGE_DELETE)
			b->src = a->src;
		b->kind = kind;
		a->dropped = true;
	}
}

/* path -> index + 1 of every record left. */
static int finish_index(struct snap_diff_collector *c, struct snap_strmap *index)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].dropped)
			continue;
		if (snap_strmap_put(index, c->v[i].path, (void *)(uintptr_t)(i + 1)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A delete below a deleted directory is implied by it. */
static void finish_drop_implied_deletes(struct snap_diff_collector *c, const struct snap_strmap *index)
{
	for (size_t i = 0; i < c->n; i++) {
		struct rec *r = &c->v[i];
		if (r->dropped || r->kind != SNAP_CHANGE_DELETE)
			continue;
		for (const char *s = strchr(r->path, '/'); s; s = strchr(s + 1, '/')) {
			void *v;
			if (snap_strmap_getn(index, r->path, (size_t)(s - r->path), &v) &&
			    c->v[(uintptr_t)v - 1].kind == SNAP_CHANGE_DELETE) {
				r->dropped = true;
				break;
			}
		}
	}
}

/* Every parent directory of a change, as it is in the new tree. */
static int finish_add_parents(struct snap_diff_collector *c, struct snap_strmap *index)
{
	size_t n0 = c->n;
	for (size_t i = 0; i < n0; i++) {
		if (c->v[i].dropped)
			continue;
		for (const char *s = strchr(c->v[i].path, '/'); s; s = strchr(s + 1, '/')) {
			size_t len = (size_t)(s - c->v[i].path);
			if (snap_strmap_getn(index, c->v[i].path, len, NULL))
				continue;
			char *p = strndup(c->v[i].path, len);
			if (!p || push_rec(c, p, SNAP_CHANGE_MODIFY, -1, true) < 0) {
				free(p);
				return -ENOMEM;
			}
			if (snap_strmap_putn(index, p, len, (void *)(uintptr_t)c->n) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Directories with deletes -> their delete count (`counts`, indexed by the
 * map's value - 1). */
static int finish_count_deletes(struct snap_diff_collector *c, struct snap_strmap *deletes,
				size_t *counts)
{
	size_t n_dirs = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct rec *r = &c->v[i];
		if (r->dropped || r->kind != SNAP_CHANGE_DELETE)
			continue;
		size_t dl = snap_path_dir_len(r->path);
		void *v = NULL;
		if (!snap_strmap_getn(deletes, r->path, dl, &v)) {
			v = (void *)(uintptr_t)(++n_dirs);
			if (snap_strmap_putn(deletes, r->path, dl, v) < 0)
				return -ENOMEM;
		}
		counts[(uintptr_t)v - 1]++;
	}
	return 0;
}

/* Opaque directories: every entry the directory had in the old tree is
 * gone.  Each gets an opaque marker and its deletes are marked as covered
 * by it. */
static int finish_opaque(struct snap_diff_collector *c, struct snap_error *err)
{
	if (c->old_treefd < 0)
		return 0;
	_cleanup_(snap_strmap_done) struct snap_strmap deletes = { 0 };
	_cleanup_free_ size_t *counts = calloc(c->n ? c->n : 1, sizeof(size_t));
	if (!counts || finish_count_deletes(c, &deletes, counts) < 0)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	_cleanup_(snap_strmap_done) struct snap_strmap opaque = { 0 };
	for (size_t k = 0; k < deletes.cap; k++) {
		struct snap_strmap_slot *sl = &deletes.slots[k];
		if (!sl->key)
			continue;
		int n = count_old_entries(c->old_treefd, sl->key);
		if (n < 0)
			return snap_error_set(err, n, "diff: read parent directory '%s': %s",
					      sl->key[0] ? sl->key : ".", strerror(-n));
		if ((size_t)n != counts[(uintptr_t)sl->value - 1])
			continue;
		if (snap_strmap_put(&opaque, sl->key, NULL) < 0)
			return snap_error_set(err, -ENOMEM, "diff: out of memory");
		char *p = strdup(sl->key);
		if (!p || push_rec(c, p, REC_OPAQUE, -1, false) < 0) {
			free(p);
			return snap_error_set(err, -ENOMEM, "diff: out of memory");
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		struct rec *r = &c->v[i];
		if (!r->dropped && r->kind == SNAP_CHANGE_DELETE &&
		    snap_strmap_getn(&opaque, r->path, snap_path_dir_len(r->path), NULL))
			r->under_opaque = true;
	}
	return 0;
}

/* Every record's name in the tar: whiteouts for deletes, the opaque
 * marker for opaque directories. */
static int finish_tarnames(struct snap_diff_collector *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct rec *r = &c->v[i];
		if (r->dropped)
			continue;
		size_t dl = snap_path_dir_len(r->path);
		int q = 0;
		if (r->kind == REC_OPAQUE)
			q = r->path[0] ? asprintf(&r->tarname, "%s/.wh..wh..opq", r->path)
				       : asprintf(&r->tarname, ".wh..wh..opq");
		else if (r->kind == SNAP_CHANGE_DELETE)
			q = dl ? asprintf(&r->tarname, "%.*s/.wh.%s", (int)dl, r->path, r->path + dl + 1)
			       : asprintf(&r->tarname, ".wh.%s", r->path);
		else
			r->tarname = strdup(r->path);
		if (q < 0 || !r->tarname) {
			r->tarname = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

/* Sort, merge duplicates, drop deletes below deleted directories, add
 * parent directories, decide opaque directories, name every record. */
static int collector_finish(struct snap_diff_collector *c, struct snap_error *err)
{
	if (c->err.code)
		return snap_diff_collector_error(c, err);
	if (c->finished)
		return 0;
	finish_reset(c);
	finish_merge_duplicates(c);
	_cleanup_(snap_strmap_done) struct snap_strmap index = { 0 };
	if (finish_index(c, &index) < 0)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	finish_drop_implied_deletes(c, &index);
	if (finish_add_parents(c, &index) < 0)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	int r = finish_opaque(c, err);
	if (r < 0)
		return r;
	if (finish_tarnames(c) < 0)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	if (c->n > 0)
		qsort(c->v, c->n, sizeof(*c->v), rec_tarname_cmp);
	c->finished = true;
	return 0;
}

/* ---- the tar writer ---- */

/* The diff ID's sha256 on a helper thread (util/hash-thread.h), a block
 * behind the tar: the tar's bytes are copied into one of two
 * DIFF_HASH_BLOCK buffers and a full one is posted while the other fills,
 * so the walking thread (reading files, the tar writer, feeding the
 * compressor) no longer hashes.  A layer under one block is hashed
 * inline, without a thread. */
#define DIFF_HASH_BLOCK ((size_t)1 << 20)

struct diff_hash {
	struct snap_sha256 *h;
	struct hash_thread *thread; /* from the first full block on */
	unsigned char *buf[2];
	size_t len;  /* bytes in buf[cur] */
	int cur;
	bool posted; /* buf[cur ^ 1] is with the thread */
	bool inline_; /* no thread could start: hash as the bytes come */
};

static int diff_hash_post(struct diff_hash *d)
{
	if (!d->thread && hash_thread_new(d->h, &d->thread) < 0) {
		d->inline_ = true;
		int r = snap_sha256_update(d->h, d->buf[d->cur], d->len);
		d->len = 0;
		return r;
	}
	if (d->posted) {
		int r = hash_thread_wait(d->thread);
		if (r < 0)
			return r;
	}
	hash_thread_post(d->thread, d->buf[d->cur], d->len);
	d->posted = true;
	d->cur ^= 1;
	d->len = 0;
	return 0;
}

static int diff_hash_update(struct diff_hash *d, const unsigned char *p, size_t n)
{
	if (d->inline_)
		return snap_sha256_update(d->h, p, n);
	while (n > 0) {
		if (!d->buf[d->cur] && !(d->buf[d->cur] = malloc(DIFF_HASH_BLOCK)))
			return -ENOMEM;
		size_t k = n < DIFF_HASH_BLOCK - d->len ? n : DIFF_HASH_BLOCK - d->len;
		memcpy(d->buf[d->cur] + d->len, p, k);
		d->len += k;
		p += k;
		n -= k;
		if (d->len == DIFF_HASH_BLOCK) {
			int r = diff_hash_post(d);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Every byte into d->h: the block with the thread, then what is left. */
static int diff_hash_finish(struct diff_hash *d)
{
	int r = 0;
	if (d->posted) {
		r = hash_thread_wait(d->thread);
		d->posted = false;
	}
	if (r == 0 && d->len)
		r = snap_sha256_update(d->h, d->buf[d->cur], d->len);
	d->len = 0;
	return r;
}

static void diff_hash_done(struct diff_hash *d)
{
	if (d->posted)
		(void)hash_thread_wait(d->thread);
	hash_thread_free(d->thread);
	free(d->buf[0]);
	free(d->buf[1]);
	*d = (struct diff_hash){ 0 };
}

struct tar_out {
	int fd;
	struct compressor *comp; /* NULL: the tar is the blob */
	struct snap_sha256 diff, blob;
	struct diff_hash dh; /* into diff */
	int io_error;
};

static int out_write_fd(struct tar_out *o, const void *buf, size_t len)
{
	snap_sha256_update(&o->blob, buf, len);
	int r = snap_write_all(o->fd, buf, len);
	if (r < 0)
		o->io_error = r;
	return r;
}

/* The compressor's output, in order, on this thread. */
static int compressed_out(void *ctx, const void *buf, size_t len)
{
	return out_write_fd(ctx, buf, len);
}

static la_ssize_t outer_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct tar_out *o = ctx;
	int r = diff_hash_update(&o->dh, buf, len);
	if (r < 0) {
		archive_set_error(a, -r, "hash layer: %s", strerror(-r));
		return -1;
	}
	r = o->comp ? compressor_write(o->comp, buf, len) : out_write_fd(o, buf, len);
	if (r < 0) {
		if (o->io_error)
			archive_set_error(a, -o->io_error, "write layer: %s", strerror(-o->io_error));
		else
			archive_set_error(a, -r, "%s", compressor_error(o->comp));
		return -1;
	}
	return (la_ssize_t)len;
}

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

static void entry_freep(struct archive_entry **e)
{
	if (*e)
		archive_entry_free(*e);
}

static int archive_err(struct archive *a, struct snap_error *err, const char *what)
{
	int e = archive_errno(a);
	const char *s = archive_error_string(a);
	return snap_error_set(err, e > 0 ? -e : -EIO, "%s: %s", what, s ? s : "libarchive error");
}

/* Open regular file `name` for its data, and only if it is still the inode
 * the entry was planned from (`planned`: the fstatat before the header).
 * The tree may be a running container's (commit --pause=false): between
 * the stat and the open it can swap the file for a symlink, a FIFO or a
 * device node.  O_NOFOLLOW refuses the symlink, O_NONBLOCK keeps a FIFO's
 * open from waiting for a writer, and the fstat check refuses anything but
 * the planned inode, so a device or a FIFO is never read. */
static int open_planned(int pfd, const char *name, const char *path, const struct stat *planned,
			struct snap_error *err)
{
	_cleanup_close_ int fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "diff: open '%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return snap_error_set(err, negative_errno(), "diff: stat '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_dev != planned->st_dev || st.st_ino != planned->st_ino ||
	    st.st_size != planned->st_size)
		return snap_error_set(err, -ESTALE,
				      "diff: '%s' changed while the layer was written (was a regular file of %" PRId64
				      " bytes, inode %" PRIu64 "; now %s, inode %" PRIu64 "): pause the container",
				      path, (int64_t)planned->st_size, (uint64_t)planned->st_ino,
				      S_ISREG(st.st_mode) ? "another regular file" : "not a regular file",
				      (uint64_t)st.st_ino);
	return TAKE_FD(fd);
}

static int copy_data(struct archive *a, int fd, const char *path, int64_t size, struct snap_error *err)
{
	size_t bufsize = 1 << 17;
	_cleanup_free_ char *buf = malloc(bufsize);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	int64_t left = size;
	while (left > 0) {
		ssize_t n = read(fd, buf, left < (int64_t)bufsize ? (size_t)left : bufsize);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return snap_error_set(err, negative_errno(), "diff: read '%s': %s", path,
					      strerror(errno));
		}
		if (n == 0)
			return snap_error_set(err, -EIO, "diff: '%s' shrank while being read", path);
		if (archive_write_data(a, buf, (size_t)n) != n)
			return archive_err(a, err, "diff: write layer");
		left -= n;
	}
	return 0;
}

static int write_whiteout(struct archive *a, const char *name, struct snap_error *err)
{
	_cleanup_(entry_freep) struct archive_entry *e = archive_entry_new();
	if (!e)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0);
	archive_entry_set_size(e, 0);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		return archive_err(a, err, "diff: write layer");
	return 0;
}

struct parent_cache {
	char *dir;
	int src;
	int fd;
};

static void parent_cache_done(struct parent_cache *pc)
{
	free(pc->dir);
	pc->dir = NULL;
	if (pc->fd >= 0)
		close(pc->fd);
	pc->fd = -EBADF;
}

/* The regular files with more than one link met so far: where the first
 * went, and how many of their links the layer holds.  A file whose links
 * are not all in the layer makes the layer inexact (layer.h). */
struct link_rec {
	const char *first; /* the rec's path, alive as long as the collector */
	uint64_t nlink, seen;
};

struct link_table {
	struct snap_strmap map; /* "src:dev:ino" -> struct link_rec * */
	struct link_rec **v;
	size_t n;
};

static void link_table_done(struct link_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	snap_strmap_done(&t->map);
	*t = (struct link_table){ 0 };
}

/* The first path of this file in the layer, or NULL (it is the first). */
static int link_table_note(struct link_table *t, int src, const struct stat *st, const char *path,
			   const char **ret_first)
{
	char key[96];
	snprintf(key, sizeof(key), "%d:%" PRIu64 ":%" PRIu64, src, (uint64_t)st->st_dev, (uint64_t)st->st_ino);
	void *v = NULL;
	if (snap_strmap_get(&t->map, key, &v)) {
		struct link_rec *l = v;
		l->seen++;
		*ret_first = l->first;
		return 0;
	}
	struct link_rec *l = malloc(sizeof(*l));
	struct link_rec **nv = l ? realloc(t->v, (t->n + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(l);
		return -ENOMEM;
	}
	t->v = nv;
	*l = (struct link_rec){ .first = path, .nlink = st->st_nlink, .seen = 1 };
	t->v[t->n++] = l;
	if (snap_strmap_put(&t->map, key, l) < 0)
		return -ENOMEM;
	*ret_first = NULL;
	return 0;
}

static bool link_table_partial(const struct link_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i]->seen < t->v[i]->nlink)
			return true;
	return false;
}

static int write_entry(struct snap_diff_collector *c, struct archive *a, struct rec *r,
		       struct link_table *links, struct parent_cache *pc, unsigned *inexact,
		       struct snap_error *err)
{
	int treefd = r->src >= 0 ? c->srcs[r->src].fd : c->new_treefd;
	size_t dl = snap_path_dir_len(r->path);
	const char *name = dl ? r->path + dl + 1 : r->path;
	if (!pc->dir || pc->src != r->src || strlen(pc->dir) != dl || strncmp(pc->dir, r->path, dl) != 0) {
		parent_cache_done(pc);
		pc->dir = strndup(r->path, dl);
		if (!pc->dir)
			return snap_error_set(err, -ENOMEM, "diff: out of memory");
		pc->src = r->src;
		pc->fd = snap_openat_in_root(treefd, pc->dir, O_PATH | O_DIRECTORY, 0);
		if (pc->fd < 0) {
			int q = pc->fd;
			parent_cache_done(pc);
			return snap_error_set(err, q, "diff: open directory of '%s': %s", r->path,
					      strerror(-q));
		}
	}
	int pfd = pc->fd;
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return snap_error_set(err, negative_errno(), "diff: stat '%s': %s", r->path,
				      strerror(errno));
	_cleanup_(entry_freep) struct archive_entry *e = archive_entry_new();
	if (!e)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	if (S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *dname = NULL;
		if (asprintf(&dname, "%s/", r->path) < 0)
			return snap_error_set(err, -ENOMEM, "diff: out of memory");
		archive_entry_set_pathname(e, dname);
	} else {
		archive_entry_set_pathname(e, r->path);
	}
	archive_entry_set_mode(e, st.st_mode);
	archive_entry_set_uid(e, st.st_uid);
	archive_entry_set_gid(e, st.st_gid);
	archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	archive_entry_set_size(e, 0);

	bool data = false;
	if (S_ISREG(st.st_mode)) {
		bool linked = false;
		if (st.st_nlink > 1) {
			const char *first = NULL;
			if (link_table_note(links, r->src, &st, r->path, &first) < 0)
				return snap_error_set(err, -ENOMEM, "diff: out of memory");
			if (first) {
				archive_entry_set_hardlink(e, first);
				linked = true;
			}
		}
		if (!linked) {
			archive_entry_set_size(e, st.st_size);
			data = st.st_size > 0;
		}
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(pfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return snap_error_set(err, negative_errno(), "diff: readlink '%s': %s", r->path,
					      strerror(errno));
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		archive_entry_set_rdev(e, st.st_rdev);
	} else if (!S_ISDIR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		return snap_error_set(err, -EOPNOTSUPP, "diff: '%s': sockets cannot be stored in a layer",
				      r->path);
	}

	_cleanup_(snap_xattrs_done) struct snap_xattrs xs = { 0 };
	int q = snap_xattrs_read_at(pfd, name, true, &xs);
	if (q < 0)
		return snap_error_set(err, q, "diff: read xattrs of '%s': %s", r->path, strerror(-q));
	for (size_t i = 0; i < xs.n; i++) {
		if (snap_xattr_is_private(xs.v[i].name))
			*inexact |= SNAP_DIFF_INEXACT_XATTRS;
		else
			archive_entry_xattr_add_entry(e, xs.v[i].name, xs.v[i].value, xs.v[i].size);
	}

	/* opened before the header goes out, so that a file swapped under
	 * us fails the layer before any of its entry is written */
	_cleanup_close_ int fd = -EBADF;
	if (data && (fd = open_planned(pfd, name, r->path, &st, err)) < 0)
		return fd;
	if (archive_write_header(a, e) != ARCHIVE_OK)
		return archive_err(a, err, "diff: write layer");
	if (data)
		return copy_data(a, fd, r->path, st.st_size, err);
	return 0;
}

int snap_diff_collector_write(struct snap_diff_collector *c, int fd, int compression,
			      struct snap_layer_digests *ret, struct snap_error *err)
{
	int r = collector_finish(c, err);
	if (r < 0)
		return r;
	struct tar_out o = { .fd = fd };
	o.dh.h = &o.diff;
	if (snap_sha256_init(&o.diff) < 0 || snap_sha256_init(&o.blob) < 0) {
		snap_sha256_done(&o.diff);
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	}
	_cleanup_(archive_freep) struct archive *outer = archive_write_new();
	if (!outer)
		r = snap_error_set(err, -ENOMEM, "diff: out of memory");
	if (r == 0 && compression != SNAP_COMPRESS_NONE) {
		int q = compression == SNAP_COMPRESS_GZIP ? compressor_gzip_new(0, 0, compressed_out, &o, &o.comp)
			: compression == SNAP_COMPRESS_ZSTD ? compressor_zstd_new(0, 0, compressed_out, &o, &o.comp)
							    : -EINVAL;
		if (q < 0)
			r = snap_error_set(err, q, "diff: set up compression: %s", strerror(-q));
	}
	if (r == 0 && (archive_write_set_format_pax(outer) != ARCHIVE_OK ||
		       archive_write_add_filter_none(outer) != ARCHIVE_OK ||
		       /* xattrs as SCHILY.xattr.* only, as docker, containerd and
			* GNU tar write and read them. */
		       archive_write_set_format_option(outer, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK))
		r = archive_err(outer, err, "diff: set up tar writer");
	if (r == 0 && archive_write_open(outer, &o, NULL, outer_write, NULL) != ARCHIVE_OK)
		r = archive_err(outer, err, "diff: open tar writer");

	uint64_t entries = 0;
	unsigned inexact = 0;
	_cleanup_(link_table_done) struct link_table links = { 0 };
	struct parent_cache pc = { .fd = -EBADF, .src = -2 };
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		struct rec *rc = &c->v[i];
		if (rc->dropped || rc->under_opaque)
			continue;
		if (rc->kind == SNAP_CHANGE_DELETE || rc->kind == REC_OPAQUE)
			r = write_whiteout(outer, rc->tarname, err);
		else
			r = write_entry(c, outer, rc, &links, &pc, &inexact, err);
		entries++;
	}
	parent_cache_done(&pc);
	if (link_table_partial(&links))
		inexact |= SNAP_DIFF_INEXACT_LINKS;
	if (r == 0 && archive_write_close(outer) != ARCHIVE_OK)
		r = archive_err(outer, err, "diff: finish tar");
	if (r == 0 && o.comp && compressor_finish(o.comp) < 0)
		r = snap_error_set(err, o.io_error ? o.io_error : -EIO, "diff: finish compression: %s",
				   o.io_error ? strerror(-o.io_error) : compressor_error(o.comp));
	/* The tar writer goes first: freeing one still open (an entry failed)
	 * flushes what it holds into outer_write, so into the compressor. */
	archive_write_free(outer);
	outer = NULL;
	compressor_free(o.comp);
	if (r == 0 && (r = diff_hash_finish(&o.dh)) < 0)
		snap_error_set(err, r, "diff: hash the layer: %s", strerror(-r));
	diff_hash_done(&o.dh);
	if (r < 0) {
		snap_sha256_done(&o.diff);
		snap_sha256_done(&o.blob);
		return r;
	}
	struct snap_layer_digests d = { .entries = entries, .inexact = inexact };
	d.diff_size = o.diff.size;
	d.blob_size = o.blob.size;
	if (snap_sha256_final(&o.diff, d.diff_id) < 0 || snap_sha256_final(&o.blob, d.blob_digest) < 0) {
		snap_sha256_done(&o.blob);
		return snap_error_set(err, -EIO, "diff: sha256 failed");
	}
	if (ret)
		*ret = d;
	return 0;
}

void snap_changes_done(struct snap_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static int change_cmp(const void *a, const void *b)
{
	return snap_path_cmp(((const struct snap_change *)a)->path, ((const struct snap_change *)b)->path);
}

int snap_diff_collector_changes(struct snap_diff_collector *c, struct snap_changes *ret,
				struct snap_error *err)
{
	int r = collector_finish(c, err);
	if (r < 0)
		return r;
	struct snap_changes out = { .v = calloc(c->n ? c->n : 1, sizeof(struct snap_change)) };
	if (!out.v)
		return snap_error_set(err, -ENOMEM, "diff: out of memory");
	for (size_t i = 0; i < c->n; i++) {
		struct rec *rc = &c->v[i];
		if (rc->dropped || rc->kind == REC_OPAQUE)
			continue;
		struct snap_change *ch = &out.v[out.n];
		ch->kind = rc->kind;
		if (asprintf(&ch->path, "/%s", rc->path) < 0) {
			snap_changes_done(&out);
			return snap_error_set(err, -ENOMEM, "diff: out of memory");
		}
		out.n++;
	}
	if (out.n > 0)
		qsort(out.v, out.n, sizeof(*out.v), change_cmp);
	*ret = out;
	return 0;
}
