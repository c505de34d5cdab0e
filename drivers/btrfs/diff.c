/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The changes of a snapshot against its parent from inode generations, not
 * from walking both trees.
 *
 * The snapshot N was made from its committed (read-only) parent O in
 * transaction N.otransid; everything N changed since lives in tree blocks
 * written in that transaction or later.  (A clone of an active snapshot
 * counts from its source's otransid instead: btrfs_subvol_base.)  So:
 *
 *  1. A tree search of N's tree with min_transid = N.otransid (what
 *     `btrfs subvolume find-new` does) returns only the leaves rewritten
 *     since the snapshot; their inode items with transid >= otransid are
 *     the candidates.  A candidate whose item equals O's item for the same
 *     inode but for atime/transid/sequence was only read (relatime), not
 *     changed; what remains is K, the changed inodes.
 *  2. BTRFS_IOC_INO_PATHS names every path of every K inode in N; these
 *     paths and their ancestors are the "dirty" paths.
 *  3. The generic differ's walk (core/layer/layer-diff.c), pruned: a directory
 *     whose inode is not in K has the same entries as in O, so only its
 *     dirty children are visited; a directory in K (or one that is not the
 *     same inode as O's at that path) is listed on both sides and compared
 *     name by name, which finds deletions.  An entry that is the same inode
 *     as in O and not in K is unchanged and, unless dirty, not descended.
 *  4. Entries that are visited are judged by the generic differ's rules
 *     (type, mode, owner, size, mtime, rdev, link target, xattrs, content
 *     when the mtime has no nanoseconds), so both report the same set.
 *
 * The cost follows the change, not the tree.  When the premises do not hold
 * (no parent, N not a snapshot of O, O writable or changed since, nested
 * subvolumes, no CAP_SYS_ADMIN for the search ioctls) the method returns
 * -EOPNOTSUPP with the reason and the core walks both trees instead.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <btrfsutil.h>

#include "btrfs-internal.h"
#include "layer/diff-walk.h"
#include "util/macro.h"

/* core/layer/layer-internal.h: an apply's undo directory at the tree's root,
 * which the generic differ leaves out too. */
#define APPLY_BACKUP_PREFIX ".snapctl-apply-"

/* ---- sets --------------------------------------------------------------- */

struct u64set {
	uint64_t *v;
	size_t n, cap;
};

static int u64set_add(struct u64set *s, uint64_t x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool u64set_has(const struct u64set *s, uint64_t x)
{
	return s->n && bsearch(&x, s->v, s->n, sizeof(*s->v), u64_cmp) != NULL;
}

struct strset {
	char **v;
	size_t n, cap;
};

static void strset_done(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct strset){ 0 };
}

static int strset_addn(struct strset *s, const char *p, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		char **nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strndup(p, len)))
		return -ENOMEM;
	s->n++;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strset_seal(struct strset *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), str_cmp);
	size_t o = 1;
	for (size_t i = 1; i < s->n; i++) {
		if (strcmp(s->v[i], s->v[o - 1]) == 0)
			free(s->v[i]);
		else
			s->v[o++] = s->v[i];
	}
	s->n = o;
}

static bool strset_has(const struct strset *s, const char *p)
{
	return s->n && bsearch(&p, s->v, s->n, sizeof(*s->v), str_cmp) != NULL;
}

/* Index of the first element >= p. */
static size_t strset_lower(const struct strset *s, const char *p)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->v[mid], p) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- step 1: changed inodes ----------------------------------------------- */

struct candidates {
	uint64_t otransid;
	struct btrfs_inode_item *items;
	uint64_t *inos;
	size_t n, cap;
};

static void candidates_done(struct candidates *c)
{
	free(c->items);
	free(c->inos);
}

