/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The undo journal of a layer apply.  Before an existing entry is replaced
 * or removed it is renamed into an undo directory in the tree root (same
 * filesystem, so rename works everywhere, even inside a btrfs subvolume);
 * every created path and every changed directory's old metadata is logged.
 * On failure the journal is played backwards, which restores the tree
 * exactly (each undo step sees the tree as it was right after its step).
 *
 * With a journal fd (an apply run by the core, layer.c) every step is also
 * written to a file outside the tree *before* it is taken, one line per
 * record, so that `check --repair` can play back what a SIGKILL interrupted
 * (apply-replay.c):
 *
 *   C x<path>                  path holds nothing now; remove whatever is there
 *   B <n> x<path>              path is about to move to <undo dir>/<n>
 *   M x<path> uid gid mode atime(s ns) mtime(s ns) n (x<name> x<value>)*
 *                              a directory's metadata before it changes
 *   COMMIT 0|1 mode atime(s ns) mtime(s ns)
 *                              done (the root's final mode and times, when
 *                              the layer set them): roll forward
 *
 * (x<...> is hex, so names may hold any byte.)  A record is in the page
 * cache once write() returns, which is all a SIGKILL needs; power loss is
 * another matter (docs/core.md).  "C" is written only where nothing is: a
 * path this apply creates is either checked absent first
 * (apply_prepare_create) or was just moved aside, so replaying "C" never
 * removes anything that was there before the apply.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/apply-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "util/strset.h"

/* ---- the on-disk journal ---- */

