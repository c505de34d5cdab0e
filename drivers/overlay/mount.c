/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mounting a snapshot.
 *
 * New mount API first: fsopen("overlay"), one fsconfig("lowerdir+") per
 * layer, fsmount, move_mount.  Layers are handed over one at a time, so the
 * chain may reach the kernel's own limit (500 lower layers) instead of the
 * one page that a mount(2) option string may hold.
 *
 * Fallback to mount(2) when fsopen is missing (ENOSYS, or EPERM from a
 * seccomp profile that predates it) or the kernel does not know "lowerdir+"
 * (before 6.8: EINVAL on the first lowerdir+).  To keep the option string
 * under a page, layers are named relative to their common directory
 * (ROOT/snapshots): "12/fs:11/fs" instead of "/var/lib/snapctl/snapshots/12/fs".
 * Relative names resolve against the cwd of the thread calling mount(2), and
 * library code must not change the process' cwd, so the mount(2) call runs in
 * a short-lived helper thread that first unshares its fs_struct
 * (unshare(CLONE_FS)) and only then fchdir()s: the process' cwd is never
 * touched and no other thread can observe it.  (containerd does the same in a
 * forked child; a thread avoids fork() in a multithreaded server.)
 * /proc/self/fd/N names would need no cwd but cost ~18 bytes a layer and cap
 * the chain at about 220 layers; relative names cost ~8.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "ovl-internal.h"

/* Read what the kernel logged in the fs context (e.g. "e overlay: failed to
 * resolve '...': -2") into buf; empty when it said nothing. */
static void fs_log_read(int fsfd, char *buf, size_t size)
{
	buf[0] = '\0';
	char line[512];
	for (;;) {
		ssize_t n = read(fsfd, line, sizeof(line) - 1);
		if (n <= 0)
			break;
		line[n] = '\0';
		/* Keep the last message: the one explaining the failure. */
		snprintf(buf, size, " (%s)", line[1] == ' ' ? line + 2 : line);
	}
}

static int cfg_fail(int fsfd, const char *key, const char *value, struct snap_error *err)
{
	int r = negative_errno();
	char log[600];
	fs_log_read(fsfd, log, sizeof(log));
	if (!key)
		return snap_error_set(err, r, "create overlay: %s%s", strerror(-r), log);
	return snap_error_set(err, r, "fsconfig overlay %s%s%s: %s%s", key, value ? "=" : "",
			      value ? value : "", strerror(-r), log);
}

static int cfg(int fsfd, unsigned cmd, const char *key, const char *value, struct snap_error *err)
{
	if (fsconfig(fsfd, cmd, key, value, 0) < 0)
		return cfg_fail(fsfd, key, value, err);
	return 0;
}

static int cfg_fd(int fsfd, const char *key, int fd, struct snap_error *err)
{
	if (fsconfig(fsfd, FSCONFIG_SET_FD, key, NULL, fd) < 0)
		return cfg_fail(fsfd, key, "<fd>", err);
	return 0;
}

/* Returns an fsmount fd (detached mount), or -errno; *fallback is set when
 * the legacy path should be taken instead.  With `fds`, layers are handed
 * over as fds of (idmapped) detached trees: FSCONFIG_SET_FD, which
 * overlayfs takes for lowerdir+, upperdir and workdir since Linux 6.13. */