static int candidate_cb(const struct btrfs_search_item *it, void *ctx)
{
	struct candidates *c = ctx;
	if (it->type != BTRFS_INODE_ITEM_KEY || it->len < sizeof(struct btrfs_inode_item))
		return 0;
	struct btrfs_inode_item ii;
	memcpy(&ii, it->data, sizeof(ii));
	/* the leaf was rewritten, but this inode's item may be older */
	if (le64toh(ii.transid) < c->otransid)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct btrfs_inode_item *ni = realloc(c->items, cap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		c->items = ni;
		uint64_t *nn = realloc(c->inos, cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		c->inos = nn;
		c->cap = cap;
	}
	c->items[c->n] = ii;
	c->inos[c->n] = it->objectid;
	c->n++;
	return 0;
}

struct item_lookup {
	bool found;
	struct btrfs_inode_item item;
};

static int lookup_cb(const struct btrfs_search_item *it, void *ctx)
{
	struct item_lookup *l = ctx;
	if (it->type == BTRFS_INODE_ITEM_KEY && it->len >= sizeof(l->item)) {
		memcpy(&l->item, it->data, sizeof(l->item));
		l->found = true;
	}
	return 1;
}

static bool same_ts(const struct btrfs_timespec *a, const struct btrfs_timespec *b)
{
	return a->sec == b->sec && a->nsec == b->nsec;
}

/* Equal but for what a read changes (atime, and with it transid and the
 * NFS sequence): the inode was not modified. */
static bool same_inode_item(const struct btrfs_inode_item *a, const struct btrfs_inode_item *b)
{
	return a->generation == b->generation && a->size == b->size && a->nbytes == b->nbytes &&
	       a->nlink == b->nlink && a->uid == b->uid && a->gid == b->gid &&
	       a->mode == b->mode && a->rdev == b->rdev && a->flags == b->flags &&
	       same_ts(&a->ctime, &b->ctime) && same_ts(&a->mtime, &b->mtime) &&
	       same_ts(&a->otime, &b->otime);
}

/* ---- the walk ------------------------------------------------------------- */

struct fast_differ {
	struct snap_diff_walk w; /* w.src_root: N's subvolume root */
	struct u64set changed;   /* K, sorted */
	struct strset dirty;     /* N paths of K inodes and their ancestors */
};

struct dent {
	char *name;
	uint64_t ino;
};

struct dents {
	struct dent *v;
	size_t n;
};

static void dents_done(struct dents *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	*l = (struct dents){ 0 };
}

static int dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

static int list_dir(int fd, bool root, struct dents *ret)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negative_errno();
	_cleanup_closedir_ DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return negative_errno();
	}
	struct dents out = { 0 };
	size_t cap = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(dir))) {
		const char *n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (root && strncmp(n, APPLY_BACKUP_PREFIX, strlen(APPLY_BACKUP_PREFIX)) == 0)
			continue;
		if (out.n == cap) {
			cap = cap ? cap * 2 : 32;
			struct dent *nv = realloc(out.v, cap * sizeof(*nv));
			if (!nv) {
				dents_done(&out);
				return -ENOMEM;
			}
			out.v = nv;
		}
		if (!(out.v[out.n].name = strdup(n))) {
			dents_done(&out);
			return -ENOMEM;
		}
		out.v[out.n++].ino = de->d_ino;
	}
	if (errno) {
		int r = negative_errno();
		dents_done(&out);
		return r;
	}
	if (out.n > 1)
		qsort(out.v, out.n, sizeof(*out.v), dent_cmp);
	*ret = out;
	return 0;
}

static int walk(struct fast_differ *d, int ofd, int nfd, size_t len, bool full);

/* One name present in N (and in O when in_old), d->w.path set to it.
 * `same` says O's entry is the same inode, unchanged (not in K). */