static void put_hex(FILE *f, const void *data, size_t len)
{
	const unsigned char *p = data;
	fputc('x', f);
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

/* Write one record (built by fn into a memory stream) with one write():
 * a SIGKILL leaves it whole or not at all as far as replay cares (a last
 * line without its newline is ignored). */
static int journal_put(struct apply *a, const char *kind, void (*fn)(FILE *, const void *), const void *arg)
{
	if (a->journalfd < 0)
		return 0;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return apply_fail(a, -ENOMEM, "out of memory");
	fputs(kind, f);
	fn(f, arg);
	fputc('\n', f);
	if (fclose(f) != 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	int r = snap_write_all(a->journalfd, buf, len);
	if (r < 0)
		return apply_fail(a, r, "write the undo journal: %s", strerror(-r));
	return 0;
}

static void rec_path(FILE *f, const void *arg)
{
	fputc(' ', f);
	put_hex(f, arg, strlen(arg));
}

struct rec_backup {
	unsigned n;
	const char *path;
};

static void rec_backup(FILE *f, const void *arg)
{
	const struct rec_backup *b = arg;
	fprintf(f, " %u ", b->n);
	put_hex(f, b->path, strlen(b->path));
}

static void rec_meta(FILE *f, const void *arg)
{
	const struct undo *u = arg;
	fputc(' ', f);
	put_hex(f, u->path, strlen(u->path));
	fprintf(f, " %u %u %o %" PRId64 " %ld %" PRId64 " %ld %zu", (unsigned)u->st.st_uid,
		(unsigned)u->st.st_gid, (unsigned)(u->st.st_mode & 07777), (int64_t)u->st.st_atim.tv_sec,
		u->st.st_atim.tv_nsec, (int64_t)u->st.st_mtim.tv_sec, u->st.st_mtim.tv_nsec, u->xattrs.n);
	for (size_t i = 0; i < u->xattrs.n; i++) {
		fputc(' ', f);
		put_hex(f, u->xattrs.v[i].name, strlen(u->xattrs.v[i].name));
		fputc(' ', f);
		put_hex(f, u->xattrs.v[i].value, u->xattrs.v[i].size);
	}
}

static void rec_commit(FILE *f, const void *arg)
{
	const struct deferred_dir *d = arg;
	if (!d) {
		fputs(" 0 0 0 0 0 0", f);
		return;
	}
	fprintf(f, " 1 %o %" PRId64 " %ld %" PRId64 " %ld", (unsigned)d->mode, (int64_t)d->times[0].tv_sec,
		d->times[0].tv_nsec, (int64_t)d->times[1].tv_sec, d->times[1].tv_nsec);
}

/*
 * The records name entries by their resolved path (no symlink on the way):
 * played back, a record must reach the entry its step touched, also when a
 * symlink the name went through was replaced or removed since (the layer
 * may remove its own entries without a record).  pfd is the directory
 * `path`'s parent resolved to (the cached parent keeps its resolved path).
 */
static int resolved_path(struct apply *a, int pfd, const char *path, char **ret)
{
	size_t dl = snap_path_dir_len(path);
	_cleanup_free_ char *rdir = NULL;
	const char *dir = NULL;
	if (dl == 0) {
		dir = "";
	} else if (pfd == a->cache_fd && !a->cache_stale && a->cache_resolved) {
		dir = a->cache_resolved;
	} else {
		_cleanup_free_ char *d = strndup(path, dl);
		if (!d)
			return apply_fail(a, -ENOMEM, "out of memory");
		int r = apply_resolved_dir(a, d, &rdir);
		if (r < 0)
			return r;
		if (pfd == a->cache_fd && !a->cache_stale && !(a->cache_resolved = strdup(rdir)))
			return apply_fail(a, -ENOMEM, "out of memory");
		dir = rdir;
	}
	const char *base = snap_path_base(path);
	if ((dir[0] ? asprintf(ret, "%s/%s", dir, base) : asprintf(ret, "%s", base)) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	return 0;
}

int apply_journal_absent(struct apply *a, int pfd, const char *path)
{
	if (a->journalfd < 0)
		return 0;
	_cleanup_free_ char *rpath = NULL;
	int r = resolved_path(a, pfd, path, &rpath);
	return r < 0 ? r : journal_put(a, "C", rec_path, rpath);
}

int apply_prepare_create(struct apply *a, int pfd, const char *name, const char *path)
{
	if (a->journalfd < 0)
		return 0;
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0; /* taken: the create fails, moving it aside logs "C" */
	if (errno != ENOENT)
		return apply_fail(a, negative_errno(), "stat: %s", strerror(errno));
	return apply_journal_absent(a, pfd, path);
}

int apply_journal_commit(struct apply *a, const struct deferred_dir *root)
{
	return journal_put(a, "COMMIT", rec_commit, root);
}

/* ---- the in-memory journal ---- */

int apply_undo_push(struct apply *a, int kind, const char *path, struct undo **ret)
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

/* An object's identity as a map key. */
#define ID_KEY_MAX 48
static const char *id_key(char buf[static ID_KEY_MAX], dev_t dev, ino_t ino)
{
	snprintf(buf, ID_KEY_MAX, "%jx:%jx", (uintmax_t)dev, (uintmax_t)ino);
	return buf;
}

static bool meta_needed(const struct apply *a, dev_t dev, ino_t ino)
{
	char k[ID_KEY_MAX];
	id_key(k, dev, ino);
	return !snap_strset_contains(&a->created_ids, k) && !snap_strset_contains(&a->saved_meta, k);
}

/* The resolved path of the directory holding `path` (apply_resolved_dir of
 * its dirname). */
static int resolved_parent(struct apply *a, const char *path, char **ret)
{
	_cleanup_free_ char *dir = strndup(path, snap_path_dir_len(path));
	if (!dir)
		return apply_fail(a, -ENOMEM, "out of memory");
	return apply_resolved_dir(a, dir, ret);
}

/*
 * Save a pre-existing directory's metadata once, before anything in it or
 * of it changes.  Keyed by the directory itself: two names may lead to one
 * directory, one name to different directories over the apply (a symlink
 * the layer made, then replaced), and a name the layer created may be a
 * symlink to a directory it did not create.  The record holds the
 * directory's resolved path, so that playing it back reaches the directory
 * and not a symlink on the way.
 */
int apply_save_meta(struct apply *a, int pfd, const char *name, const char *path)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return apply_fail(a, negative_errno(), "stat '%s': %s", path[0] ? path : ".", strerror(errno));
	if (!meta_needed(a, st.st_dev, st.st_ino))
		return 0;
	_cleanup_free_ char *resolved = NULL;
	if (path[0]) {
		_cleanup_free_ char *rdir = NULL;
		int r = resolved_parent(a, path, &rdir);
		if (r < 0)
			return r;
		if ((rdir[0] ? asprintf(&resolved, "%s/%s", rdir, name) : asprintf(&resolved, "%s", name)) < 0)
			return apply_fail(a, -ENOMEM, "out of memory");
	} else if (!(resolved = strdup(""))) {
		return apply_fail(a, -ENOMEM, "out of memory");
	}
	char k[ID_KEY_MAX];
	if (snap_strset_add(&a->saved_meta, id_key(k, st.st_dev, st.st_ino)) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	struct undo *u;
	if (apply_undo_push(a, UNDO_META, resolved, &u) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	u->st = st;
	int r = snap_xattrs_read_at(pfd, name, true, &u->xattrs);
	if (r < 0)
		return apply_fail(a, r, "read xattrs of '%s': %s", path[0] ? path : ".", strerror(-r));
	return journal_put(a, "M", rec_meta, u);
}

int apply_save_parent_meta(struct apply *a, int pfd, const char *path)
{
	struct stat st;
	if (pfd == a->cache_fd) {
		st.st_dev = a->cache_dev;
		st.st_ino = a->cache_ino;
	} else if (fstat(pfd, &st) < 0) {
		return apply_fail(a, negative_errno(), "stat the parent of '%s': %s", path, strerror(errno));
	}
	if (!meta_needed(a, st.st_dev, st.st_ino))
		return 0;
	/* The first change in this directory: by its resolved path, its
	 * own parent and name. */
	_cleanup_free_ char *rdir = NULL;
	int r = resolved_parent(a, path, &rdir);
	if (r < 0)
		return r;
	const char *name;
	_cleanup_close_ int gfd = apply_open_parent(a->treefd, rdir, &name);
	if (gfd < 0)
		return apply_fail(a, gfd, "open '%s': %s", rdir[0] ? rdir : ".", strerror(-gfd));
	struct stat now;
	if (fstatat(gfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino)
		return apply_fail(a, -ESTALE, "directory '%s' changed during the apply", rdir[0] ? rdir : ".");
	return apply_save_meta(a, gfd, name, rdir);
}
static int ensure_backup_dir(struct apply *a)
{
	if (a->backupfd >= 0)
		return 0;
	_cleanup_close_ int rootfd = openat(a->treefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return apply_fail(a, negative_errno(), "open the root: %s", strerror(errno));
	int r = apply_save_parent_meta(a, rootfd, a->backup_name);
	if (r < 0)
		return r;
	if (mkdirat(a->treefd, a->backup_name, 0700) < 0)
		return apply_fail(a, negative_errno(), "create undo directory %s: %s", a->backup_name,
			    strerror(errno));
	a->backupfd = openat(a->treefd, a->backup_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (a->backupfd < 0) {
		r = negative_errno();
		unlinkat(a->treefd, a->backup_name, AT_REMOVEDIR);
		return apply_fail(a, r, "open undo directory: %s", strerror(-r));
	}
	return 0;
}

/* Get `path`'s existing entry out of the way: entries this layer created are
 * simply removed, older ones are moved to the undo directory. */
int apply_remove_existing(struct apply *a, int pfd, const char *name, const char *path,
			   const struct stat *st)
{
	/* The cached parent may lie below what moves; the caller's own pfd
	 * (the parent of `name`) stays valid. */
	a->cache_stale = true;
	int r = apply_save_parent_meta(a, pfd, path);
	if (r < 0)
		return r;
	/* This apply's own object, whatever name reached it (not the name:
	 * a symlink on the way may lead elsewhere now). */
	char k[ID_KEY_MAX];
	if (snap_strset_contains(&a->created_ids, id_key(k, st->st_dev, st->st_ino))) {
		r = snap_rm_rf_at(pfd, name);
		return r < 0 ? apply_fail(a, r, "remove '%s': %s", path, strerror(-r)) : 0;
	}
	if ((r = ensure_backup_dir(a)) < 0)
		return r;
	_cleanup_free_ char *rpath = NULL;
	if ((r = resolved_path(a, pfd, path, &rpath)) < 0)
		return r;
	char bname[32];
	snprintf(bname, sizeof(bname), "%u", a->n_backups);
	if ((r = journal_put(a, "B", rec_backup, &(struct rec_backup){ a->n_backups, rpath })) < 0)
		return r;
	struct undo *u;
	if (apply_undo_push(a, UNDO_BACKUP, rpath, &u) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	if (renameat(pfd, name, a->backupfd, bname) < 0) {
		r = negative_errno();
		free(u->path);
		a->n_undo--;
		return apply_fail(a, r, "move '%s' aside: %s", path, strerror(-r));
	}
	u->backup = a->n_backups++;
	/* Nothing is at path now: what the layer puts there is its own. */
	return journal_put(a, "C", rec_path, rpath);
}

int apply_mark_linked(struct apply *a, int pfd, const char *path)
{
	_cleanup_free_ char *rpath = NULL;
	int r = resolved_path(a, pfd, path, &rpath);
	if (r < 0)
		return r;
	if (apply_undo_push(a, UNDO_CREATED, rpath, NULL) < 0 ||
	    snap_strmap_set(&a->layer_paths, path, (void *)PATH_CREATED) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	return 0;
}

int apply_undo_created(struct apply *a, int pfd, const char *path)
{
	_cleanup_free_ char *rpath = NULL;
	int r = resolved_path(a, pfd, path, &rpath);
	if (r < 0)
		return r;
	if (apply_undo_push(a, UNDO_CREATED, rpath, NULL) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	return journal_put(a, "C", rec_path, rpath);
}

int apply_mark_created(struct apply *a, int pfd, const char *name, const char *path)
{
	int r = apply_mark_linked(a, pfd, path);
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return apply_fail(a, negative_errno(), "stat: %s", strerror(errno));
	char k[ID_KEY_MAX];
	if (snap_strset_add(&a->created_ids, id_key(k, st.st_dev, st.st_ino)) < 0)
		return apply_fail(a, -ENOMEM, "out of memory");
	return 0;
}

/* ---- playing the journal back ---- */

int apply_restore_meta(int treefd, const struct undo *u)
{
	const char *name;
	_cleanup_close_ int pfd = apply_open_parent(treefd, u->path, &name);
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

void apply_rollback(struct apply *a)
{
	apply_cache_drop(a);
	unsigned failed = 0;
	const struct undo *root_meta = NULL;
	for (size_t i = a->n_undo; i-- > 0;) {
		const struct undo *u = &a->undo[i];
		const char *name;
		int r;
		if (u->kind == UNDO_META) {
			r = apply_restore_meta(a->treefd, u);
			if (!u->path[0])
				root_meta = u;
		} else {
			_cleanup_close_ int pfd = apply_open_parent(a->treefd, u->path, &name);
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
			apply_restore_meta(a->treefd, root_meta);
	}
	if (failed && a->err) {
		size_t len = strlen(a->err->message);
		snprintf(a->err->message + len, sizeof(a->err->message) - len,
			 " (apply_rollback incomplete: %u steps failed)", failed);
	}
}
