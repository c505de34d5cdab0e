/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the overlay driver, shared between its files. */
#ifndef SNAP_OVL_INTERNAL_H
#define SNAP_OVL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <snapctl/driver.h>

#include "util/idmap.h"

/* Kernel features, probed once per opened driver (probe.c). */
struct ovl_features {
	bool new_api;       /* fsopen("overlay") works */
	bool lowerdir_plus; /* fsconfig "lowerdir+": one layer per call, no page limit */
	bool userxattr;     /* the "userxattr" option is known */
	bool need_userxattr; /* trusted.* xattrs cannot be set here: run in userxattr mode */
	bool metacopy;
	bool redirect_dir;
	bool index;
	bool volatile_;
	bool nfs_export;
	bool xino;          /* xino=on is taken without falling back (needs inode numbers to spare) */
	bool idmap;         /* a layer directory can be idmapped (open_tree + mount_setattr) */
};

struct ovl_state {
	char *root;     /* ROOT, absolute */
	int rootfd;     /* O_PATH of ROOT */
	pthread_mutex_t lock; /* guards the one-time probe */
	bool probed;
	struct ovl_features feat;
	/* Set when the kernel turned down the new mount API once (fsopen
	 * missing, or no "lowerdir+"): later mounts go straight to mount(2). */
	bool legacy_only;
	/* Set when the kernel refused an idmapped upper layer once: later
	 * idmapped overlays map their lowers only. */
	bool idmap_upper_refused;
};

/* Per-snapshot overlay options, fixed when the snapshot is created and kept
 * in ROOT/snapshots/<id>/overlay.opts: a snapshot whose upper dir holds
 * metacopy or redirect xattrs can only ever be mounted with those features
 * on, whatever its labels say later. */
#define OVL_OPT_REDIRECT 0x1u
#define OVL_OPT_METACOPY 0x2u
#define OVL_OPT_VOLATILE 0x4u
#define OVL_OPT_USERXATTR 0x8u
#define OVL_OPT_INDEX 0x10u      /* index=on (else index=off where the kernel knows it) */
#define OVL_OPT_XINO 0x20u       /* xino=on */
#define OVL_OPT_NFS_EXPORT 0x40u /* nfs_export=on (implies index=on) */

#define OVL_OPTS_FILE "overlay.opts"
#define OVL_LABEL_VOLATILE "snapctl.volatile"
#define OVL_LABEL_METACOPY "snapctl.overlay.metacopy"
#define OVL_LABEL_REDIRECT "snapctl.overlay.redirect_dir"
#define OVL_LABEL_INDEX "snapctl.overlay.index"
#define OVL_LABEL_XINO "snapctl.overlay.xino"
#define OVL_LABEL_NFS_EXPORT "snapctl.overlay.nfs_export"
#define OVL_LABEL_USERXATTR "snapctl.overlay.userxattr"

/* What to mount for a snapshot (options.c). */
enum ovl_spec_type {
	OVL_SPEC_BIND = 1,    /* bind of `bind_src` */
	OVL_SPEC_OVERLAY = 2, /* overlay of lowers (+ upper/work) */
};

struct ovl_spec {
	int type;
	bool rdonly;
	char *bind_src;
	char **lowers; /* absolute, nearest first */
	size_t n_lowers;
	char *upper;   /* NULL for read-only overlays */
	char *work;
	unsigned opts; /* OVL_OPT_* */
	bool index_off;
	/* From the snapshot's uidmapping/gidmapping labels, NULL without:
	 * every layer is mounted idmapped (idmap.c).  The label values are
	 * kept verbatim for the mount list's uidmap=/gidmap= options. */
	struct snap_idmap *idmap;
	char *uidmap, *gidmap;
};

void ovl_spec_done(struct ovl_spec *spec);
int ovl_spec_build(struct ovl_state *st, const struct snap_ref *snap,
		   const struct snap_chain *parents, struct ovl_spec *ret, struct snap_error *err);
/* The read-only overlay of `n` layer dirs (nearest first) used by diff. */
int ovl_spec_view(struct ovl_state *st, const char *const *layers, size_t n, unsigned opts,
		  struct ovl_spec *ret);
int ovl_spec_emit(const struct ovl_spec *spec, struct snap_mount_list *out, struct snap_error *err);
/* The feature options of spec (everything but the directories), in the
 * order they are given to the kernel: key and value, NULL for a flag.  The
 * one list that the mount list, the new mount API and mount(2) all use. */
#define OVL_MAX_OPTIONS 8
struct ovl_option {
	const char *key;
	const char *value;
};
size_t ovl_spec_options(const struct ovl_spec *spec, struct ovl_option out[OVL_MAX_OPTIONS]);

int ovl_opts_read(const char *snap_path, unsigned *ret);
int ovl_opts_write(const char *snap_path, unsigned opts);
unsigned ovl_opts_chain(const struct snap_chain *parents);

/* Escape ',', ':' and '\' with a backslash, as overlayfs' option parser
 * expects in legacy option strings. */
char *ovl_escape(const char *path);

/* Mounting (mount.c).  Returns 0 or -errno with err set. */
int ovl_mount_spec(struct ovl_state *st, const struct ovl_spec *spec, const char *target,
		   struct snap_error *err);
/* A detached read-only mount of spec, as an fd usable with *at() calls; the
 * tree lives as long as the fd.  Returns the fd or -errno. */
int ovl_open_detached(struct ovl_state *st, const struct ovl_spec *spec, struct snap_error *err);
/* The overlay (or bind) of a spec with an idmap, detached: each layer an
 * idmapped clone (idmap.c).  Returns the mount fd or -errno. */
int ovl_idmapped_detached(struct ovl_state *st, const struct ovl_spec *spec, struct snap_error *err);
/* Layers handed over as fds (idmapped detached trees) instead of paths. */
struct ovl_layer_fds {
	const int *lowers; /* spec->n_lowers fds */
	int upper, work;   /* -EBADF without upper */
};
/* fsopen..fsmount of spec's overlay; layers from `fds` when non-NULL.
 * Returns the mount fd, or -errno with *fallback set when the legacy
 * mount(2) path should be tried. */
int ovl_overlay_new_api(const struct ovl_spec *spec, const struct ovl_layer_fds *fds, bool *fallback,
			struct snap_error *err);
/* Remove work/work/incompat/volatile left by an earlier volatile mount:
 * the kernel refuses to mount over it. */
int ovl_volatile_reset(const char *work);

/* Probes (probe.c). */
int ovl_probe_root(const char *root, struct snap_error *err);
const struct ovl_features *ovl_features_get(struct ovl_state *st);
int ovl_info(void *state, void (*emit)(void *ctx, const char *key, const char *value), void *ctx,
	     struct snap_error *err);

/* Whiteouts (whiteout.c). */
int ovl_apply_whiteout(void *state, int dirfd, const char *name, int kind, struct snap_error *err);
/* Is dirfd/name (already lstat'ed as *st) an overlay whiteout (device 0/0 or
 * the xattr form)? */
bool ovl_is_whiteout_at(int dirfd, const char *name, const struct stat *st);

/* Fast diff (diff.c). */
int ovl_diff(void *state, const struct snap_ref *snap, const struct snap_chain *parents,
	     struct snap_change_sink *sink, struct snap_error *err);

/* "a/b", newly allocated, or NULL: the snapshot's fs/ and work/, the
 * scratch dirs of the probes (every file of the driver uses it). */
static inline char *ovl_join(const char *a, const char *b)
{
	char *s;
	return asprintf(&s, "%s/%s", a, b) < 0 ? NULL : s;
}

#endif
