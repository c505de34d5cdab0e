/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The matrix: drivers x overlay feature sets x backing filesystems x mount
 * paths.  Feature sets are labels of the snapshot the scenarios run in
 * (drivers/overlay/overlay.c create_opts); the mount path only exists for
 * the overlay driver (the others mount through libmount), and the legacy
 * one is forced by a seccomp filter in the configuration's process (run.c),
 * the way a kernel without the new mount API answers.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fstest.h"
#include "util/macro.h"

const struct fst_family *const fst_families[] = {
	&fst_family_open, &fst_family_link, &fst_family_rename, &fst_family_unlink,
	&fst_family_meta, &fst_family_ino,  &fst_family_persist,
};
const size_t fst_n_families = ELEMENTSOF(fst_families);

#define PLAIN "snapctl.overlay.metacopy=off", "snapctl.overlay.redirect_dir=off"

const struct fst_fset fst_fsets[] = {
	{ "default", "the driver's defaults: redirect_dir=on, metacopy=on where the kernel has them, index=off", { NULL } },
	{ "plain", "every optional feature off (index=off, redirect_dir=off, metacopy=off)", { PLAIN, NULL } },
	{ "index", "index=on", { PLAIN, "snapctl.overlay.index=on", NULL } },
	{ "redirect_dir", "redirect_dir=on", { "snapctl.overlay.metacopy=off", "snapctl.overlay.redirect_dir=on", NULL } },
	{ "metacopy", "metacopy=on (with redirect_dir=on)", { "snapctl.overlay.metacopy=on", NULL } },
	{ "xino", "xino=on", { PLAIN, "snapctl.overlay.xino=on", NULL } },
	{ "userxattr", "userxattr (user.overlay.* xattrs)", { PLAIN, "snapctl.overlay.userxattr=on", NULL } },
	{ "volatile", "volatile (no syncs)", { PLAIN, "snapctl.volatile=true", NULL } },
	{ "nfs_export", "nfs_export=on (with index=on)", { PLAIN, "snapctl.overlay.nfs_export=on", NULL } },
	{ "index+metacopy", "index=on, metacopy=on", { "snapctl.overlay.metacopy=on", "snapctl.overlay.index=on", NULL } },
	{ "nfs_export+metacopy", "nfs_export=on with metacopy=on (the kernel refuses the pair)",
	  { "snapctl.overlay.metacopy=on", "snapctl.overlay.nfs_export=on", NULL } },
};
const size_t fst_n_fsets = ELEMENTSOF(fst_fsets);

static const char *const all_backings[] = { "ext4", "xfs", "btrfs", "tmpfs" };
static const char *const mkfs_of[] = { "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", NULL };

static bool listed(char *const *v, size_t n, const char *name)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

static int add_config(struct fst_run *run, size_t cap, const char *driver, const struct fst_fset *fs,
		      struct fst_backing *b, enum fst_api api)
{
	if (run->n_configs == cap)
		return -E2BIG;
	struct fst_config *c = &run->configs[run->n_configs];
	*c = (struct fst_config){ .fset = fs, .backing = b, .api = api, .ref = -1, .pid = -1 };
	c->driver = strdup(driver);
	if (!c->driver)
		return -ENOMEM;
	snprintf(c->name, sizeof(c->name), "%s%s%s/%s%s", driver, fs ? "/" : "", fs ? fs->name : "", b->name,
		 api == FST_API_LEGACY ? "/mount2" : api == FST_API_NEW ? "/fsopen" : "");
	if (asprintf(&c->root, "%s/c%zu", b->mnt, run->n_configs) < 0 ||
	    asprintf(&c->obs_path, "%s/c%zu.obs", run->work, run->n_configs) < 0)
		return -ENOMEM;
	run->n_configs++;
	return 0;
}