int ovl_overlay_new_api(const struct ovl_spec *spec, const struct ovl_layer_fds *fds, bool *fallback,
			struct snap_error *err)
{
	*fallback = false;
	_cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0) {
		if (errno == ENOSYS || errno == EPERM) {
			*fallback = true;
			return -ENOSYS;
		}
		return snap_error_set(err, negative_errno(), "fsopen overlay: %s", strerror(errno));
	}

	int r = cfg(fsfd, FSCONFIG_SET_STRING, "source", "overlay", err);
	struct ovl_option feats[OVL_MAX_OPTIONS];
	size_t n_feats = ovl_spec_options(spec, feats);
	for (size_t i = 0; r == 0 && i < n_feats; i++)
		r = cfg(fsfd, feats[i].value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, feats[i].key, feats[i].value, err);
	if (r < 0)
		return r;
	for (size_t i = 0; fds && i < spec->n_lowers; i++) {
		r = cfg_fd(fsfd, "lowerdir+", fds->lowers[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; !fds && i < spec->n_lowers; i++) {
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", spec->lowers[i], 0) < 0) {
			if (i == 0 && errno == EINVAL) {
				/* A kernel without "lowerdir+" (before 6.8) says
				 * "Unknown parameter"; any other EINVAL (a layer
				 * on an unsuitable filesystem, say) is an error. */
				char log[600];
				fs_log_read(fsfd, log, sizeof(log));
				if (log[0] == '\0' || strstr(log, "nknown parameter")) {
					*fallback = true;
					return -EOPNOTSUPP;
				}
				return snap_error_set(err, -EINVAL, "fsconfig overlay lowerdir+=%s: %s%s", spec->lowers[i],
						      strerror(EINVAL), log);
			}
			return cfg_fail(fsfd, "lowerdir+", spec->lowers[i], err);
		}
	}
	if (spec->upper && fds && fds->upper >= 0) {
		r = cfg_fd(fsfd, "upperdir", fds->upper, err);
		if (r == 0)
			r = cfg_fd(fsfd, "workdir", fds->work, err);
		if (r < 0)
			return r;
	} else if (spec->upper) {
		/* Unlike "lowerdir+", the kernel unescapes "upperdir" and
		 * "workdir" values (backslashes) even when given by fsconfig. */
		_cleanup_free_ char *u = ovl_escape(spec->upper), *w = ovl_escape(spec->work);
		if (!u || !w)
			return snap_error_set(err, -ENOMEM, "mount overlay: out of memory");
		r = cfg(fsfd, FSCONFIG_SET_STRING, "upperdir", u, err);
		if (r == 0)
			r = cfg(fsfd, FSCONFIG_SET_STRING, "workdir", w, err);
		if (r < 0)
			return r;
	}
	r = cfg(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, err);
	if (r < 0)
		return r;

	int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, spec->rdonly ? MOUNT_ATTR_RDONLY : 0);
	if (mfd < 0) {
		r = negative_errno();
		char log[600];
		fs_log_read(fsfd, log, sizeof(log));
		return snap_error_set(err, r, "fsmount overlay: %s%s", strerror(-r), log);
	}
	return mfd;
}

/* Length of the longest common directory prefix of the paths the option
 * string names, including its trailing '/' (1 when only "/" is common). */
static size_t common_prefix(const struct ovl_spec *spec)
{
	const char *first = spec->upper ? spec->upper : spec->lowers[0];
	size_t len = strlen(first);
	for (size_t i = 0; i < spec->n_lowers + 2; i++) {
		const char *p = i < spec->n_lowers ? spec->lowers[i] : i == spec->n_lowers ? spec->upper : spec->work;
		if (!p)
			continue;
		size_t k = 0;
		while (k < len && p[k] == first[k])
			k++;
		len = k;
	}
	while (len > 0 && first[len - 1] != '/')
		len--;
	return len > 0 ? len : 1;
}

/* Append `path` minus its first `skip` bytes, escaped, to f. */
static int put_path(FILE *f, const char *path, size_t skip)
{
	_cleanup_free_ char *e = ovl_escape(path + skip);
	if (!e)
		return -ENOMEM;
	return fputs(e, f) < 0 ? -ENOMEM : 0;
}

static char *legacy_options(const struct ovl_spec *spec, size_t skip)
{
	char *s = NULL;
	size_t len = 0;
	_cleanup_fclose_ FILE *f = open_memstream(&s, &len);
	if (!f)
		return NULL;
	struct ovl_option feats[OVL_MAX_OPTIONS];
	size_t n_feats = ovl_spec_options(spec, feats);
	for (size_t i = 0; i < n_feats; i++)
		fprintf(f, "%s%s%s,", feats[i].key, feats[i].value ? "=" : "", feats[i].value ? feats[i].value : "");
	fputs("lowerdir=", f);
	int r = 0;
	for (size_t i = 0; r == 0 && i < spec->n_lowers; i++) {
		if (i)
			fputc(':', f);
		r = put_path(f, spec->lowers[i], skip);
	}
	if (r == 0 && spec->upper) {
		fputs(",upperdir=", f);
		r = put_path(f, spec->upper, skip);
		if (r == 0) {
			fputs(",workdir=", f);
			r = put_path(f, spec->work, skip);
		}
	}
	bool failed = r < 0 || ferror(f);
	if (fclose(TAKE_PTR(f)) != 0 || failed) {
		free(s);
		return NULL;
	}
	return s;
}

