/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel feature probes, run once per opened driver on first need.
 *
 * Each feature is probed by creating a real overlay superblock over scratch
 * directories in ROOT/tmp with the option set: option parsing alone is not
 * enough, since the kernel accepts e.g. metacopy=on and then silently falls
 * back (with a warning in the fs context log) when the upper filesystem lacks
 * trusted xattrs.  With the new mount API no mount point is needed: the
 * superblock is created (FSCONFIG_CMD_CREATE) and dropped with the fd, and
 * warnings are read back from the fs context.  Without it, mount(2) and
 * umount on a scratch mount point.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "util/prjquota.h"
#include "util/userns.h"
#include "ovl-internal.h"

#define OVERLAYFS_MAGIC 0x794c7630

int ovl_probe_root(const char *root, struct snap_error *err)
{
	int fd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fd >= 0) {
		close(fd);
	} else if (errno == ENODEV) {
		return snap_error_set(err, -ENODEV, "overlay driver: the kernel has no overlay filesystem");
	} else if (errno == EPERM) {
		return snap_error_set(err, -EPERM, "overlay driver: mounting overlayfs needs CAP_SYS_ADMIN");
	} else {
		/* No new mount API: look the filesystem up by name. */
		_cleanup_free_ char *fs = NULL;
		int r = snap_read_file_at(AT_FDCWD, "/proc/filesystems", 1 << 16, &fs, NULL);
		if (r < 0)
			return snap_error_set(err, r, "overlay driver: read /proc/filesystems: %s", strerror(-r));
		if (!strstr(fs, "\toverlay\n"))
			return snap_error_set(err, -ENODEV, "overlay driver: the kernel has no overlay filesystem");
	}

	/* The root may not exist yet: look at its nearest existing ancestor. */
	_cleanup_free_ char *p = strdup(root);
	if (!p)
		return -ENOMEM;
	struct statfs sfs;
	while (statfs(p, &sfs) < 0) {
		char *slash = strrchr(p, '/');
		if (errno != ENOENT || !slash || slash == p)
			return snap_error_set(err, negative_errno(), "overlay driver: statfs %s: %s", root, strerror(errno));
		*slash = '\0';
	}
	if (sfs.f_type == OVERLAYFS_MAGIC)
		return snap_error_set(err, -EOPNOTSUPP,
				      "overlay driver: root %s is on overlayfs, which cannot hold upper directories", root);
	return 0;
}

struct scratch {
	char *dir;  /* ROOT/tmp/ovl-probe-XXXXXX */
	int dirfd;
	int n;      /* probes made: each gets fresh upper/work dirs */
};

static void scratch_done(struct scratch *s)
{
	if (s->dirfd >= 0) {
		snap_rm_children_at(s->dirfd);
		close(s->dirfd);
	}
	if (s->dir)
		rmdir(s->dir);
	free(s->dir);
}

static int scratch_init(struct ovl_state *st, struct scratch *s)
{
	*s = (struct scratch){ .dirfd = -EBADF };
	_cleanup_free_ char *tmp = ovl_join(st->root, "tmp");
	if (!tmp)
		return -ENOMEM;
	int r = snap_mkdir_p(tmp, 0700);
	if (r < 0)
		return r;
	if (asprintf(&s->dir, "%s/ovl-probe-XXXXXX", tmp) < 0) {
		s->dir = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(s->dir))
		return negative_errno();
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return negative_errno();
	if (mkdirat(s->dirfd, "l1", 0755) < 0 || mkdirat(s->dirfd, "l2", 0755) < 0 ||
	    mkdirat(s->dirfd, "m", 0755) < 0)
		return negative_errno();
	return 0;
}

/* Paths of fresh upper/work dirs for one probe. */
static int scratch_upper(struct scratch *s, char **upper, char **work)
{
	int n = s->n++;
	char u[32], w[32];
	snprintf(u, sizeof(u), "u%d", n);
	snprintf(w, sizeof(w), "w%d", n);
	if (mkdirat(s->dirfd, u, 0755) < 0 || mkdirat(s->dirfd, w, 0755) < 0)
		return negative_errno();
	if (asprintf(upper, "%s/%s", s->dir, u) < 0)
		return -ENOMEM;
	if (asprintf(work, "%s/%s", s->dir, w) < 0) {
		free(*upper);
		return -ENOMEM;
	}
	return 0;
}