int fst_matrix_build(struct fst_run *run, struct snap_error *err)
{
	const struct fst_options *o = &run->opt;
	/* --quick: one backing filesystem, the default feature set, the new
	 * mount API. */
	static char *quick_backing[] = { "ext4" };
	static char *quick_fset[] = { "default" };
	static char *quick_api[] = { "fsopen" };
	char *const *bv = o->quick && !o->n_backings ? quick_backing : o->backings;
	size_t bn = o->quick && !o->n_backings ? 1 : o->n_backings;
	char *const *fv = o->quick && !o->n_fsets ? quick_fset : o->fsets;
	size_t fn = o->quick && !o->n_fsets ? 1 : o->n_fsets;
	char *const *av = o->quick && !o->n_apis ? quick_api : o->apis;
	size_t an = o->quick && !o->n_apis ? 1 : o->n_apis;

	for (size_t i = 0; i < bn; i++)
		if (!listed((char *const *)all_backings, ELEMENTSOF(all_backings), bv[i]))
			return snap_error_set(err, -EINVAL, "unknown backing filesystem '%s' (ext4, xfs, btrfs, tmpfs)", bv[i]);
	for (size_t i = 0; i < fn; i++) {
		bool found = false;
		for (size_t j = 0; j < fst_n_fsets; j++)
			found |= strcmp(fst_fsets[j].name, fv[i]) == 0;
		if (!found)
			return snap_error_set(err, -EINVAL, "unknown feature set '%s' (see --list)", fv[i]);
	}
	for (size_t i = 0; i < an; i++)
		if (strcmp(av[i], "fsopen") != 0 && strcmp(av[i], "mount2") != 0)
			return snap_error_set(err, -EINVAL, "unknown mount path '%s' (fsopen, mount2)", av[i]);

	run->backings = calloc(ELEMENTSOF(all_backings), sizeof(*run->backings));
	if (!run->backings)
		return snap_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < ELEMENTSOF(all_backings); i++) {
		if (!listed(bv, bn, all_backings[i]))
			continue;
		struct fst_backing *b = &run->backings[run->n_backings++];
		b->name = all_backings[i];
		b->mkfs = mkfs_of[i];
		if (asprintf(&b->mnt, "%s/bk-%s", run->work, b->name) < 0 ||
		    (b->mkfs && asprintf(&b->image, "%s/%s.img", run->work, b->name) < 0))
			return snap_error_set(err, -ENOMEM, "out of memory");
	}

	size_t cap = run->n_backings * (o->n_drivers * fst_n_fsets * 2 + 1);
	run->configs = calloc(cap ? cap : 1, sizeof(*run->configs));
	if (!run->configs)
		return snap_error_set(err, -ENOMEM, "out of memory");
	/* vfs first on every backing: the reference of that backing. */
	for (size_t i = 0; i < run->n_backings; i++) {
		struct fst_backing *b = &run->backings[i];
		for (size_t d = 0; d < o->n_drivers; d++) {
			const char *drv = o->drivers[d];
			int r = 0;
			if (strcmp(drv, "overlay") != 0) {
				r = add_config(run, cap, drv, NULL, b, FST_API_NONE);
			} else {
				for (size_t f = 0; r == 0 && f < fst_n_fsets; f++) {
					if (!listed(fv, fn, fst_fsets[f].name))
						continue;
					if (listed(av, an, "fsopen"))
						r = add_config(run, cap, drv, &fst_fsets[f], b, FST_API_NEW);
					if (r == 0 && listed(av, an, "mount2"))
						r = add_config(run, cap, drv, &fst_fsets[f], b, FST_API_LEGACY);
				}
			}
			if (r < 0)
				return snap_error_set(err, r, "matrix: %s", strerror(-r));
		}
	}
	return 0;
}

void fst_config_done(struct fst_config *c)
{
	free(c->driver);
	free(c->root);
	free(c->obs_path);
	fst_obs_list_done(&c->obs);
}

int fst_select_scenarios(struct fst_run *run)
{
	size_t total = 0;
	for (size_t f = 0; f < fst_n_families; f++)
		total += fst_families[f]->n;
	run->sc = calloc(total ? total : 1, sizeof(*run->sc));
	if (!run->sc)
		return -ENOMEM;
	for (size_t f = 0; f < fst_n_families; f++)
		for (size_t i = 0; i < fst_families[f]->n; i++) {
			const struct fst_scenario *s = &fst_families[f]->v[i];
			if (!run->opt.scenario_glob || fnmatch(run->opt.scenario_glob, s->name, 0) == 0)
				run->sc[run->n_sc++] = s;
		}
	return 0;
}
