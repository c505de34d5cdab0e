/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver registry: built-in drivers plus plugins dlopen()ed from
 * directories.  A plugin that cannot be used (no snap_driver_entry symbol,
 * bad magic, unknown ABI major, invalid table, a name already taken) is
 * skipped with a message in the loader's error list; loading goes on with the
 * other files.  The caller (the CLI) prints those messages as warnings.
 */
#ifndef SNAP_LOADER_H
#define SNAP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <snapctl/driver.h>

#include "util/macro.h"

struct snap_loader;

struct snap_loader_entry {
	const struct snap_driver *driver;
	const char *origin;      /* "builtin" or the .so path */
	const char *description; /* may be NULL */
	bool builtin;
};

int snap_loader_new(struct snap_loader **ret);
void snap_loader_free(struct snap_loader *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct snap_loader, snap_loader_free)

/* Register every driver compiled into this binary. */
int snap_loader_add_builtins(struct snap_loader *l);

/* Register one driver table.  -EEXIST when the name is taken, -EPROTO /
 * -EINVAL when the table is invalid (see snap_drv_validate).  Nothing is
 * recorded in the error list: the caller decides. */
int snap_loader_add(struct snap_loader *l, const struct snap_driver *drv, const char *origin,
		    const char *description, struct snap_error *err);

/* Load one plugin file.  On failure returns -errno with the reason in err,
 * and the file stays unloaded. */
int snap_loader_load_file(struct snap_loader *l, const char *path, struct snap_error *err);

/* Load every *.so of `dir` in name order.  Per-file failures go to the
 * error list and do not stop the others.  A missing directory is -ENOENT
 * (with the message in err) unless `optional`.  Returns the number of
 * plugins loaded or -errno. */
int snap_loader_load_dir(struct snap_loader *l, const char *dir, bool optional, struct snap_error *err);

/* load_dir for every entry of a colon-separated list (SNAPCTL_PLUGIN_PATH);
 * errors of any kind, including missing directories, go to the list. */
int snap_loader_load_path(struct snap_loader *l, const char *path_list);

const struct snap_driver *snap_loader_find(const struct snap_loader *l, const char *name);
const struct snap_loader_entry *snap_loader_entry(const struct snap_loader *l, const char *name);

size_t snap_loader_count(const struct snap_loader *l);
const struct snap_loader_entry *snap_loader_get(const struct snap_loader *l, size_t i);

typedef int (*snap_loader_fn)(const struct snap_loader_entry *e, void *userdata);
/* Calls fn for each driver in registration order; stops at a non-zero return
 * and returns it. */
int snap_loader_foreach(const struct snap_loader *l, snap_loader_fn fn, void *userdata);

/* Comma-separated names of the registered drivers, into buf. */
void snap_loader_names(const struct snap_loader *l, char *buf, size_t size);

/* Messages of plugins that were skipped. */
size_t snap_loader_n_errors(const struct snap_loader *l);
const char *snap_loader_error(const struct snap_loader *l, size_t i);
/* Append a message to the error list. */
void snap_loader_record_error(struct snap_loader *l, const char *msg);

#endif