/* A scratch overlay (two lowers, and an upper when `upper`) with extra
 * options; with the new API returns the fsfd after CMD_CREATE in *ret_fsfd
 * (-EBADF with the legacy API).  Returns 1 if the kernel took the options
 * without a warning, 0 if not, -errno on a scratch failure. */
struct probe_opt {
	const char *key;
	const char *value; /* NULL: a flag */
};

static int probe_mount(struct scratch *s, bool new_api, bool lowerdir_plus, bool upper,
		       const struct probe_opt *opts, size_t n_opts, int *ret_fsfd)
{
	_cleanup_free_ char *u = NULL, *w = NULL, *l1 = NULL, *l2 = NULL;
	if (ret_fsfd)
		*ret_fsfd = -EBADF;
	if (upper) {
		int r = scratch_upper(s, &u, &w);
		if (r < 0)
			return r;
	}
	if (asprintf(&l1, "%s/l1", s->dir) < 0 || asprintf(&l2, "%s/l2", s->dir) < 0)
		return -ENOMEM;
	/* Option values are unescaped by the kernel (but "lowerdir+"). */
	_cleanup_free_ char *el1 = ovl_escape(l1), *el2 = ovl_escape(l2);
	_cleanup_free_ char *eu = u ? ovl_escape(u) : NULL, *ew = w ? ovl_escape(w) : NULL;
	if (!el1 || !el2 || (u && (!eu || !ew)))
		return -ENOMEM;

	if (new_api) {
		_cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
		if (fsfd < 0)
			return 0;
		bool ok = fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0) == 0;
		if (ok && lowerdir_plus)
			ok = fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", l1, 0) == 0 &&
			     fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", l2, 0) == 0;
		else if (ok) {
			_cleanup_free_ char *both = NULL;
			ok = asprintf(&both, "%s:%s", el1, el2) >= 0 &&
			     fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", both, 0) == 0;
		}
		if (ok && upper)
			ok = fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", eu, 0) == 0 &&
			     fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", ew, 0) == 0;
		for (size_t i = 0; ok && i < n_opts; i++)
			ok = fsconfig(fsfd, opts[i].value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, opts[i].key,
				      opts[i].value, 0) == 0;
		if (ok)
			ok = fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0;
		/* A warning ("w overlay: ... falling back to ...=off") means
		 * the option was taken but turned off. */
		char line[512];
		ssize_t n;
		while ((n = read(fsfd, line, sizeof(line) - 1)) > 0)
			if (line[0] == 'w')
				ok = false;
		if (ok && ret_fsfd)
			*ret_fsfd = TAKE_FD(fsfd);
		return ok;
	}

	_cleanup_free_ char *data = NULL, *m = NULL;
	if (asprintf(&m, "%s/m", s->dir) < 0)
		return -ENOMEM;
	size_t cap = 4096;
	data = malloc(cap);
	if (!data)
		return -ENOMEM;
	int len = snprintf(data, cap, "lowerdir=%s:%s", el1, el2);
	if (upper)
		len += snprintf(data + len, cap - (size_t)len, ",upperdir=%s,workdir=%s", eu, ew);
	for (size_t i = 0; i < n_opts && len < (int)cap; i++)
		len += snprintf(data + len, cap - (size_t)len, ",%s%s%s", opts[i].key, opts[i].value ? "=" : "",
				opts[i].value ? opts[i].value : "");
	if (len >= (int)cap)
		return -E2BIG;
	if (mount("overlay", m, "overlay", 0, data) < 0)
		return 0;
	umount2(m, MNT_DETACH);
	return 1;
}

/*
 * What an idmapped snapshot needs (idmap.c): a detached clone of a layer
 * directory that mount_setattr(MOUNT_ATTR_IDMAP) accepts.  The overlay
 * superblock itself cannot be idmapped (overlayfs lacks FS_ALLOW_IDMAP),
 * so that is not what is asked here.
 */
