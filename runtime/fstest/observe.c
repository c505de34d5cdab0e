/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a process sees of a scenario's tree, as comparable text: one
 * observation per path, "type=reg perm=0644 own=0:0 nlink=1 size=5
 * data=<sha256 prefix> xattr=user.a=1 mtime=recent dt=reg ino=self dev=same".
 * Inode numbers differ between any two filesystems, so they are recorded as
 * relations: `ino` names the first path (in sorted order) that shares the
 * inode, `dev` says whether st_dev is the scenario directory's.  Times are
 * "recent" unless a scenario set them (then the seconds).
 *
 * The committed layer is observed the same way from its tar entries, mtime
 * reduced the same way (the canonical diff carries the real mtime, so its
 * bytes differ between any two runs; its entries must not).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fstest.h"
#include "util/digest.h"
#include "util/fs-util.h"
#include "util/macro.h"

/* Scenario times are set below this; anything later is "recent". */
#define FIXED_TIME_MAX 1500000000L

int fst_obs_add(struct fst_obs_list *l, const char *scenario, const char *key, const char *value)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct fst_obs *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	struct fst_obs *o = &l->v[l->n];
	o->scenario = strdup(scenario);
	o->key = strdup(key);
	o->value = strdup(value);
	if (!o->scenario || !o->key || !o->value) {
		free(o->scenario);
		free(o->key);
		free(o->value);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

void fst_obs_list_done(struct fst_obs_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].scenario);
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	*l = (struct fst_obs_list){ 0 };
}

static int obs_cmp(const void *a, const void *b)
{
	const struct fst_obs *x = a, *y = b;
	int c = strcmp(x->scenario, y->scenario);
	return c ? c : strcmp(x->key, y->key);
}

void fst_obs_sort(struct fst_obs_list *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), obs_cmp);
}

int fst_obs_write(const struct fst_obs_list *l, int fd)
{
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ char *line = NULL;
		int n = asprintf(&line, "%s\t%s\t%s\n", l->v[i].scenario, l->v[i].key, l->v[i].value);
		if (n < 0)
			return -ENOMEM;
		int r = snap_write_all(fd, line, (size_t)n);
		if (r < 0)
			return r;
	}
	return 0;
}