static int visit(struct fast_differ *d, int ofd, int nfd, const char *name, bool in_old,
		 bool same)
{
	size_t sublen = strlen(d->w.path);
	bool dirty = strset_has(&d->dirty, d->w.path);
	if (same && !dirty)
		return 0; /* the same inode with nothing changed below it */

	struct stat ns, os;
	if (fstatat(nfd, name, &ns, AT_SYMLINK_NOFOLLOW) < 0)
		return snap_error_set(d->w.err, negative_errno(), "diff: stat '%s': %s", d->w.path,
				      strerror(errno));
	bool old_dir = false;
	int r;
	if (!in_old) {
		if ((r = snap_diff_walk_emit(&d->w, SNAP_CHANGE_ADD)) < 0)
			return r;
	} else {
		if (fstatat(ofd, name, &os, AT_SYMLINK_NOFOLLOW) < 0)
			return snap_error_set(d->w.err, negative_errno(),
					      "diff: stat '%s' in the parent: %s", d->w.path,
					      strerror(errno));
		old_dir = S_ISDIR(os.st_mode) && S_ISDIR(ns.st_mode);
		if (!same) {
			r = snap_diff_walk_changed(&d->w, ofd, nfd, name, &os, &ns);
			if (r < 0)
				return r;
			if (r > 0 && (r = snap_diff_walk_emit(&d->w, SNAP_CHANGE_MODIFY)) < 0)
				return r;
		}
	}
	if (!S_ISDIR(ns.st_mode))
		return 0;
	_cleanup_close_ int nsub = snap_diff_walk_open_dir(&d->w, nfd, name, O_PATH, NULL);
	if (nsub < 0)
		return nsub;
	_cleanup_close_ int osub = -EBADF;
	if (old_dir && (osub = snap_diff_walk_open_dir(&d->w, ofd, name, O_PATH, NULL)) < 0)
		return osub;
	/* An unchanged directory has the entries it had in O: only its dirty
	 * children need a look.  Otherwise compare its listing. */
	return walk(d, old_dir ? osub : -1, nsub, sublen, !same);
}