static bool probe_idmap(struct scratch *s)
{
	_cleanup_close_ int tree = open_tree(s->dirfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return false;
	_cleanup_close_ int ns = snap_userns_fd();
	if (ns < 0)
		return false;
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
	return mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0;
}

static void probe_all(struct ovl_state *st, struct ovl_features *f)
{
	*f = (struct ovl_features){ 0 };
	int fd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fd >= 0) {
		f->new_api = true;
		close(fd);
	}
	struct scratch s;
	if (scratch_init(st, &s) < 0) {
		scratch_done(&s);
		return;
	}
	if (f->new_api) {
		/* "lowerdir+" needs no superblock to be recognised. */
		_cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
		_cleanup_free_ char *l1 = ovl_join(s.dir, "l1");
		f->lowerdir_plus = fsfd >= 0 && l1 && fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", l1, 0) == 0;
	}
	/* Unprivileged (user namespace) mounts keep their xattrs in user.overlay.*. */
	if (fsetxattr(s.dirfd, "trusted.snapctl-probe", "1", 1, 0) < 0 && errno == EPERM)
		f->need_userxattr = true;
	else
		fremovexattr(s.dirfd, "trusted.snapctl-probe");

	bool na = f->new_api, lp = f->lowerdir_plus;
	/* Every probe below in userxattr mode if needed, and volatile where
	 * the kernel has it: dropping a superblock with an upper dir syncs
	 * the upper filesystem (ovl_sync_fs -> sync_filesystem), which
	 * waits for every dirty page on it, a busy neighbour's included
	 * (seconds beside 1 GiB dirty: docs/core.md "What is durable
	 * when"); a volatile one skips that.  Each probe has its own
	 * upper and work dirs, so volatile's work/incompat/volatile marker
	 * never meets another mount. */
	struct probe_opt o[4];
	size_t nb = 0;
	if (f->need_userxattr)
		o[nb++] = (struct probe_opt){ "userxattr", NULL };
	o[nb] = (struct probe_opt){ "volatile", NULL };
	f->volatile_ = probe_mount(&s, na, lp, true, o, nb + 1, NULL) == 1;
	if (f->volatile_)
		nb++;
	struct probe_opt ux[2] = { { "userxattr", NULL }, { "volatile", NULL } };
	f->userxattr = probe_mount(&s, na, lp, true, ux, f->volatile_ ? 2 : 1, NULL) == 1;
	o[nb] = (struct probe_opt){ "redirect_dir", "on" };
	f->redirect_dir = probe_mount(&s, na, lp, true, o, nb + 1, NULL) == 1;
	o[nb + 1] = (struct probe_opt){ "metacopy", "on" };
	f->metacopy = probe_mount(&s, na, lp, true, o, nb + 2, NULL) == 1;
	o[nb] = (struct probe_opt){ "index", "off" };
	f->index = probe_mount(&s, na, lp, true, o, nb + 1, NULL) == 1;
	o[nb] = (struct probe_opt){ "index", "on" };
	o[nb + 1] = (struct probe_opt){ "nfs_export", "on" };
	f->nfs_export = probe_mount(&s, na, lp, true, o, nb + 2, NULL) == 1;
	o[nb] = (struct probe_opt){ "xino", "on" };
	f->xino = probe_mount(&s, na, lp, true, o, nb + 1, NULL) == 1;
	if (na)
		f->idmap = probe_idmap(&s);
	scratch_done(&s);
}

/*
 * The probes create about ten overlay superblocks (~100 ms), once per
 * process; a CLI command is one process.  Their answers cannot change while
 * the kernel runs and ROOT stays on the same filesystem, so they are kept in
 * ROOT/overlay.features keyed by the boot id and ROOT's device, and probed
 * again on any mismatch.  The file is a cache: unreadable, stale or
 * unwritable only means probing.
 */
#define FEATURES_FILE "overlay.features"

static const size_t feature_offsets[] = {
	offsetof(struct ovl_features, new_api),    offsetof(struct ovl_features, lowerdir_plus),
	offsetof(struct ovl_features, userxattr),  offsetof(struct ovl_features, need_userxattr),
	offsetof(struct ovl_features, metacopy),   offsetof(struct ovl_features, redirect_dir),
	offsetof(struct ovl_features, index),      offsetof(struct ovl_features, volatile_),
	offsetof(struct ovl_features, nfs_export), offsetof(struct ovl_features, idmap),
	offsetof(struct ovl_features, xino),
};