int fst_obs_read(struct fst_obs_list *l, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return negative_errno();
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2)
			return -EBADMSG;
		*t1 = *t2 = '\0';
		int r = fst_obs_add(l, line, t1 + 1, t2 + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- values ---- */

struct buf {
	char s[4096];
	size_t n;
};

static void bput(struct buf *b, const char *fmt, ...) SNAP_PRINTF(2, 3);
static void bput(struct buf *b, const char *fmt, ...)
{
	if (b->n >= sizeof(b->s))
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->n += (size_t)n;
}

/* An xattr value as text: printable bytes as they are (space, ';', '%',
 * tab and '=' escaped as %XX), anything else as hex. */
static void put_xattr_value(struct buf *b, const char *v, size_t n)
{
	bool text = true;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			text = false;
	if (!text) {
		bput(b, "hex:");
		for (size_t i = 0; i < n; i++)
			bput(b, "%02x", (unsigned char)v[i]);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (strchr(" ;%=\t", v[i]))
			bput(b, "%%%02X", (unsigned char)v[i]);
		else
			bput(b, "%c", v[i]);
	}
}

static bool xattr_hidden(const char *name)
{
	/* overlayfs' own metadata is the driver's business, never content. */
	return !strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void put_xattrs(struct buf *b, int pathfd)
{
	char proc[64], list[8192];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
	ssize_t n = listxattr(proc, list, sizeof(list));
	if (n < 0) {
		bput(b, " xattr=%s", errno == ENOTSUP ? "unsupported" : "error");
		return;
	}
	char *names[64];
	size_t k = 0;
	for (char *p = list; p < list + n && k < ELEMENTSOF(names); p += strlen(p) + 1)
		if (!xattr_hidden(p))
			names[k++] = p;
	qsort(names, k, sizeof(char *), name_cmp);
	bput(b, " xattr=");
	if (k == 0)
		bput(b, "-");
	for (size_t i = 0; i < k; i++) {
		char v[4096];
		ssize_t vn = getxattr(proc, names[i], v, sizeof(v));
		bput(b, "%s%s=", i ? ";" : "", names[i]);
		if (vn < 0)
			bput(b, "?%s", strerrorname_np(errno) ? strerrorname_np(errno) : "");
		else
			put_xattr_value(b, v, (size_t)vn);
	}
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFSOCK: return "sock";
	default: return "?";
	}
}

static const char *dtype_name(unsigned char t)
{
	switch (t) {
	case DT_REG: return "reg";
	case DT_DIR: return "dir";
	case DT_LNK: return "lnk";
	case DT_FIFO: return "fifo";
	case DT_CHR: return "chr";
	case DT_BLK: return "blk";
	case DT_SOCK: return "sock";
	default: return "unknown";
	}
}

static void put_time(struct buf *b, int64_t sec)
{
	if (sec < FIXED_TIME_MAX)
		bput(b, " mtime=%lld", (long long)sec);
	else
		bput(b, " mtime=recent");
}

static int hash_fd(int fd, char out[16])
{
	char digest[SNAP_DIGEST_MAX];
	int r = snap_sha256_fd(fd, digest, NULL);
	if (r < 0)
		return r;
	snprintf(out, 16, "%.12s", snap_digest_hex(digest));
	return 0;
}

/* ---- trees ---- */

struct seen {
	dev_t dev;
	ino_t ino;
	char *path;
	char *value;
};

struct walk {
	struct seen *v;
	size_t n, cap;
	dev_t root_dev;
};

static int walk_add(struct walk *w, const struct stat *st, const char *path, const char *value)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct seen *v = realloc(w->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n] = (struct seen){ st->st_dev, st->st_ino, strdup(path), strdup(value) };
	if (!w->v[w->n].path || !w->v[w->n].value) {
		free(w->v[w->n].path);
		free(w->v[w->n].value);
		return -ENOMEM;
	}
	w->n++;
	return 0;
}

static void describe(struct buf *b, int dirfd, const char *name, const struct stat *st, unsigned char dt)
{
	bput(b, "type=%s perm=%04o own=%u:%u nlink=%lu", type_name(st->st_mode), (unsigned)(st->st_mode & 07777),
	     (unsigned)st->st_uid, (unsigned)st->st_gid, (unsigned long)st->st_nlink);
	if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))
		bput(b, " size=%lld", (long long)st->st_size);
	if (S_ISREG(st->st_mode)) {
		_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char h[16];
		if (fd < 0)
			bput(b, " data=%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
		else if (hash_fd(fd, h) < 0)
			bput(b, " data=EIO");
		else
			bput(b, " data=%s", h);
	}
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		bput(b, " target=");
		put_xattr_value(b, target, strlen(target));
	}
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		bput(b, " rdev=%u:%u", major(st->st_rdev), minor(st->st_rdev));
	_cleanup_close_ int pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd >= 0)
		put_xattrs(b, pfd);
	put_time(b, st->st_mtim.tv_sec);
	if (dt != 0xff)
		bput(b, " dt=%s", dtype_name(dt));
}

