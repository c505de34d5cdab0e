/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compare every configuration with its reference, field by field.
 *
 * The reference of a configuration is the vfs driver (plain copies: what
 * POSIX says a process sees) on the same backing filesystem, so that what
 * the backing filesystem itself does (btrfs reports nlink 1 for
 * directories) shows once, in vfs-on-X against vfs-on-the-first-backing,
 * and what a driver or overlay feature does shows against plain copies on
 * the same filesystem.  Without vfs in the matrix the first configuration
 * that ran is the reference.
 *
 * A difference matched by a rule of expected.c is expected; any other is
 * unexpected and makes fstest exit 1.  Metadata-only scenarios on a
 * metacopy overlay must also leave no data in the upper dir ("store").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fstest.h"
#include "util/macro.h"

unsigned fst_config_features(const struct fst_config *c)
{
	static const struct {
		const char *opt;
		unsigned bit;
	} map[] = {
		{ "index=on", FST_FEAT_INDEX },     { "metacopy=on", FST_FEAT_METACOPY },
		{ "redirect_dir=on", FST_FEAT_REDIRECT }, { "xino=on", FST_FEAT_XINO },
		{ "nfs_export=on", FST_FEAT_NFS_EXPORT }, { "userxattr", FST_FEAT_USERXATTR },
		{ "volatile", FST_FEAT_VOLATILE },
	};
	unsigned f = 0;
	const char *opts = strchr(c->effective, ' ');
	if (!opts)
		return 0;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", opts + 1);
	for (char *save = NULL, *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < ELEMENTSOF(map); i++)
			if (strcmp(o, map[i].opt) == 0)
				f |= map[i].bit;
	return f;
}

static ssize_t find_ref(const struct fst_run *run, size_t ci)
{
	const struct fst_config *c = &run->configs[ci];
	ssize_t first_vfs = -1, same = -1, first_done = -1;
	for (size_t i = 0; i < run->n_configs; i++) {
		const struct fst_config *r = &run->configs[i];
		if (r->status != FST_DONE)
			continue;
		if (first_done < 0)
			first_done = (ssize_t)i;
		if (strcmp(r->driver, "vfs") != 0)
			continue;
		if (first_vfs < 0)
			first_vfs = (ssize_t)i;
		if (same < 0 && r->backing == c->backing)
			same = (ssize_t)i;
	}
	ssize_t ref = strcmp(c->driver, "vfs") == 0 ? first_vfs : same >= 0 ? same : first_vfs >= 0 ? first_vfs : first_done;
	return ref == (ssize_t)ci ? -1 : ref;
}

/* Field `name` of a value "a=1 b=2": its text into buf, false if absent. */
static bool field_get(const char *value, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);
	for (const char *p = value; p && *p;) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			const char *v = p + n + 1, *e = strchr(v, ' ');
			size_t vl = e ? (size_t)(e - v) : strlen(v);
			snprintf(buf, len, "%.*s", (int)vl, v);
			return true;
		}
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return false;
}