/* "v3 BOOT_ID DEV": what the cached answers hold for. */
static int features_key(struct ovl_state *st, char *buf, size_t len)
{
	_cleanup_free_ char *boot = NULL;
	int r = snap_read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", 64, &boot, NULL);
	if (r < 0)
		return r;
	boot[strcspn(boot, "\n")] = '\0';
	struct stat sb;
	if (fstat(st->rootfd, &sb) < 0)
		return negative_errno();
	snprintf(buf, len, "v3 %s %llx", boot, (unsigned long long)sb.st_dev);
	return 0;
}

static bool features_load(struct ovl_state *st, const char *key, struct ovl_features *f)
{
	_cleanup_free_ char *text = NULL;
	if (snap_read_file_at(st->rootfd, FEATURES_FILE, 256, &text, NULL) < 0)
		return false;
	size_t klen = strlen(key);
	if (strncmp(text, key, klen) != 0 || text[klen] != ' ')
		return false;
	const char *bits = text + klen + 1;
	if (strspn(bits, "01") != ELEMENTSOF(feature_offsets) || bits[ELEMENTSOF(feature_offsets)] != '\n')
		return false;
	for (size_t i = 0; i < ELEMENTSOF(feature_offsets); i++)
		*(bool *)((char *)f + feature_offsets[i]) = bits[i] == '1';
	return true;
}

static void features_store(struct ovl_state *st, const char *key, const struct ovl_features *f)
{
	char text[256];
	size_t n = (size_t)snprintf(text, sizeof(text), "%s ", key);
	for (size_t i = 0; i < ELEMENTSOF(feature_offsets) && n + 2 < sizeof(text); i++)
		text[n++] = *(const bool *)((const char *)f + feature_offsets[i]) ? '1' : '0';
	text[n++] = '\n';
	(void)snap_write_file_atomic_at(st->rootfd, FEATURES_FILE, text, n, 0644);
}

const struct ovl_features *ovl_features_get(struct ovl_state *st)
{
	pthread_mutex_lock(&st->lock);
	if (!st->probed) {
		char key[128];
		bool have_key = features_key(st, key, sizeof(key)) == 0;
		if (!have_key || !features_load(st, key, &st->feat)) {
			probe_all(st, &st->feat);
			if (have_key)
				features_store(st, key, &st->feat);
		}
		st->probed = true;
	}
	pthread_mutex_unlock(&st->lock);
	return &st->feat;
}

int ovl_info(void *state, void (*emit)(void *ctx, const char *key, const char *value), void *ctx,
	     struct snap_error *err)
{
	struct ovl_state *st = state;
	const struct ovl_features *f = ovl_features_get(st);
	bool legacy = !f->new_api || !f->lowerdir_plus || __atomic_load_n(&st->legacy_only, __ATOMIC_RELAXED);
	emit(ctx, "mount_api", legacy ? "mount(2) with relative layer names (max. one page of options)"
				      : "fsopen/fsconfig lowerdir+/fsmount");
	const struct {
		const char *key;
		bool on;
	} feats[] = {
		{ "lowerdir+", f->lowerdir_plus },
		{ "userxattr", f->userxattr },
		{ "metacopy", f->metacopy },
		{ "redirect_dir", f->redirect_dir },
		{ "index", f->index },
		{ "volatile", f->volatile_ },
		{ "nfs_export", f->nfs_export },
		{ "xino", f->xino },
		{ "idmapped_layers", f->idmap },
	};
	for (size_t i = 0; i < ELEMENTSOF(feats); i++)
		emit(ctx, feats[i].key, feats[i].on ? "yes" : "no");
	emit(ctx, "xattrs", f->need_userxattr ? "user.overlay.* (userxattr)" : "trusted.overlay.*");
	emit(ctx, "usage", "walk of the upper dir (active), stored at commit (committed)");
	char limits[SNAP_ERROR_MSG_MAX];
	snap_prjquota_describe(st->root, limits, sizeof(limits));
	emit(ctx, "size-limits", limits);
	return 0;
}