static int walk_dir(struct walk *w, int dirfd, const char *prefix, int depth)
{
	if (depth > 16)
		return -ELOOP;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	_cleanup_closedir_ DIR *dd = d;
	struct ent {
		char *name;
		unsigned char dt;
	} *ents = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;
	while ((de = readdir(dd))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			struct ent *v = realloc(ents, cap * sizeof(*v));
			if (!v) {
				r = -ENOMEM;
				break;
			}
			ents = v;
		}
		ents[n].name = strdup(de->d_name);
		ents[n].dt = de->d_type;
		if (!ents[n].name) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	/* Sorted by name: the same order on every filesystem. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(ents[j - 1].name, ents[j].name) > 0; j--) {
			struct ent t = ents[j];
			ents[j] = ents[j - 1];
			ents[j - 1] = t;
		}
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct stat st;
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", ents[i].name) < 0) {
			r = -ENOMEM;
			break;
		}
		struct buf b = { .n = 0 };
		if (fstatat(dirfd, ents[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			bput(&b, "type=%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
			st = (struct stat){ 0 };
		} else {
			describe(&b, dirfd, ents[i].name, &st, ents[i].dt);
		}
		r = walk_add(w, &st, path, b.s);
		if (r == 0 && S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(dirfd, ents[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? negative_errno() : walk_dir(w, sub, path, depth + 1);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	return r;
}

int fst_observe_tree(struct fst_obs_list *l, const char *scenario, const char *phase, int dirfd)
{
	struct walk w = { 0 };
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return negative_errno();
	w.root_dev = st.st_dev;
	struct buf b = { .n = 0 };
	describe(&b, dirfd, ".", &st, 0xff);
	int r = walk_add(&w, &st, ".", b.s);
	if (r == 0)
		r = walk_dir(&w, dirfd, "", 0);
	for (size_t i = 0; r == 0 && i < w.n; i++) {
		const char *first = NULL;
		for (size_t j = 0; j < i && !first; j++)
			if (w.v[j].dev == w.v[i].dev && w.v[j].ino == w.v[i].ino && w.v[i].ino != 0)
				first = w.v[j].path;
		char key[4200];
		snprintf(key, sizeof(key), "%s %s", phase, w.v[i].path);
		_cleanup_free_ char *value = NULL;
		if (asprintf(&value, "%s ino=%s dev=%s", w.v[i].value, first ? first : "self",
			     w.v[i].dev == w.root_dev ? "same" : "other") < 0)
			r = -ENOMEM;
		else
			r = fst_obs_add(l, scenario, key, value);
	}
	for (size_t i = 0; i < w.n; i++) {
		free(w.v[i].path);
		free(w.v[i].value);
	}
	free(w.v);
	return r;
}

/* ---- the committed layer ---- */

static const char *tar_type(struct archive_entry *e)
{
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: return "reg";
	case AE_IFDIR: return "dir";
	case AE_IFLNK: return "lnk";
	case AE_IFIFO: return "fifo";
	case AE_IFCHR: return "chr";
	case AE_IFBLK: return "blk";
	default: return "?";
	}
}

static const struct fst_scenario *scenario_of(const struct fst_scenario *const *sc, size_t n, const char *path,
					      const char **rel)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(sc[i]->name);
		if (strncmp(path, sc[i]->name, k) == 0 && (path[k] == '/' || path[k] == '\0')) {
			*rel = path[k] == '\0' || path[k + 1] == '\0' ? "." : path + k + 1;
			return sc[i];
		}
	}
	return NULL;
}