static int diff_add(struct fst_run *run, size_t ci, const struct fst_obs *o, const char *field, const char *ref,
		    const char *got, const char *ref_full, const char *got_full)
{
	if (run->n_diffs == run->cap_diffs) {
		size_t cap = run->cap_diffs ? run->cap_diffs * 2 : 256;
		struct fst_diff *v = realloc(run->diffs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		run->diffs = v;
		run->cap_diffs = cap;
	}
	struct fst_diff *d = &run->diffs[run->n_diffs];
	*d = (struct fst_diff){ .config = ci, .scenario = o->scenario, .key = o->key };
	snprintf(d->field, sizeof(d->field), "%s", field);
	char type[16];
	if (field_get(got_full, "type", type, sizeof(type)) || field_get(ref_full, "type", type, sizeof(type)))
		snprintf(d->type, sizeof(d->type), "%s", type);
	d->ref_value = strdup(ref);
	d->value = strdup(got);
	if (!d->ref_value || !d->value) {
		free(d->ref_value);
		free(d->value);
		return -ENOMEM;
	}
	struct fst_config *c = &run->configs[ci];
	d->rule = fst_rule_match(c, d);
	if (d->rule)
		c->n_expected++;
	else
		c->n_unexpected++;
	run->n_diffs++;
	return 0;
}

/* The field names of a value, in order. */
static size_t field_names(const char *value, char names[][32], size_t max)
{
	size_t n = 0;
	for (const char *p = value; p && *p && n < max;) {
		const char *eq = strchr(p, '='), *sp = strchr(p, ' ');
		if (eq && (!sp || eq < sp)) {
			snprintf(names[n], 32, "%.*s", (int)(eq - p), p);
			n++;
		}
		p = sp ? sp + 1 : NULL;
	}
	return n;
}

static int compare_values(struct fst_run *run, size_t ci, const struct fst_obs *o, const char *ref, const char *got)
{
	char names[64][32];
	size_t n = field_names(ref, names, 32);
	n += field_names(got, names + n, 32);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= strcmp(names[i], names[j]) == 0;
		if (dup)
			continue;
		char a[4096], b[4096];
		bool ha = field_get(ref, names[i], a, sizeof(a)), hb = field_get(got, names[i], b, sizeof(b));
		if (!ha)
			snprintf(a, sizeof(a), "-");
		if (!hb)
			snprintf(b, sizeof(b), "-");
		if (strcmp(a, b) != 0) {
			int r = diff_add(run, ci, o, names[i], a, b, ref, got);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int obs_cmp(const struct fst_obs *x, const struct fst_obs *y)
{
	int c = strcmp(x->scenario, y->scenario);
	return c ? c : strcmp(x->key, y->key);
}

static bool scenario_meta_only(const struct fst_run *run, const char *name)
{
	for (size_t i = 0; i < run->n_sc; i++)
		if (strcmp(run->sc[i]->name, name) == 0)
			return run->sc[i]->meta_only;
	return false;
}

static bool compared(const struct fst_obs *o)
{
	return strcmp(o->scenario, "#") != 0 && strncmp(o->key, "store ", 6) != 0;
}

static int compare_one(struct fst_run *run, size_t ci)
{
	struct fst_config *c = &run->configs[ci];
	const struct fst_obs_list *R = &run->configs[c->ref].obs, *G = &c->obs;
	size_t i = 0, j = 0;
	int r = 0;
	while (r == 0 && (i < R->n || j < G->n)) {
		if (i < R->n && !compared(&R->v[i])) {
			i++;
			continue;
		}
		if (j < G->n && !compared(&G->v[j])) {
			j++;
			continue;
		}
		int k = i >= R->n ? 1 : j >= G->n ? -1 : obs_cmp(&R->v[i], &G->v[j]);
		if (k == 0)
			r = compare_values(run, ci, &G->v[j], R->v[i].value, G->v[j].value), i++, j++;
		else if (k < 0)
			r = diff_add(run, ci, &R->v[i], "exists", "yes", "no", R->v[i].value, ""), i++;
		else
			r = diff_add(run, ci, &G->v[j], "exists", "no", "yes", "", G->v[j].value), j++;
	}
	/* metacopy: metadata-only changes copy no data up. */
	for (size_t k = 0; r == 0 && k < G->n; k++)
		if (!strncmp(G->v[k].key, "store ", 6) && !strcmp(G->v[k].value, "data=copied") &&
		    scenario_meta_only(run, G->v[k].scenario))
			r = diff_add(run, ci, &G->v[k], "store", "metacopy", "copied", "", G->v[k].value);
	return r;
}

static bool obs_has(const struct fst_obs_list *l, const char *scenario, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].scenario, scenario) == 0 && strcmp(l->v[i].key, key) == 0)
			return true;
	return false;
}

/* What a scenario's committed layer must hold (fst_scenario.layer), on
 * every configuration: a missing entry is unexpected even on the reference. */
static int check_layer(struct fst_run *run, size_t ci)
{
	const struct fst_obs_list *G = &run->configs[ci].obs;
	for (size_t i = 0; i < run->n_sc; i++)
		for (const char *const *k = run->sc[i]->layer; k && *k; k++)
			if (!obs_has(G, run->sc[i]->name, *k)) {
				struct fst_obs o = { .scenario = (char *)run->sc[i]->name, .key = (char *)*k };
				int r = diff_add(run, ci, &o, "layer", "yes", "no", "", "");
				if (r < 0)
					return r;
			}
	return 0;
}

int fst_compare(struct fst_run *run)
{
	for (size_t i = 0; i < run->n_configs; i++) {
		struct fst_config *c = &run->configs[i];
		if (c->status != FST_DONE)
			continue;
		int r = check_layer(run, i);
		if (r < 0)
			return r;
		c->ref = find_ref(run, i);
		if (c->ref < 0)
			continue;
		r = compare_one(run, i);
		if (r < 0)
			return r;
	}
	return 0;
}
