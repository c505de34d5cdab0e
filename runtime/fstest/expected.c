/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Expected differences: documented kernel semantics, each with its source.
 * docs/fstest.md lists the same table (same ids); a difference no rule
 * matches is unexpected.  Rules are as narrow as the semantic they
 * document: driver, backing filesystem, effective overlay options,
 * scenario, observation key and field.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "fstest.h"
#include "util/macro.h"

#define HARDLINK_SCENARIOS                                                                    \
	"link/pair-*|link/triple-copyup|ino/hardlinks-after-copyup|meta/hardlink-chown|"      \
	"persist/hardlink-lower-copyup"

const struct fst_rule fst_rules[] = {
	{ .id = "btrfs-dir-nlink", .field = "nlink", .type = "dir", .on_btrfs = true,
	  .reason = "btrfs reports nlink 1 for every directory: it does not count subdirectories "
		    "(fs/btrfs/inode.c; find(1) treats such directories as -noleaf)" },
	{ .id = "overlay-merged-dir-nlink", .driver = "overlay", .field = "nlink", .type = "dir",
	  .reason = "overlayfs reports nlink 1 for merged directories (fs/overlayfs/inode.c ovl_getattr: "
		    "counting subdirectories across layers is not worth it)" },
	{ .id = "overlay-hardlink-copyup", .driver = "overlay", .need_off = FST_FEAT_INDEX,
	  .scenario = HARDLINK_SCENARIOS,
	  .reason = "without index=on a copy-up of one lower hard link breaks the link: the other names keep "
		    "the lower inode, its data and nlink (Documentation/filesystems/overlayfs.rst, Index)" },
	{ .id = "statfs-type", .field = "fstype",
	  .reason = "statfs answers for the filesystem mounted there: overlayfs (OVERLAYFS_SUPER_MAGIC) for overlay "
		    "snapshots, btrfs for the btrfs driver's subvolumes (man 2 statfs)" },
	{ .id = "overlay-unlinked-lower-fd", .driver = "overlay", .scenario = "unlink/open-then-unlink",
	  .key = "step * fstat fd*", .field = "nlink",
	  .reason = "an fd opened on a lower file keeps the lower inode, which unlink in the overlay leaves in place "
		    "(a whiteout hides the name), so fstat still says nlink 1 (overlayfs.rst, Non-standard behavior)" },
	{ 0 },
};
const size_t fst_n_rules = ELEMENTSOF(fst_rules) - 1;

/* Does s match one of the '|'-separated fnmatch patterns (any when NULL)? */
static bool glob_any(const char *patterns, const char *s)
{
	if (!patterns)
		return true;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", patterns);
	for (char *save = NULL, *p = strtok_r(buf, "|", &save); p; p = strtok_r(NULL, "|", &save))
		if (fnmatch(p, s, 0) == 0)
			return true;
	return false;
}

/* Is the configuration's tree on btrfs (the btrfs driver, or a btrfs backing
 * filesystem under a driver that keeps files as they are)? */
static bool on_btrfs(const struct fst_config *c)
{
	return strcmp(c->driver, "btrfs") == 0 || strcmp(c->backing->name, "btrfs") == 0;
}

const struct fst_rule *fst_rule_match(const struct fst_config *c, const struct fst_diff *d)
{
	unsigned feat = fst_config_features(c);
	for (size_t i = 0; i < fst_n_rules; i++) {
		const struct fst_rule *r = &fst_rules[i];
		if (r->driver && strcmp(r->driver, c->driver) != 0)
			continue;
		if (r->backing && strcmp(r->backing, c->backing->name) != 0)
			continue;
		if ((feat & r->need_on) != r->need_on || (feat & r->need_off) != 0)
			continue;
		if (r->on_btrfs && !on_btrfs(c))
			continue;
		if (!glob_any(r->scenario, d->scenario) || !glob_any(r->key, d->key) || !glob_any(r->field, d->field))
			continue;
		if (r->type && strcmp(r->type, d->type) != 0)
			continue;
		return r;
	}
	return NULL;
}
