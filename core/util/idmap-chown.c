/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The chown walk: containerd's remap fallback for filesystems that cannot
 * be idmapped.  Every inode of a tree gets the host ids of its container
 * ids (unmapped ids become 65534, the overflow id the kernel would show),
 * once per inode even when hardlinked.  chown(2) clears set-uid/set-gid
 * bits; they are put back (file capabilities, which chown also drops, are
 * not: a remapped tree is for running, not for committing).
 */
#include "util/idmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"

#define OVERFLOW_ID 65534u

struct walk {
	const struct snap_idmap *map;
	void *seen; /* tsearch tree of inode numbers with nlink > 1 */
	struct snap_idmap_chown_stats *stats;
};

static int ino_cmp(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;
	return x < y ? -1 : x > y;
}

/* 1 when the inode was seen before, 0 the first time, -ENOMEM. */
static int seen_before(struct walk *w, ino_t ino)
{
	ino_t *k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	*k = ino;
	ino_t **found = tsearch(k, &w->seen, ino_cmp);
	if (!found) {
		free(k);
		return -ENOMEM;
	}
	if (*found != k) {
		free(k);
		return 1;
	}
	return 0;
}

static int chown_one(struct walk *w, int dirfd, const char *name, const struct stat *st)
{
	uint32_t u, g;
	if (!snap_idmap_to_host(w->map->uid, w->map->n_uid, st->st_uid, &u))
		u = OVERFLOW_ID;
	if (!snap_idmap_to_host(w->map->gid, w->map->n_gid, st->st_gid, &g))
		g = OVERFLOW_ID;
	if (fchownat(dirfd, name, u, g, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) < 0)
		return negative_errno();
	if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)) &&
	    fchmodat(dirfd, *name ? name : ".", st->st_mode & 07777, 0) < 0)
		return negative_errno();
	w->stats->entries++;
	w->stats->bytes += (uint64_t)st->st_size;
	return 0;
}

static int walk_dir(struct walk *w, int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negative_errno();
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return negative_errno();
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return negative_errno();
		if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
			int r = seen_before(w, st.st_ino);
			if (r < 0)
				return r;
			if (r > 0)
				continue;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				return negative_errno();
			int r = walk_dir(w, sub);
			if (r < 0)
				return r;
		}
		int r = chown_one(w, dfd, de->d_name, &st);
		if (r < 0)
			return r;
	}
	return errno ? negative_errno() : 0;
}

int snap_idmap_chown_tree(int dirfd, const struct snap_idmap *map, struct snap_idmap_chown_stats *stats)
{
	struct snap_idmap_chown_stats local = { 0 };
	struct walk w = { .map = map, .stats = stats ? stats : &local };
	struct stat st;
	int r = fstat(dirfd, &st) < 0 ? negative_errno() : walk_dir(&w, dirfd);
	if (r == 0)
		r = chown_one(&w, dirfd, "", &st);
	tdestroy(w.seen, free);
	return r;
}