struct legacy_job {
	int basefd;
	const char *target;
	unsigned long flags;
	const char *data;
	int result;
};

static void *legacy_mount_thread(void *arg)
{
	struct legacy_job *job = arg;
	/* Own fs_struct first: the fchdir below must not move the process. */
	if (unshare(CLONE_FS) < 0 || fchdir(job->basefd) < 0)
		job->result = negative_errno();
	else if (mount("overlay", job->target, "overlay", job->flags, job->data) < 0)
		job->result = negative_errno();
	else
		job->result = 0;
	return NULL;
}

/* mount(2) the overlay of spec on the directory open as targetfd. */
static int overlay_legacy(const struct ovl_spec *spec, int targetfd, struct snap_error *err)
{
	size_t skip = common_prefix(spec);
	const char *first = spec->upper ? spec->upper : spec->lowers[0];
	_cleanup_free_ char *base = skip > 1 ? strndup(first, skip - 1) : strdup("/");
	if (!base)
		return snap_error_set(err, -ENOMEM, "mount overlay: out of memory");
	_cleanup_free_ char *data = legacy_options(spec, skip);
	if (!data)
		return snap_error_set(err, -ENOMEM, "mount overlay: out of memory");
	long page = sysconf(_SC_PAGESIZE);
	if ((long)strlen(data) >= page)
		return snap_error_set(err, -E2BIG,
				      "mount overlay of %zu layers: the option string needs %zu bytes, more than "
				      "a page (%ld), and this kernel has no \"lowerdir+\"",
				      spec->n_lowers, strlen(data), page);
	_cleanup_close_ int basefd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0)
		return snap_error_set(err, negative_errno(), "mount overlay: open %s: %s", base, strerror(errno));
	char target[64];
	snprintf(target, sizeof(target), "/proc/self/fd/%d", targetfd);
	struct legacy_job job = {
		.basefd = basefd,
		.target = target,
		.flags = spec->rdonly ? MS_RDONLY : 0,
		.data = data,
	};
	pthread_t t;
	int r = pthread_create(&t, NULL, legacy_mount_thread, &job);
	if (r != 0)
		return snap_error_set(err, -r, "mount overlay: start helper thread: %s", strerror(r));
	pthread_join(t, NULL);
	if (job.result < 0)
		return snap_error_set(err, job.result, "mount overlay (legacy mount(2), %zu layers) with \"%s\": %s",
				      spec->n_lowers, data, strerror(-job.result));
	return 0;
}

