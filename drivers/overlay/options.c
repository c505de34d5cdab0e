/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What to mount for a snapshot, and the mount list in the classic form that
 * containerd's mount code accepts: type "overlay", source "overlay", options
 * "index=off", ..., "workdir=W", "upperdir=U", "lowerdir=L1:L2:..." with
 * absolute paths, nearest parent first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "ovl-internal.h"

void ovl_spec_done(struct ovl_spec *spec)
{
	free(spec->bind_src);
	for (size_t i = 0; i < spec->n_lowers; i++)
		free(spec->lowers[i]);
	free(spec->lowers);
	free(spec->upper);
	free(spec->work);
	free(spec->idmap);
	free(spec->uidmap);
	free(spec->gidmap);
	*spec = (struct ovl_spec){ 0 };
}

char *ovl_escape(const char *path)
{
	size_t n = 0;
	for (const char *p = path; *p; p++)
		n += (*p == ',' || *p == ':' || *p == '\\') ? 2 : 1;
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	char *o = out;
	for (const char *p = path; *p; p++) {
		if (*p == ',' || *p == ':' || *p == '\\')
			*o++ = '\\';
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static const struct {
	unsigned bit;
	const char *word;
} opt_words[] = {
	{ OVL_OPT_REDIRECT, "redirect_dir" },
	{ OVL_OPT_METACOPY, "metacopy" },
	{ OVL_OPT_VOLATILE, "volatile" },
	{ OVL_OPT_USERXATTR, "userxattr" },
	{ OVL_OPT_INDEX, "index" },
	{ OVL_OPT_XINO, "xino" },
	{ OVL_OPT_NFS_EXPORT, "nfs_export" },
};

int ovl_opts_read(const char *snap_path, unsigned *ret)
{
	_cleanup_close_ int dfd = open(snap_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negative_errno();
	_cleanup_free_ char *buf = NULL;
	int r = snap_read_file_at(dfd, OVL_OPTS_FILE, 256, &buf, NULL);
	if (r == -ENOENT) {
		/* Written only when a snapshot has options: none. */
		*ret = 0;
		return 0;
	}
	if (r < 0)
		return r;
	unsigned opts = 0;
	for (char *save = NULL, *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
		bool known = false;
		for (size_t i = 0; i < ELEMENTSOF(opt_words); i++)
			if (strcmp(w, opt_words[i].word) == 0) {
				opts |= opt_words[i].bit;
				known = true;
			}
		if (!known)
			return -EINVAL;
	}
	*ret = opts;
	return 0;
}

int ovl_opts_write(const char *snap_path, unsigned opts)
{
	char buf[256] = "";
	for (size_t i = 0; i < ELEMENTSOF(opt_words); i++)
		if (opts & opt_words[i].bit) {
			strcat(buf, opt_words[i].word);
			strcat(buf, "\n");
		}
	_cleanup_close_ int dfd = open(snap_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negative_errno();
	/* No fsync: the file is written before the core commits the snapshot's
	 * row, and a snapshot whose row never committed is garbage anyway. */
	_cleanup_close_ int fd = openat(dfd, OVL_OPTS_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return negative_errno();
	return snap_write_all(fd, buf, strlen(buf));
}

/* Features the lower layers need followed: metacopy files and redirected
 * dirs in any parent require metacopy=on / redirect following on every mount
 * above them (the kernel refuses to follow a metacopy origin otherwise).
 * Every snapshot's options include those of its parents (create_opts), so
 * the nearest parent's tell for the whole chain. */
unsigned ovl_opts_chain(const struct snap_chain *parents)
{
	unsigned o = 0;
	if (parents->n > 0 && ovl_opts_read(parents->refs[0].path, &o) < 0)
		o = 0;
	return o & (OVL_OPT_REDIRECT | OVL_OPT_METACOPY | OVL_OPT_USERXATTR);
}

static int spec_add_lowers(struct ovl_spec *spec, const struct snap_chain *parents)
{
	spec->lowers = calloc(parents->n ? parents->n : 1, sizeof(char *));
	if (!spec->lowers)
		return -ENOMEM;
	for (size_t i = 0; i < parents->n; i++) {
		spec->lowers[i] = ovl_join(parents->refs[i].path, "fs");
		if (!spec->lowers[i])
			return -ENOMEM;
		spec->n_lowers++;
	}
	return 0;
}

/* The snapshot's id mapping, when its labels ask for one. */
static int spec_idmap(struct ovl_spec *spec, const struct snap_ref *snap, struct snap_error *err)
{
	struct snap_idmap *m = malloc(sizeof(*m));
	if (!m)
		return snap_error_set(err, -ENOMEM, "mounts of snapshot '%s': out of memory", snap->key);
	int r = snap_idmap_from_labels(snap->labels, snap->n_labels, m, err);
	if (r <= 0) {
		free(m);
		return r < 0 ? snap_error_prefix(err, "mounts of snapshot '%s'", snap->key) : 0;
	}
	spec->idmap = m;
	spec->uidmap = strdup(snap_ref_label(snap, SNAP_LABEL_UIDMAPPING));
	spec->gidmap = strdup(snap_ref_label(snap, SNAP_LABEL_GIDMAPPING));
	if (!spec->uidmap || !spec->gidmap)
		return snap_error_set(err, -ENOMEM, "mounts of snapshot '%s': out of memory", snap->key);
	return 0;
}

static int spec_build(struct ovl_state *st, const struct snap_ref *snap, const struct snap_chain *parents,
		      struct ovl_spec *ret, struct snap_error *err);

int ovl_spec_build(struct ovl_state *st, const struct snap_ref *snap,
		   const struct snap_chain *parents, struct ovl_spec *ret, struct snap_error *err)
{
	struct ovl_spec spec;
	int r = spec_build(st, snap, parents, &spec, err);
	if (r < 0)
		return r;
	r = spec_idmap(&spec, snap, err);
	if (r < 0) {
		ovl_spec_done(&spec);
		return r;
	}
	*ret = spec;
	return 0;
}

static int spec_build(struct ovl_state *st, const struct snap_ref *snap, const struct snap_chain *parents,
		      struct ovl_spec *ret, struct snap_error *err)
{
	struct ovl_spec spec = { 0 };
	int r = 0;
	bool rdonly = snap->kind != SNAP_KIND_ACTIVE;

	if (parents->n == 0 || (rdonly && parents->n == 1)) {
		/* No layer below: the snapshot's own tree, bound.  A view of one
		 * parent without grandparents is that parent's tree, read-only
		 * (its upper dir has nothing to merge with). */
		spec.type = OVL_SPEC_BIND;
		spec.rdonly = rdonly;
		spec.bind_src = ovl_join(parents->n ? parents->refs[0].path : snap->path, "fs");
		if (!spec.bind_src)
			return snap_error_set(err, -ENOMEM, "mounts of snapshot '%s': out of memory", snap->key);
		*ret = spec;
		return 0;
	}

	const struct ovl_features *f = ovl_features_get(st);
	spec.type = OVL_SPEC_OVERLAY;
	spec.rdonly = rdonly;
	spec.index_off = f->index;
	r = spec_add_lowers(&spec, parents);
	if (r < 0) {
		ovl_spec_done(&spec);
		return snap_error_set(err, r, "mounts of snapshot '%s': out of memory", snap->key);
	}
	spec.opts = ovl_opts_chain(parents);
	if (!rdonly) {
		unsigned own = 0;
		r = ovl_opts_read(snap->path, &own);
		if (r < 0) {
			ovl_spec_done(&spec);
			return snap_error_set(err, r, "mounts of snapshot '%s': read %s/%s: %s", snap->key,
					      snap->path, OVL_OPTS_FILE, strerror(-r));
		}
		spec.opts |= own;
		spec.upper = ovl_join(snap->path, "fs");
		spec.work = ovl_join(snap->path, "work");
		if (!spec.upper || !spec.work) {
			ovl_spec_done(&spec);
			return snap_error_set(err, -ENOMEM, "mounts of snapshot '%s': out of memory", snap->key);
		}
	}
	*ret = spec;
	return 0;
}

int ovl_spec_view(struct ovl_state *st, const char *const *layers, size_t n, unsigned opts,
		  struct ovl_spec *ret)
{
	struct ovl_spec spec = { .type = OVL_SPEC_OVERLAY, .rdonly = true };
	spec.index_off = ovl_features_get(st)->index;
	spec.opts = opts & (OVL_OPT_REDIRECT | OVL_OPT_METACOPY | OVL_OPT_USERXATTR);
	spec.lowers = calloc(n ? n : 1, sizeof(char *));
	if (!spec.lowers)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		spec.lowers[i] = strdup(layers[i]);
		if (!spec.lowers[i]) {
			ovl_spec_done(&spec);
			return -ENOMEM;
		}
		spec.n_lowers++;
	}
	*ret = spec;
	return 0;
}

static void strv_freep(char ***v)
{
	if (*v)
		for (char **p = *v; *p; p++)
			free(*p);
	free(*v);
}

size_t ovl_spec_options(const struct ovl_spec *spec, struct ovl_option out[OVL_MAX_OPTIONS])
{
	size_t n = 0;
	bool upper = spec->upper != NULL;
	if (spec->opts & (OVL_OPT_INDEX | OVL_OPT_NFS_EXPORT))
		out[n++] = (struct ovl_option){ "index", "on" };
	else if (spec->index_off)
		out[n++] = (struct ovl_option){ "index", "off" };
	if (spec->opts & OVL_OPT_USERXATTR)
		out[n++] = (struct ovl_option){ "userxattr", NULL };
	if (spec->opts & (OVL_OPT_REDIRECT | OVL_OPT_METACOPY))
		/* metacopy=on needs redirect_dir=on; "follow" suffices where
		 * nothing is copied up (no upper dir). */
		out[n++] = (struct ovl_option){ "redirect_dir", upper ? "on" : "follow" };
	if (spec->opts & OVL_OPT_METACOPY)
		out[n++] = (struct ovl_option){ "metacopy", "on" };
	if ((spec->opts & OVL_OPT_VOLATILE) && upper)
		out[n++] = (struct ovl_option){ "volatile", NULL };
	if (spec->opts & OVL_OPT_XINO)
		out[n++] = (struct ovl_option){ "xino", "on" };
	if ((spec->opts & OVL_OPT_NFS_EXPORT) && upper)
		out[n++] = (struct ovl_option){ "nfs_export", "on" };
	return n;
}

int ovl_spec_emit(const struct ovl_spec *spec, struct snap_mount_list *out, struct snap_error *err)
{
	/* containerd 2.x's form of an idmapped mount: uidmap=/gidmap=
	 * options, which its mount code turns into idmapped lowers (overlay)
	 * or an idmapped bind. */
	_cleanup_free_ char *um = NULL, *gm = NULL;
	if (spec->idmap) {
		if (asprintf(&um, "uidmap=%s", spec->uidmap) < 0)
			um = NULL;
		if (asprintf(&gm, "gidmap=%s", spec->gidmap) < 0)
			gm = NULL;
		if (!um || !gm)
			return snap_error_set(err, -ENOMEM, "mount list: out of memory");
	}
	if (spec->type == OVL_SPEC_BIND) {
		const char *options[] = { spec->rdonly ? "ro" : "rw", "rbind", um, gm };
		int r = out->add(out, "bind", spec->bind_src, options, spec->idmap ? 4 : 2);
		return r < 0 ? snap_error_set(err, r, "mount list: add bind of %s: %s", spec->bind_src, strerror(-r)) : 0;
	}

	/* The feature options, uidmap, gidmap, workdir, upperdir, lowerdir. */
	_cleanup_(strv_freep) char **o = calloc(OVL_MAX_OPTIONS + 6, sizeof(char *));
	if (!o)
		return snap_error_set(err, -ENOMEM, "mount list: out of memory");
	struct ovl_option feats[OVL_MAX_OPTIONS];
	size_t n = 0, n_feats = ovl_spec_options(spec, feats);
	for (size_t i = 0; i < n_feats; i++) {
		if (asprintf(&o[n], "%s%s%s", feats[i].key, feats[i].value ? "=" : "",
			     feats[i].value ? feats[i].value : "") < 0) {
			o[n] = NULL;
			return snap_error_set(err, -ENOMEM, "mount list: out of memory");
		}
		n++;
	}
	if (spec->idmap) {
		o[n++] = TAKE_PTR(um);
		o[n++] = TAKE_PTR(gm);
	}
	if (spec->upper) {
		_cleanup_free_ char *w = ovl_escape(spec->work);
		_cleanup_free_ char *u = ovl_escape(spec->upper);
		if (!w || !u || asprintf(&o[n++], "workdir=%s", w) < 0 ||
		    asprintf(&o[n++], "upperdir=%s", u) < 0)
			return snap_error_set(err, -ENOMEM, "mount list: out of memory");
	}
	size_t len = strlen("lowerdir=") + 1;
	_cleanup_(strv_freep) char **esc = calloc(spec->n_lowers + 1, sizeof(char *));
	if (!esc)
		return snap_error_set(err, -ENOMEM, "mount list: out of memory");
	for (size_t i = 0; i < spec->n_lowers; i++) {
		esc[i] = ovl_escape(spec->lowers[i]);
		if (!esc[i])
			return snap_error_set(err, -ENOMEM, "mount list: out of memory");
		len += strlen(esc[i]) + 1;
	}
	char *l = malloc(len);
	if (!l)
		return snap_error_set(err, -ENOMEM, "mount list: out of memory");
	char *p = stpcpy(l, "lowerdir=");
	for (size_t i = 0; i < spec->n_lowers; i++) {
		if (i)
			*p++ = ':';
		p = stpcpy(p, esc[i]);
	}
	o[n++] = l;
	int r = out->add(out, "overlay", "overlay", (const char *const *)o, n);
	return r < 0 ? snap_error_set(err, r, "mount list: add overlay: %s", strerror(-r)) : 0;
}
