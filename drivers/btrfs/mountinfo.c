/* SPDX-License-Identifier: Apache-2.0 */
/* Which mount a file is on, from /proc/self/mountinfo by mount id (statx
 * STATX_MNT_ID): its source device, mount point, type and superblock
 * options. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "btrfs-internal.h"
#include "util/macro.h"

void btrfs_mount_entry_done(struct btrfs_mount_entry *m)
{
	free(m->source);
	free(m->target);
	free(m->fstype);
	free(m->superopts);
	*m = (struct btrfs_mount_entry){ 0 };
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p;) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
}

/* The mountinfo line of the mount `fd` is on (statx STATX_MNT_ID). */
int btrfs_mount_of_fd(int fd, struct btrfs_mount_entry *ret)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
		return negative_errno();
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;

	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return negative_errno();
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long id;
		if (sscanf(line, "%llu", &id) != 1 || id != stx.stx_mnt_id)
			continue;
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *save = NULL, *tok, *fields[5] = { 0 };
		int n = 0;
		for (tok = strtok_r(line, " \n", &save); tok && n < 5; tok = strtok_r(NULL, " \n", &save))
			fields[n++] = tok;
		if (n < 5)
			return -EBADMSG;
		char *target = fields[4];
		while ((tok = strtok_r(NULL, " \n", &save)) && strcmp(tok, "-") != 0)
			;
		char *fstype = strtok_r(NULL, " \n", &save);
		char *source = strtok_r(NULL, " \n", &save);
		char *superopts = strtok_r(NULL, " \n", &save);
		if (!fstype || !source)
			return -EBADMSG;
		unescape(target);
		unescape(source);
		struct btrfs_mount_entry m = { strdup(source), strdup(target), strdup(fstype),
					 strdup(superopts ? superopts : "") };
		if (!m.source || !m.target || !m.fstype || !m.superopts) {
			btrfs_mount_entry_done(&m);
			return -ENOMEM;
		}
		*ret = m;
		return 0;
	}
	return -ENOENT;
}

int btrfs_mount_source(int fd, char **ret)
{
	struct btrfs_mount_entry m;
	int r = btrfs_mount_of_fd(fd, &m);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m.source);
	btrfs_mount_entry_done(&m);
	return 0;
}