int fst_observe_diff(struct fst_obs_list *l, const struct fst_scenario *const *sc, size_t n_sc, int tarfd,
		     struct snap_error *err)
{
	struct archive *a = archive_read_new();
	if (!a)
		return snap_error_set(err, -ENOMEM, "read diff: out of memory");
	archive_read_support_format_tar(a);
	int r = 0;
	if (archive_read_open_fd(a, tarfd, 65536) != ARCHIVE_OK) {
		r = snap_error_set(err, -EIO, "read diff: %s", archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	struct archive_entry *e;
	int ar;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		char path[4096];
		snprintf(path, sizeof(path), "%s", archive_entry_pathname(e));
		size_t len = strlen(path);
		while (len > 1 && path[len - 1] == '/')
			path[--len] = '\0';
		const char *p = !strncmp(path, "./", 2) ? path + 2 : path;
		const char *rel;
		const struct fst_scenario *s = scenario_of(sc, n_sc, p, &rel);
		if (!s) {
			archive_read_data_skip(a);
			continue;
		}
		struct buf b = { .n = 0 };
		bput(&b, "type=%s perm=%04o own=%lld:%lld", archive_entry_hardlink(e) ? "hardlink" : tar_type(e), (unsigned)(archive_entry_perm(e) & 07777),
		     (long long)archive_entry_uid(e), (long long)archive_entry_gid(e));
		if (archive_entry_hardlink(e)) {
			const char *hrel;
			const char *h = archive_entry_hardlink(e);
			if (!strncmp(h, "./", 2))
				h += 2;
			bput(&b, " hardlink=%s", scenario_of(sc, n_sc, h, &hrel) == s ? hrel : h);
		} else if (archive_entry_filetype(e) == AE_IFREG) {
			struct snap_sha256 h;
			char digest[SNAP_DIGEST_MAX];
			if (snap_sha256_init(&h) < 0) {
				r = snap_error_set(err, -ENOMEM, "read diff: out of memory");
				break;
			}
			char data[16384];
			la_ssize_t n;
			while ((n = archive_read_data(a, data, sizeof(data))) > 0)
				snap_sha256_update(&h, data, (size_t)n);
			snap_sha256_final(&h, digest);
			bput(&b, " size=%lld data=%.12s", (long long)archive_entry_size(e), snap_digest_hex(digest));
		}
		if (archive_entry_filetype(e) == AE_IFLNK) {
			bput(&b, " target=");
			const char *t = archive_entry_symlink(e);
			put_xattr_value(&b, t ? t : "", t ? strlen(t) : 0);
		}
		/* xattrs, sorted by name */
		const char *names[64];
		const void *vals[64];
		size_t sizes[64], k = 0;
		archive_entry_xattr_reset(e);
		const char *xn;
		const void *xv;
		size_t xs;
		while (k < 64 && archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK)
			if (!xattr_hidden(xn)) {
				names[k] = xn;
				vals[k] = xv;
				sizes[k++] = xs;
			}
		for (size_t i = 1; i < k; i++)
			for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
				const char *tn = names[j];
				names[j] = names[j - 1];
				names[j - 1] = tn;
				const void *tv = vals[j];
				vals[j] = vals[j - 1];
				vals[j - 1] = tv;
				size_t ts = sizes[j];
				sizes[j] = sizes[j - 1];
				sizes[j - 1] = ts;
			}
		bput(&b, " xattr=");
		if (k == 0)
			bput(&b, "-");
		for (size_t i = 0; i < k; i++) {
			bput(&b, "%s%s=", i ? ";" : "", names[i]);
			put_xattr_value(&b, vals[i], sizes[i]);
		}
		put_time(&b, archive_entry_mtime(e));
		char key[4200];
		snprintf(key, sizeof(key), "diff %s", rel);
		r = fst_obs_add(l, s->name, key, b.s);
		if (r < 0)
			break;
	}
	if (r == 0 && ar != ARCHIVE_EOF)
		r = snap_error_set(err, -EIO, "read diff: %s", archive_error_string(a));
	archive_read_free(a);
	return r;
}

/* ---- what the driver stored ---- */

static int store_walk(struct fst_obs_list *l, const char *scenario, int dirfd, const char *prefix, int depth)
{
	struct snap_names names = { 0 };
	int r = depth > 16 ? -ELOOP : snap_dir_list_sorted(dirfd, NULL, &names);
	for (size_t i = 0; r == 0 && i < names.n; i++) {
		struct stat st;
		if (fstatat(dirfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", names.v[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(dirfd, names.v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				r = store_walk(l, scenario, sub, path, depth + 1);
		} else if (S_ISREG(st.st_mode) && st.st_size > 0) {
			_cleanup_close_ int pfd = openat(dirfd, names.v[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
			bool meta = pfd >= 0 && (getxattr(proc, "trusted.overlay.metacopy", NULL, 0) >= 0 ||
						 getxattr(proc, "user.overlay.metacopy", NULL, 0) >= 0);
			char key[4200];
			snprintf(key, sizeof(key), "store %s", path);
			r = fst_obs_add(l, scenario, key, meta ? "data=metacopy" : "data=copied");
		}
	}
	snap_names_done(&names);
	return r;
}

int fst_observe_store(struct fst_obs_list *l, const char *scenario, int dirfd)
{
	return store_walk(l, scenario, dirfd, "", 0);
}
