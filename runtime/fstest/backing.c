/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backing filesystems the roots live on: tmpfs, or a fresh ext4, xfs or
 * btrfs made by its mkfs in a sparse image WORK/NAME.img and mounted from a
 * loop device (runtime/scratch-fs.c).  All of it is mounted in fstest's
 * private mount namespace, so it also goes away when fstest is killed; the
 * images are removed on exit and SIGINT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fstest.h"
#include "scratch-fs.h"
#include "util/fs-util.h"
#include "util/macro.h"

/* 1 GiB sparse: xfs wants at least 300 MiB; the scenarios write little. */
#define IMAGE_SIZE (1LL << 30)

int fst_backing_make(struct fst_run *run, struct fst_backing *b)
{
	struct snap_error err = { 0 };
	if (mkdir(b->mnt, 0755) < 0) {
		snprintf(b->skip, sizeof(b->skip), "mkdir %s: %s", b->mnt, strerror(errno));
		return -errno;
	}
	int r;
	if (!b->mkfs)
		r = mount("tmpfs", b->mnt, "tmpfs", 0, "size=2g,mode=0755") < 0
			    ? snap_error_set(&err, negative_errno(), "mount tmpfs on %s: %s", b->mnt, strerror(errno))
			    : 0;
	else
		r = snap_scratch_fs_make(b->name, b->image, IMAGE_SIZE, b->mnt, NULL, &err);
	if (r < 0) {
		snprintf(b->skip, sizeof(b->skip), "%s", err.message);
		if (b->image)
			unlink(b->image);
		return r;
	}
	b->mounted = true;
	return 0;
}

/* Mount points in /proc/self/mountinfo (field 5, octal escapes). */
static size_t mounts_below(const char *prefix, char ***ret)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char **v = NULL;
	size_t n = 0, plen = strlen(prefix);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		char *o = mp;
		for (const char *p = mp; *p; p++) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
				*o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
				p += 3;
			} else {
				*o++ = *p;
			}
		}
		*o = '\0';
		if (strncmp(mp, prefix, plen) != 0 || (mp[plen] != '/' && mp[plen] != '\0'))
			continue;
		char **nv = realloc(v, (n + 1) * sizeof(char *));
		if (!nv)
			break;
		v = nv;
		if ((v[n] = strdup(mp)))
			n++;
	}
	*ret = v;
	return n;
}

void fst_umount_below(const char *prefix)
{
	/* Later lines are mounted later (on top): detach from the end.  A few
	 * rounds for mounts that reappear from propagation. */
	for (int round = 0; round < 4; round++) {
		char **v = NULL;
		size_t n = mounts_below(prefix, &v);
		for (size_t i = n; i-- > 0;) {
			umount2(v[i], MNT_DETACH);
			free(v[i]);
		}
		free(v);
		if (n == 0)
			break;
	}
}

void fst_backing_remove(struct fst_backing *b)
{
	if (b->mnt) {
		fst_umount_below(b->mnt);
		rmdir(b->mnt);
	}
	b->mounted = false;
	if (b->image)
		unlink(b->image);
}
