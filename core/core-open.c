/* SPDX-License-Identifier: Apache-2.0 */
/* Opening a root: the driver registry, the driver a root keeps, the
 * directories; accessors; staging directories. */
#include "core.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core-internal.h"
#include "pending-trees.h"
#include "snapshot/driver-call.h"
#include "util/fs-util.h"
#include "util/macro.h"
#include "plugin-api/loader.h"
#include "store.h"

int64_t snap_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- accessors ----------------------------------------------------------- */

const char *snap_core_root(const struct snap_core *core)
{
	return core->root;
}

const char *snap_core_driver_name(const struct snap_core *core)
{
	return core->drv->name;
}

struct sqlite3 *snap_core_db(struct snap_core *core)
{
	return snap_store_db(core->store);
}

struct snap_loader *snap_core_loader(struct snap_core *core)
{
	return core->loader;
}

bool snap_core_no_sync(const struct snap_core *core)
{
	return core->no_sync;
}

bool snap_core_sync_trees(const struct snap_core *core)
{
	return core->sync_trees && !core->no_sync;
}

int snap_core_rootfd(const struct snap_core *core)
{
	return core->rootfd;
}

const struct snap_driver *snap_core_driver(struct snap_core *core)
{
	return core->drv;
}

void *snap_core_driver_state(struct snap_core *core)
{
	return core->drv_state;
}

int snap_core_driver_info(struct snap_core *core, void (*emit)(void *ctx, const char *key, const char *value),
			  void *ctx, struct snap_error *err)
{
	return snap_drv_info(core->drv, core->drv_state, emit, ctx, err);
}

struct snap_store *snap_core_store(struct snap_core *core)
{
	return core->store;
}

int snap_core_snapshots_fd(const struct snap_core *core)
{
	return core->snapfd;
}

int snap_core_tmp_fd(const struct snap_core *core)
{
	return core->tmpfd;
}