/* Directory nfd at d->w.path (length len) against ofd (-1: absent in O). */
static int walk(struct fast_differ *d, int ofd, int nfd, size_t len, bool full)
{
	int r;
	if (!full) {
		/* the dirty children: the dirty paths one level below */
		char prefix[PATH_MAX + 1];
		size_t plen = 0;
		if (len) {
			memcpy(prefix, d->w.path, len);
			prefix[len] = '/';
			plen = len + 1;
		}
		prefix[plen] = '\0';
		size_t i = strset_lower(&d->dirty, prefix);
		/* copy the names first: visit() rewrites d->w.path */
		struct strset kids = { 0 };
		for (; i < d->dirty.n && strncmp(d->dirty.v[i], prefix, plen) == 0; i++) {
			const char *rest = d->dirty.v[i] + plen;
			if (*rest == '\0' || strchr(rest, '/'))
				continue;
			if (len == 0 && strncmp(rest, APPLY_BACKUP_PREFIX,
						strlen(APPLY_BACKUP_PREFIX)) == 0)
				continue;
			if ((r = strset_addn(&kids, rest, strlen(rest))) < 0) {
				strset_done(&kids);
				return snap_error_set(d->w.err, r, "diff: out of memory");
			}
		}
		r = 0;
		for (size_t k = 0; r == 0 && k < kids.n; k++) {
			if ((r = snap_diff_walk_push(&d->w, len, kids.v[k])) < 0)
				break;
			struct stat ns;
			if (fstatat(nfd, kids.v[k], &ns, AT_SYMLINK_NOFOLLOW) < 0) {
				r = snap_error_set(d->w.err, negative_errno(), "diff: stat '%s': %s",
						   d->w.path, strerror(errno));
				break;
			}
			/* same entries as O: the same inode is there */
			r = visit(d, ofd, nfd, kids.v[k], true,
				  !u64set_has(&d->changed, (uint64_t)ns.st_ino));
			d->w.path[len] = '\0';
		}
		strset_done(&kids);
		return r;
	}

	_cleanup_(dents_done) struct dents on = { 0 }, nn = { 0 };
	if (ofd >= 0 && (r = list_dir(ofd, len == 0, &on)) < 0)
		return snap_error_set(d->w.err, r, "diff: list '%s' in the parent: %s",
				      len ? d->w.path : ".", strerror(-r));
	if ((r = list_dir(nfd, len == 0, &nn)) < 0)
		return snap_error_set(d->w.err, r, "diff: list '%s': %s", len ? d->w.path : ".",
				      strerror(-r));
	size_t i = 0, j = 0;
	while (i < on.n || j < nn.n) {
		int c = i >= on.n ? 1 : j >= nn.n ? -1 : strcmp(on.v[i].name, nn.v[j].name);
		const char *name = c <= 0 ? on.v[i].name : nn.v[j].name;
		if ((r = snap_diff_walk_push(&d->w, len, name)) < 0)
			return r;
		if (c < 0) {
			r = snap_diff_walk_emit(&d->w, SNAP_CHANGE_DELETE);
		} else if (c > 0) {
			r = visit(d, -1, nfd, name, false, false);
		} else {
			bool same = on.v[i].ino == nn.v[j].ino &&
				    !u64set_has(&d->changed, nn.v[j].ino);
			r = visit(d, ofd, nfd, name, true, same);
		}
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		d->w.path[len] = '\0';
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- step 2: paths of changed inodes --------------------------------------- */

static int add_paths(struct fast_differ *d, int nfd, uint64_t ino)
{
	/* The kernel caps the buffer at 4 KiB; an inode with more links than
	 * fit is reported with elem_missed, and then we cannot be exact. */
	char buf[4096 + sizeof(struct btrfs_data_container)] __attribute__((aligned(8)));
	struct btrfs_data_container *dc = (void *)buf;
	struct btrfs_ioctl_ino_path_args args = {
		.inum = ino,
		.size = 4096,
		.fspath = (uintptr_t)dc,
	};
	if (ioctl(nfd, BTRFS_IOC_INO_PATHS, &args) < 0) {
		if (errno == ENOENT)
			return 0; /* unlinked but still open: no path, nothing to report */
		return negative_errno();
	}
	if (dc->elem_missed)
		return -E2BIG;
	for (uint32_t i = 0; i < dc->elem_cnt; i++) {
		const char *p = (const char *)dc->val + dc->val[i];
		/* the path and each of its ancestors */
		for (const char *s = p;; s++) {
			if (*s == '/' || *s == '\0') {
				if (s > p) {
					int r = strset_addn(&d->dirty, p, (size_t)(s - p));
					if (r < 0)
						return r;
				}
				if (*s == '\0')
					break;
			}
		}
	}
	return 0;
}

static int root_ref_cb(const struct btrfs_search_item *it, void *ctx)
{
	if (it->type == BTRFS_ROOT_REF_KEY)
		*(bool *)ctx = true;
	return 1;
}

/* 1 when subvolume `id` holds other subvolumes (their trees are not in its
 * tree search, and its snapshots show them as empty directories). */
static int has_nested_subvolumes(int fd, uint64_t id)
{
	bool any = false;
	struct btrfs_key min = { id, BTRFS_ROOT_REF_KEY, 0 };
	struct btrfs_key max = { id, BTRFS_ROOT_REF_KEY, UINT64_MAX };
	int r = btrfs_tree_search(fd, BTRFS_ROOT_TREE_OBJECTID, &min, &max, 0, root_ref_cb, &any);
	return r < 0 ? r : any;
}

static void fast_differ_done(struct fast_differ *d)
{
	free(d->changed.v);
	strset_done(&d->dirty);
}

/* A read-only snapshot of the active snapshot N, made beside its "fs" for
 * the length of a diff.  The snapshot ioctl writes out N's delalloc and
 * runs the delayed items before it copies N's root, so the copy's tree
 * holds every change N made up to now, and its leaves are N's: a search of
 * it finds what a search of N would after BTRFS_IOC_SYNC.  That sync
 * writes the delalloc of every writer on the filesystem; the snapshot
 * writes N's only.  (A transaction commit alone is not enough: a write
 * that leaves the mtime as it was, within one clock tick, changes the
 * inode item only when its data is written.) */
struct diff_copy {
	int dirfd; /* N's snapshot directory */
	int fd;    /* the copy's root */
	char name[64];
};

static void diff_copy_drop(struct diff_copy *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->dirfd >= 0) {
		struct snap_error ignored = { 0 };
		if (c->name[0])
			(void)btrfs_subvol_delete(c->dirfd, c->name, "a diff's copy", &ignored);
		close(c->dirfd);
	}
}

/* 0, or <0 when no copy could be made (the caller syncs instead). */
static int diff_copy_make(const struct snap_ref *snap, int nfd, struct diff_copy *c)
{
	c->dirfd = open(snap->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0)
		return negative_errno();
	char name[64];
	snprintf(name, sizeof(name), BTRFS_DIFF_COPY_PREFIX "%d", (int)gettid());
	struct snap_error e = { 0 };
	/* one a crash left under this thread's name */
	if (faccessat(c->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		(void)btrfs_subvol_delete(c->dirfd, name, "a diff's copy", &e);
	int r = btrfs_subvol_snapshot(nfd, c->dirfd, name, true, "a diff's copy", &e);
	if (r < 0)
		return r;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->fd = openat(c->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return c->fd < 0 ? negative_errno() : 0;
}

#define FALLBACK(fmt, ...)                                                                     \
	snap_error_set(err, -EOPNOTSUPP,                                                       \
		       "btrfs fast diff of snapshot %" PRIu64 ": " fmt "; using the generic walk", \
		       snap->id, ##__VA_ARGS__)

int btrfs_diff(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
	       struct snap_change_sink *sink, struct snap_error *err)
{
	if (!parents || parents->n == 0)
		return FALLBACK("no parent, every entry is new");
	_cleanup_close_ int nfd = -EBADF, ofd = -EBADF;
	int r = btrfs_open_subvol(snap, &nfd, err);
	if (r < 0)
		return snap_error_prefix(err, "diff");
	r = btrfs_open_subvol(&parents->refs[0], &ofd, err);
	if (r < 0)
		return snap_error_prefix(err, "diff");

	struct btrfs_subvol_facts nf, of;
	if ((r = btrfs_subvol_facts(nfd, &nf)) < 0 || (r = btrfs_subvol_facts(ofd, &of)) < 0)
		return FALLBACK("subvolume info: %s", strerror(-r));
	/* N's changes start at its otransid, or for a clone at its source's
	 * (btrfs-internal.h, btrfs_subvol_base). */
	struct btrfs_subvol_base base;
	btrfs_subvol_base(nfd, &nf, &base);
	bool writable = !of.readonly;
	if (writable && memcmp(nf.parent_uuid, of.uuid, sizeof(of.uuid)) == 0)
		return FALLBACK("the parent's subvolume is writable");
	if (memcmp(base.origin_uuid, of.uuid, sizeof(of.uuid)) != 0)
		return FALLBACK("it is not a snapshot of its parent %" PRIu64 "'s subvolume%s",
				parents->refs[0].id, base.cloned ? " (through the snapshot it was cloned from)" : "");
	if (writable)
		return FALLBACK("the parent's subvolume is writable");
	/* Not the generation: every snapshot of O (a view, a sibling) COWs
	 * O's root node and bumps it without changing what O holds. */
	if (of.ctransid > base.otransid)
		return FALLBACK("the parent changed after the snapshot was taken");
	int nested = has_nested_subvolumes(nfd, nf.id);
	if (nested == 0)
		nested = has_nested_subvolumes(nfd, of.id);
	if (nested < 0)
		return FALLBACK("search the root tree: %s", strerror(-nested));
	if (nested > 0)
		return FALLBACK("nested subvolumes are not in the snapshot's tree");

	/* Recent inode updates sit in delayed items and data in delalloc,
	 * neither visible to a tree search until written out.  An active
	 * snapshot is searched through a read-only copy, which writes out its
	 * own (diff_copy).  A clone needs nothing (btrfs_subvol_complete).
	 * Anything else, or an active snapshot that cannot be copied, is
	 * synced, which writes out every writer on the filesystem. */
	_cleanup_(diff_copy_drop) struct diff_copy copy = { .dirfd = -EBADF, .fd = -EBADF };
	int sfd = nfd; /* what the tree search reads */
	uint64_t sid = nf.id;
	struct btrfs_subvol_facts cf;
	if (!nf.readonly && diff_copy_make(snap, nfd, &copy) == 0 && btrfs_subvol_facts(copy.fd, &cf) == 0) {
		sfd = copy.fd;
		sid = cf.id;
	} else if (!btrfs_subvol_complete(&nf, &base) && btrfs_util_sync_fd(nfd) != BTRFS_UTIL_OK) {
		return snap_error_set(err, negative_errno(), "diff: sync btrfs: %s",
				      strerror(errno));
	}

	/* 1. candidates from the leaves written since the snapshot */
	_cleanup_(candidates_done) struct candidates cand = { .otransid = base.otransid };
	struct btrfs_key min = { BTRFS_FIRST_FREE_OBJECTID, BTRFS_INODE_ITEM_KEY, 0 };
	struct btrfs_key max = { BTRFS_LAST_FREE_OBJECTID, BTRFS_INODE_ITEM_KEY, UINT64_MAX };
	r = btrfs_tree_search(sfd, sid, &min, &max, base.otransid, candidate_cb, &cand);
	if (r == -EPERM)
		return FALLBACK("the tree search needs CAP_SYS_ADMIN");
	if (r < 0)
		return FALLBACK("tree search of subvolume %" PRIu64 ": %s", sid, strerror(-r));

	_cleanup_(fast_differ_done) struct fast_differ d = {
		.w = { .sink = sink, .err = err, .src_root = nfd, .what = "diff", .prepared_ns = snap->prepared_ns },
	};
	for (size_t i = 0; i < cand.n; i++) {
		struct item_lookup l = { 0 };
		struct btrfs_key k = { cand.inos[i], BTRFS_INODE_ITEM_KEY, 0 };
		r = btrfs_tree_search(ofd, of.id, &k, &k, 0, lookup_cb, &l);
		if (r < 0 && r != -ENOENT)
			return FALLBACK("tree search of subvolume %" PRIu64 ": %s", of.id,
					strerror(-r));
		if (l.found && same_inode_item(&l.item, &cand.items[i]))
			continue; /* read, not changed */
		if (u64set_add(&d.changed, cand.inos[i]) < 0)
			return snap_error_set(err, -ENOMEM, "diff: out of memory");
	}
	if (d.changed.n > 1)
		qsort(d.changed.v, d.changed.n, sizeof(*d.changed.v), u64_cmp);

	/* 2. where they are */
	for (size_t i = 0; i < d.changed.n; i++) {
		if (d.changed.v[i] == BTRFS_FIRST_FREE_OBJECTID)
			continue; /* the root itself */
		r = add_paths(&d, nfd, d.changed.v[i]);
		if (r == -E2BIG)
			return FALLBACK("inode %" PRIu64 " has more links than "
					"BTRFS_IOC_INO_PATHS returns",
					d.changed.v[i]);
		if (r == -ENOMEM)
			return snap_error_set(err, -ENOMEM, "diff: out of memory");
		if (r < 0)
			return FALLBACK("resolve inode %" PRIu64 ": %s", d.changed.v[i],
					strerror(-r));
	}
	strset_seal(&d.dirty);

	/* 3. the pruned walk */
	r = walk(&d, ofd, nfd, 0, u64set_has(&d.changed, BTRFS_FIRST_FREE_OBJECTID));
	if (r == -ENOMEM && err->code == 0)
		snap_error_set(err, r, "diff: out of memory");
	return r;
}
