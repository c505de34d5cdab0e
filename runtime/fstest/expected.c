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

#define DIR_RENAME_SCENARIOS                                                                  \
	"rename/empty-lower-dir|rename/populated-*|rename/dir-into-new-dir|rename/over-empty-dir|"     \
	"rename/over-populated-dir|rename/exchange-dir-file|rename/dir-over-deleted|persist/renamed-dir*"

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
	{ .id = "overlay-unlinked-lower-fd", .driver = "overlay", .scenario = "unlink/open-then-unlink|ino/deleted-recreated",
	  .key = "step * fstat fd*", .field = "nlink",
	  .reason = "an fd opened on a lower file keeps the lower inode, which unlink in the overlay leaves in place "
		    "(a whiteout hides the name), so fstat still says nlink 1 (overlayfs.rst, Non-standard behavior)" },
	{ .id = "rename-notempty-errno", .scenario = "rename/over-populated-dir", .field = "ret",
	  .reason = "rename(2) over a non-empty directory may fail ENOTEMPTY or EEXIST (POSIX allows both): xfs "
		    "says EEXIST, ext4, btrfs, tmpfs and overlayfs (which checks emptiness itself) ENOTEMPTY" },
	/* Not "diff *": the layer writer leaves the SGI names out (finding 5),
	 * so an xfs layer holding them is unexpected. */
	{ .id = "xfs-acl-xattrs", .backing = "xfs", .scenario = "meta/acl-*", .field = "xattr",
	  .key = "step *|live *|remount *|view *",
	  .reason = "xfs also lists its ACLs as trusted.SGI_ACL_FILE / trusted.SGI_ACL_DEFAULT to CAP_SYS_ADMIN "
		    "(fs/xfs/xfs_xattr.c); the committed layer keeps only the portable system.posix_acl_* names" },
	{ .id = "overlay-dir-rename-exdev", .driver = "overlay", .need_off = FST_FEAT_REDIRECT, .scenario = DIR_RENAME_SCENARIOS,
	  .reason = "without redirect_dir=on, rename(2) of a lower or merged directory fails EXDEV (the caller "
		    "copies; mv(1) does) and the tree stays as it was (overlayfs.rst, Renaming directories)" },
	{ .id = "overlay-index-commit-hardlink", .driver = "overlay", .need_on = FST_FEAT_INDEX,
	  .scenario = HARDLINK_SCENARIOS, .key = "view *|diff *", .known_issue = true,
	  .reason = "index=on keeps a written lower hard link's other names intact while mounted, but they live "
		    "in work/index, not in the upper dir: the commit (a view of it, the layer) shows the other names "
		    "with the old lower data (snapctl overlay driver; docs/fstest.md, findings)" },
	{ .id = "overlay-nfs-export-nlink", .driver = "overlay", .need_on = FST_FEAT_NFS_EXPORT, .field = "nlink",
	  .key = "remount *|view *", .known_issue = true,
	  .reason = "nfs_export=on indexes every copy-up: the upper file gets a second link in work/index, and "
		    "after a remount (and in a view of the commit) st_nlink says 2 for a file that has one name "
		    "(fs/overlayfs/copy_up.c, ovl_get_nlink falls back to the real nlink; docs/fstest.md, findings)" },
	{ .id = "overlay-userxattr-symlink-ino", .driver = "overlay", .need_on = FST_FEAT_USERXATTR,
	  .scenario = "link/symlink", .field = "ino", .known_issue = true,
	  .reason = "with userxattr no origin can be recorded on a copied-up symlink (user.* xattrs are refused on "
		    "symlinks), so its names report different st_ino after a link(2) (docs/fstest.md, findings)" },
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