void snap_core_notice(struct snap_core *core, const char *fmt, ...)
{
	if (!core->notice)
		return;
	char buf[SNAP_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	core->notice(core->notice_ctx, buf);
}

void snap_core_snapshot_path(const struct snap_core *core, uint64_t id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/snapshots/%llu", core->root, (unsigned long long)id);
}

static int dir_trylock_at(int dirfd, const char *name);

/* Time this thread spent in the core's own directory syscalls (make, lock,
 * remove, unlock snapshot directories), for the benchmark's breakdown. */
static _Thread_local uint64_t dir_time_ns;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t snap_core_dir_time_ns(void)
{
	return dir_time_ns;
}

uint64_t snap_core_dir_timer_start(void)
{
	return mono_ns();
}

void snap_core_dir_timer_stop(uint64_t start)
{
	dir_time_ns += mono_ns() - start;
}

void snap_dir_unlock(int *fd)
{
	if (*fd < 0)
		return;
	/* Closing the last fd of a removed directory evicts its inode: on a
	 * busy journal that is the slow part of a remove. */
	uint64_t t = mono_ns();
	close(*fd);
	*fd = -EBADF;
	dir_time_ns += mono_ns() - t;
}

int snap_dir_trylock_at(int dirfd, const char *name)
{
	uint64_t t = mono_ns();
	int r = dir_trylock_at(dirfd, name);
	dir_time_ns += mono_ns() - t;
	return r;
}

static int dir_trylock_at(int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}


/* ---- staging ------------------------------------------------------------- */

int snap_core_mkstaging(struct snap_core *core, const char *what, char **ret_path, struct snap_error *err)
{
	if (!what || !*what || strchr(what, '/'))
		return snap_error_set(err, -EINVAL, "staging directory: bad name '%s'", what ? what : "");
	struct staging *n = realloc(core->staging, (core->n_staging + 1) * sizeof(*n));
	if (!n)
		return snap_error_set(err, -ENOMEM, "staging directory: out of memory");
	core->staging = n;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/tmp/%s-XXXXXX", core->root, what) < 0)
		return snap_error_set(err, -ENOMEM, "staging directory: out of memory");
	/* Made and locked under the metadata write lock, for the same reason
	 * as snapshot directories: check decides about tmp/ entries under
	 * that lock, so it never sees one that is not locked yet. */
	_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
	int r = snap_txn_begin(core->store, &txn, err);
	if (r < 0)
		return snap_error_prefix(err, "make staging directory");
	if (!mkdtemp(path))
		return snap_error_set(err, negative_errno(), "make staging directory %s: %s", path, strerror(errno));
	int fd = snap_dir_trylock_at(core->tmpfd, strrchr(path, '/') + 1);
	if (fd < 0) {
		r = snap_error_set(err, fd, "lock staging directory %s: %s", path, strerror(-fd));
		rmdir(path);
		return r;
	}
	snap_txn_done(&txn); /* nothing written: release the lock */
	char *copy = strdup(path);
	if (!copy) {
		close(fd);
		rmdir(path);
		return snap_error_set(err, -ENOMEM, "staging directory: out of memory");
	}
	core->staging[core->n_staging++] = (struct staging){ .fd = fd, .path = copy };
	*ret_path = TAKE_PTR(path);
	return 0;
}

void snap_core_staging_done(struct snap_core *core, const char *path)
{
	for (size_t i = 0; path && i < core->n_staging; i++) {
		if (strcmp(core->staging[i].path, path) != 0)
			continue;
		close(core->staging[i].fd);
		free(core->staging[i].path);
		core->staging[i] = core->staging[--core->n_staging];
		return;
	}
}

/* ---- open / close -------------------------------------------------------- */

void snap_core_close(struct snap_core *core)
{
	if (!core)
		return;
	if (core->drv && core->drv_state)
		snap_drv_close(core->drv, core->drv_state);
	snap_store_close(core->store);
	for (size_t i = 0; i < core->n_staging; i++) {
		close(core->staging[i].fd);
		free(core->staging[i].path);
	}
	free(core->staging);
	if (core->rootfd >= 0)
		close(core->rootfd);
	if (core->snapfd >= 0)
		close(core->snapfd);
	if (core->tmpfd >= 0)
		close(core->tmpfd);
	/* The loader goes last: a plugin's code must stay mapped until its
	 * close() has run. */
	snap_loader_free(core->loader);
	free(core->root);
	free(core);
}

static int setup_loader(struct snap_core *core, const struct snap_core_opts *opts, struct snap_error *err)
{
	int r = snap_loader_new(&core->loader);
	if (r < 0)
		return snap_error_set(err, r, "driver registry: out of memory");
	if (!(opts->flags & SNAP_CORE_NO_BUILTINS)) {
		r = snap_loader_add_builtins(core->loader);
		if (r < 0)
			return snap_error_set(err, r, "register built-in drivers: %s", strerror(-r));
	}
	if (opts->plugin_dir) {
		snap_loader_load_path(core->loader, opts->plugin_dir);
	} else {
		const char *env = getenv("SNAPCTL_PLUGIN_PATH");
		if (env && *env) {
			snap_loader_load_path(core->loader, env);
		} else {
			struct snap_error e = { 0 };
			if (snap_loader_load_dir(core->loader, SNAPCTL_PLUGIN_DIR, true, &e) < 0)
				snap_loader_record_error(core->loader, e.message);
		}
	}
	return 0;
}

static void loader_warnings(struct snap_core *core)
{
	for (size_t i = 0; i < snap_loader_n_errors(core->loader); i++)
		snap_core_notice(core, "warning: %s", snap_loader_error(core->loader, i));
}

static int unknown_driver(struct snap_core *core, const char *name, struct snap_error *err)
{
	char names[512];
	snap_loader_names(core->loader, names, sizeof(names));
	return snap_error_set(err, -EINVAL, "unknown driver '%s' (available: %s)", name, names[0] ? names : "none");
}

/* The driver for `auto` on a root without one: overlay where it can run,
 * else vfs. */
static const struct snap_driver *pick_auto(struct snap_core *core)
{
	const struct snap_driver *ovl = snap_loader_find(core->loader, "overlay");
	if (ovl) {
		struct snap_error e = { 0 };
		if (snap_drv_probe(ovl, core->root, &e) == 0)
			return ovl;
	}
	return snap_loader_find(core->loader, "vfs");
}

static int open_dirs(struct snap_core *core, bool create, struct snap_error *err)
{
	static const char *const subdirs[] = { "snapshots", "tmp", "content", "content/sha256" };
	for (size_t i = 0; create && i < ELEMENTSOF(subdirs); i++)
		if (mkdirat(core->rootfd, subdirs[i], 0700) < 0 && errno != EEXIST)
			return snap_error_set(err, negative_errno(), "create %s/%s: %s", core->root, subdirs[i],
					      strerror(errno));
	core->snapfd = openat(core->rootfd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (core->snapfd < 0)
		return snap_error_set(err, negative_errno(), "open %s/snapshots: %s", core->root, strerror(errno));
	core->tmpfd = openat(core->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (core->tmpfd < 0)
		return snap_error_set(err, negative_errno(), "open %s/tmp: %s", core->root, strerror(errno));
	return 0;
}

/*
 * A reader's open: the root, its metadata (current schema, a recorded
 * driver) and its -wal must all be there already.  No probe: the recorded
 * driver was probed on this root when it was recorded, and a reader never
 * mounts; a writer that does finds out at its mount.
 */
static int open_query_only(const struct snap_core_opts *opts, struct snap_core **ret, struct snap_error *err)
{
	_cleanup_(snap_core_closep) struct snap_core *core = calloc(1, sizeof(*core));
	if (!core)
		return snap_error_set(err, -ENOMEM, "open root %s: out of memory", opts->root);
	core->rootfd = core->snapfd = core->tmpfd = -EBADF;
	core->root = realpath(opts->root, NULL);
	if (!core->root)
		return snap_error_set(err, negative_errno(), "open root %s: %s", opts->root, strerror(errno));
	core->rootfd = open(core->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (core->rootfd < 0)
		return snap_error_set(err, negative_errno(), "open root %s: %s", core->root, strerror(errno));
	char dbpath[PATH_MAX];
	snprintf(dbpath, sizeof(dbpath), "%s/metadata.db", core->root);
	int r = snap_store_open(dbpath, SNAP_STORE_QUERY_ONLY, &core->store, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *recorded = NULL;
	r = snap_store_meta_get(core->store, "driver", &recorded, err);
	if (r < 0)
		return r;
	const char *want = opts->driver && *opts->driver && strcmp(opts->driver, "auto") != 0 ? opts->driver : NULL;
	if (want && strcmp(want, recorded) != 0)
		return snap_error_set(err, -EINVAL, "root %s: driver '%s' recorded", core->root, recorded);

	r = setup_loader(core, opts, err);
	if (r < 0)
		return r;
	core->drv = snap_loader_find(core->loader, recorded);
	if (!core->drv)
		return snap_error_set(err, -ENOENT, "root %s: driver '%s' not available", core->root, recorded);
	r = open_dirs(core, false, err);
	if (r < 0)
		return r;
	struct snap_driver_opts dopts = {
		.root = core->root,
		.btrfs_size = opts->btrfs_size ? opts->btrfs_size : "16G",
		.notice = opts->notice,
		.notice_ctx = opts->notice_ctx,
	};
	r = snap_drv_open(core->drv, &dopts, &core->drv_state, err);
	if (r < 0)
		return r;
	/* As in snap_core_open: the driver may have mounted over snapshots/. */
	int sfd = openat(core->rootfd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return snap_error_set(err, negative_errno(), "open %s/snapshots: %s", core->root, strerror(errno));
	close(core->snapfd);
	core->snapfd = sfd;
	/* Warnings only once the open stands (a failed one is retried as a
	 * writer's, which gives them). */
	core->notice = opts->notice;
	core->no_sync = opts->flags & SNAP_CORE_NO_SYNC;
	core->sync_trees = opts->flags & SNAP_CORE_SYNC_TREES;
	core->notice_ctx = opts->notice_ctx;
	loader_warnings(core);
	*ret = TAKE_PTR(core);
	return 0;
}

/* The part of a writer's open that may make things under the root: the
 * driver's probe and open, the driver recorded in a fresh root. */
static int open_driver(struct snap_core *core, const struct snap_core_opts *opts, char *recorded,
		       struct snap_error *err)
{
	_cleanup_free_ char *raced = NULL;
	struct snap_error e = { 0 };
	int r;
	/* Probed once, when the root is made.  A recorded driver passed its
	 * probe on this root then; what the probe looks at (the filesystem
	 * under the root, the kernel's filesystem) does not change under a
	 * root in use, and a kernel that lost it fails at the mount, naming
	 * it.  So a writer of an existing root, like a reader, skips it:
	 * the probe's fsopen() was a tenth of a millisecond of every
	 * snapshot operation. */
	if (!recorded) {
		r = snap_drv_probe(core->drv, core->root, err);
		if (r < 0)
			return snap_error_prefix(err, "driver '%s' cannot run on %s", core->drv->name,
						 core->root);
	}

	r = open_dirs(core, !(opts->flags & SNAP_CORE_READONLY), err);
	if (r < 0)
		return r;

	struct snap_driver_opts dopts = {
		.root = core->root,
		.btrfs_size = opts->btrfs_size ? opts->btrfs_size : "16G",
		.flags = recorded ? 0 : SNAP_OPEN_CREATE,
		.notice = opts->notice,
		.notice_ctx = opts->notice_ctx,
	};
	r = snap_drv_open(core->drv, &dopts, &core->drv_state, err);
	if (r < 0)
		return snap_error_prefix(err, "open driver '%s' on %s", core->drv->name, core->root);
	/* The driver may have mounted its own filesystem on ROOT/snapshots
	 * (btrfs on a loopback image): the fd taken before names the covered
	 * directory, where new snapshot dirs would land out of the driver's
	 * sight.  Take it again. */
	int sfd = openat(core->rootfd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return snap_error_set(err, negative_errno(), "open %s/snapshots: %s", core->root, strerror(errno));
	close(core->snapfd);
	core->snapfd = sfd;

	if (!recorded) {
		/* Record the driver; a concurrent first open by another
		 * process may have won, and its choice stands. */
		_cleanup_(snap_txn_done) struct snap_store *txn = NULL;
		r = snap_txn_begin(core->store, &txn, err);
		if (r < 0)
			return r;
		r = snap_store_meta_get(core->store, "driver", &raced, &e);
		if (r == -ENOENT)
			r = snap_store_meta_set(core->store, "driver", core->drv->name, err);
		else if (r == 0 && strcmp(raced, core->drv->name) != 0)
			return snap_error_set(err, -EINVAL, "root %s was just created with driver '%s', not '%s'",
					      core->root, raced, core->drv->name);
		else if (r < 0)
			return snap_error_set(err, r, "open root %s: %s", core->root, e.message);
		if (r >= 0)
			r = snap_txn_commit(&txn, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A first open that failed leaves no half-made root behind: the metadata
 * database and the directories it made (empty ones only) go, and the root
 * itself when this open created it.  A root whose driver got recorded
 * meanwhile (a concurrent first open won) is left alone. */
static void undo_fresh_root(struct snap_core *core, bool created_root)
{
	_cleanup_free_ char *recorded = NULL;
	struct snap_error ignored = { 0 };
	if (!core->store || snap_store_meta_get(core->store, "driver", &recorded, &ignored) != -ENOENT)
		return;
	snap_store_close(core->store);
	core->store = NULL;
	static const char *const files[] = { "metadata.db", "metadata.db-wal", "metadata.db-shm",
					     "metadata.db-journal" };
	for (size_t i = 0; i < ELEMENTSOF(files); i++)
		(void)unlinkat(core->rootfd, files[i], 0);
	static const char *const dirs[] = { "content/sha256", "content", "snapshots", "tmp" };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		(void)unlinkat(core->rootfd, dirs[i], AT_REMOVEDIR);
	if (created_root)
		(void)rmdir(core->root);
}

bool snap_core_driver_known(const struct snap_core_opts *opts, const char *name, char *names, size_t len)
{
	if (strcmp(name, "auto") == 0)
		return true;
	_cleanup_(snap_core_closep) struct snap_core *core = calloc(1, sizeof(*core));
	struct snap_error ignored = { 0 };
	if (!core)
		return false;
	core->rootfd = core->snapfd = core->tmpfd = -EBADF;
	if (setup_loader(core, opts, &ignored) < 0)
		return false;
	if (snap_loader_find(core->loader, name))
		return true;
	snap_loader_names(core->loader, names, len);
	return false;
}

int snap_core_open(const struct snap_core_opts *opts, struct snap_core **ret, struct snap_error *err)
{
	if (!opts || !opts->root || !*opts->root)
		return snap_error_set(err, -EINVAL, "open root: no root directory given");
	if (opts->flags & SNAP_CORE_QUERY_ONLY) {
		/* Anything a reader cannot settle alone (and every error, so
		 * that it reads as a writer's open words it) goes the writer's
		 * way below.  The loader's warnings are given there again. */
		struct snap_error ignored = { 0 };
		if (open_query_only(opts, ret, &ignored) == 0)
			return 0;
	}
	_cleanup_(snap_core_closep) struct snap_core *core = calloc(1, sizeof(*core));
	if (!core)
		return snap_error_set(err, -ENOMEM, "open root %s: out of memory", opts->root);
	core->rootfd = core->snapfd = core->tmpfd = -EBADF;
	core->notice = opts->notice;
	core->no_sync = opts->flags & SNAP_CORE_NO_SYNC;
	core->sync_trees = opts->flags & SNAP_CORE_SYNC_TREES;
	core->notice_ctx = opts->notice_ctx;

	int r = setup_loader(core, opts, err);
	if (r < 0)
		return r;
	loader_warnings(core);

	/* Refuse an unknown driver before anything is created. */
	const char *want = opts->driver && *opts->driver && strcmp(opts->driver, "auto") != 0 ? opts->driver : NULL;
	if (want && !snap_loader_find(core->loader, want))
		return unknown_driver(core, want, err);

	bool created_root = false;
	if (!(opts->flags & SNAP_CORE_READONLY)) {
		struct stat st;
		if (stat(opts->root, &st) < 0 && errno == ENOENT)
			created_root = true;
		r = snap_mkdir_p(opts->root, 0700);
		if (r < 0)
			return snap_error_set(err, r, "create root %s: %s", opts->root, strerror(-r));
	}
	core->root = realpath(opts->root, NULL);
	if (!core->root)
		return snap_error_set(err, negative_errno(), "open root %s: %s", opts->root, strerror(errno));
	core->rootfd = open(core->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (core->rootfd < 0)
		return snap_error_set(err, negative_errno(), "open root %s: %s", core->root, strerror(errno));

	char dbpath[PATH_MAX];
	snprintf(dbpath, sizeof(dbpath), "%s/metadata.db", core->root);
	/* A writer says why it cannot write (a read-only mount, a database
	 * file it may not write) before sqlite says "readonly database". */
	if (!(opts->flags & SNAP_CORE_READONLY)) {
		if (access(core->root, W_OK) < 0)
			return snap_error_set(err, negative_errno(), "root %s is not writable: %s%s", core->root,
					      strerror(errno),
					      errno == EROFS ? " (use a root on a writable filesystem, or --root)" : "");
		if (access(dbpath, W_OK) < 0 && errno != ENOENT)
			return snap_error_set(err, negative_errno(), "metadata database %s is not writable: %s",
					      dbpath, strerror(errno));
	}
	r = snap_store_open(dbpath, opts->flags & SNAP_CORE_READONLY ? SNAP_STORE_READONLY : 0, &core->store, err);
	if (r < 0) {
		if (created_root)
			rmdir(core->root);
		return r;
	}

	_cleanup_free_ char *recorded = NULL;
	struct snap_error e = { 0 };
	r = snap_store_meta_get(core->store, "driver", &recorded, &e);
	if (r < 0 && r != -ENOENT)
		return snap_error_set(err, r, "open root %s: %s", core->root, e.message);
	if (recorded) {
		if (want && strcmp(want, recorded) != 0)
			return snap_error_set(err, -EINVAL,
					      "root %s was created with driver '%s', not '%s' (use --driver=%s or another --root)",
					      core->root, recorded, want, recorded);
		core->drv = snap_loader_find(core->loader, recorded);
		if (!core->drv)
			return snap_error_set(err, -ENOENT,
					      "root %s was created with driver '%s', which is not available here",
					      core->root, recorded);
	} else {
		core->drv = want ? snap_loader_find(core->loader, want) : pick_auto(core);
		if (!core->drv)
			return unknown_driver(core, "auto", err);
	}

	r = open_driver(core, opts, recorded, err);
	if (r < 0) {
		if (!recorded)
			undo_fresh_root(core, created_root);
		return r;
	}
	/* A writer settles the layer trees left unsynced (pending-trees.c):
	 * one query when there are none.  Not a reader that came this way
	 * (a schema to migrate): readers write nothing of their own. */
	if (recorded && !(opts->flags & (SNAP_CORE_READONLY | SNAP_CORE_QUERY_ONLY)))
		snap_pending_settle(core);
	*ret = TAKE_PTR(core);
	return 0;
}