static int bind_new_api(const struct ovl_spec *spec, bool *fallback, struct snap_error *err)
{
	*fallback = false;
	_cleanup_close_ int fd = open_tree(AT_FDCWD, spec->bind_src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (fd < 0) {
		if (errno == ENOSYS || errno == EPERM) {
			*fallback = true;
			return -ENOSYS;
		}
		return snap_error_set(err, negative_errno(), "bind %s: %s", spec->bind_src, strerror(errno));
	}
	if (spec->rdonly) {
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			return snap_error_set(err, negative_errno(), "bind %s read-only: %s", spec->bind_src,
					      strerror(errno));
	}
	return TAKE_FD(fd);
}

/* The read-only remount must name the new mount's root by path: the fd of
 * the mount point still refers to the directory underneath. */
static int bind_legacy(const struct ovl_spec *spec, const char *target, struct snap_error *err)
{
	if (mount(spec->bind_src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return snap_error_set(err, negative_errno(), "bind %s: %s", spec->bind_src, strerror(errno));
	if (spec->rdonly && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
		int r = negative_errno();
		umount2(target, MNT_DETACH);
		return snap_error_set(err, r, "bind %s read-only: %s", spec->bind_src, strerror(-r));
	}
	return 0;
}

int ovl_volatile_reset(const char *work)
{
	_cleanup_close_ int fd = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	/* work/work is mode 000 (see ovl_remove); the kernel makes it anew
	 * at every mount anyway. */
	if (fchmodat(fd, "work", 0700, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return snap_rm_rf_at(fd, "work/incompat");
}

/* Detached mount of spec by the new API; -ENOSYS/-EOPNOTSUPP with *fallback
 * set when the legacy path is needed. */
static int new_api(struct ovl_state *st, const struct ovl_spec *spec, bool *fallback, struct snap_error *err)
{
	if (__atomic_load_n(&st->legacy_only, __ATOMIC_RELAXED)) {
		*fallback = true;
		return -ENOSYS;
	}
	int r = spec->type == OVL_SPEC_BIND ? bind_new_api(spec, fallback, err)
					     : ovl_overlay_new_api(spec, NULL, fallback, err);
	if (*fallback)
		__atomic_store_n(&st->legacy_only, true, __ATOMIC_RELAXED);
	return r;
}

static int legacy(const struct ovl_spec *spec, const char *target, int targetfd, struct snap_error *err)
{
	return spec->type == OVL_SPEC_BIND ? bind_legacy(spec, target, err) : overlay_legacy(spec, targetfd, err);
}

int ovl_mount_spec(struct ovl_state *st, const struct ovl_spec *spec, const char *target, struct snap_error *err)
{
	if (spec->upper && (spec->opts & OVL_OPT_VOLATILE)) {
		int r = ovl_volatile_reset(spec->work);
		if (r < 0 && r != -ENOENT)
			return snap_error_set(err, r, "reset volatile work dir %s: %s", spec->work, strerror(-r));
	}
	if (spec->idmap) {
		/* Idmapped layers exist only with the new mount API. */
		_cleanup_close_ int mfd = ovl_idmapped_detached(st, spec, err);
		if (mfd < 0)
			return mfd;
		if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return snap_error_set(err, negative_errno(), "move mount to %s: %s", target, strerror(errno));
		return 0;
	}
	bool fallback;
	_cleanup_close_ int mfd = new_api(st, spec, &fallback, err);
	if (mfd >= 0) {
		if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return snap_error_set(err, negative_errno(), "move mount to %s: %s", target, strerror(errno));
		return 0;
	}
	if (!fallback)
		return mfd;
	snap_error_clear(err);
	_cleanup_close_ int tfd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return snap_error_set(err, negative_errno(), "mount target %s: %s", target, strerror(errno));
	return legacy(spec, target, tfd, err);
}

int ovl_open_detached(struct ovl_state *st, const struct ovl_spec *spec, struct snap_error *err)
{
	bool fallback;
	int mfd = new_api(st, spec, &fallback, err);
	if (mfd >= 0 || !fallback)
		return mfd;
	snap_error_clear(err);

	/* mount(2) needs a mount point: a fresh dir under ROOT/tmp, detached
	 * (MNT_DETACH) right after opening its root, so that nothing stays
	 * mounted once the fd is closed, even if this process dies. */
	_cleanup_free_ char *tmp = ovl_join(st->root, "tmp");
	if (!tmp)
		return snap_error_set(err, -ENOMEM, "private overlay view: out of memory");
	int r = snap_mkdir_p(tmp, 0700);
	if (r < 0)
		return snap_error_set(err, r, "private overlay view: mkdir %s: %s", tmp, strerror(-r));
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "%s/ovl-view-XXXXXX", tmp) < 0)
		return snap_error_set(err, -ENOMEM, "private overlay view: out of memory");
	if (!mkdtemp(dir))
		return snap_error_set(err, negative_errno(), "private overlay view: mkdtemp %s: %s", dir,
				      strerror(errno));
	_cleanup_close_ int tfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		r = negative_errno();
		rmdir(dir);
		return snap_error_set(err, r, "private overlay view: open %s: %s", dir, strerror(-r));
	}
	r = legacy(spec, dir, tfd, err);
	if (r < 0) {
		rmdir(dir);
		return r;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd < 0 ? negative_errno() : 0;
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	if (r < 0)
		return snap_error_set(err, r, "private overlay view: open %s: %s", dir, strerror(-r));
	return fd;
}
