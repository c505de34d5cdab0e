/* SPDX-License-Identifier: Apache-2.0 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "driver-validate.h"

struct loaded {
	struct snap_loader_entry e;
	char *origin;
	void *dl; /* NULL for builtins */
};

struct snap_loader {
	struct loaded *v;
	size_t n;
	char **errors;
	size_t n_errors;
};

int snap_loader_new(struct snap_loader **ret)
{
	struct snap_loader *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*ret = l;
	return 0;
}

void snap_loader_free(struct snap_loader *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].origin);
		/* The handle is closed last: the driver table lives in it. */
		if (l->v[i].dl)
			dlclose(l->v[i].dl);
	}
	free(l->v);
	for (size_t i = 0; i < l->n_errors; i++)
		free(l->errors[i]);
	free(l->errors);
	free(l);
}

void snap_loader_record_error(struct snap_loader *l, const char *msg)
{
	char **n = realloc(l->errors, (l->n_errors + 1) * sizeof(*n));
	if (!n)
		return;
	l->errors = n;
	char *copy = strdup(msg);
	if (copy)
		l->errors[l->n_errors++] = copy;
}

const struct snap_loader_entry *snap_loader_entry(const struct snap_loader *l, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].e.driver->name, name) == 0)
			return &l->v[i].e;
	return NULL;
}

const struct snap_driver *snap_loader_find(const struct snap_loader *l, const char *name)
{
	const struct snap_loader_entry *e = snap_loader_entry(l, name);
	return e ? e->driver : NULL;
}

static int add_entry(struct snap_loader *l, const struct snap_driver *drv, const char *origin,
		     const char *description, void *dl, struct snap_error *err)
{
	int r = snap_drv_validate(drv, err);
	if (r < 0)
		return r;
	const struct snap_loader_entry *old = snap_loader_entry(l, drv->name);
	if (old)
		return snap_error_set(err, -EEXIST, "driver name '%s' already registered by %s", drv->name,
				      old->origin);
	struct loaded *n = realloc(l->v, (l->n + 1) * sizeof(*n));
	if (!n)
		return snap_error_set(err, -ENOMEM, "register driver '%s': out of memory", drv->name);
	l->v = n;
	char *o = strdup(origin);
	if (!o)
		return snap_error_set(err, -ENOMEM, "register driver '%s': out of memory", drv->name);
	l->v[l->n] = (struct loaded){
		.e = { .driver = drv, .origin = o, .description = description, .builtin = dl == NULL },
		.origin = o,
		.dl = dl,
	};
	l->n++;
	return 0;
}

int snap_loader_add(struct snap_loader *l, const struct snap_driver *drv, const char *origin,
		    const char *description, struct snap_error *err)
{
	return add_entry(l, drv, origin ? origin : "builtin", description, NULL, err);
}

static void dlclosep(void **h)
{
	if (*h)
		dlclose(*h);
}

int snap_loader_load_file(struct snap_loader *l, const char *path, struct snap_error *err)
{
	/* RTLD_LOCAL: two plugins may carry their own copies of helpers;
	 * RTLD_NOW: an unresolved symbol fails here, not in the middle of an
	 * operation. */
	_cleanup_(dlclosep) void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return snap_error_set(err, -ENOEXEC, "plugin %s: %s", path, dlerror());
	dlerror();
	const struct snap_plugin *p = dlsym(dl, SNAP_PLUGIN_ENTRY_SYMBOL);
	if (!p)
		return snap_error_set(err, -ENOENT, "plugin %s: no '%s' symbol (not a snapctl driver plugin)",
				      path, SNAP_PLUGIN_ENTRY_SYMBOL);
	if (p->magic != SNAP_PLUGIN_MAGIC)
		return snap_error_set(err, -EPROTO, "plugin %s: bad magic %#x in '%s' (expected %#x)", path,
				      p->magic, SNAP_PLUGIN_ENTRY_SYMBOL, SNAP_PLUGIN_MAGIC);
	if (p->abi_major != SNAP_DRIVER_ABI_MAJOR)
		return snap_error_set(err, -EPROTO, "plugin %s: driver ABI %u.%u, this snapctl speaks %d.x",
				      path, p->abi_major, p->abi_minor, SNAP_DRIVER_ABI_MAJOR);
	if (!p->driver)
		return snap_error_set(err, -EINVAL, "plugin %s: descriptor has no driver table", path);
	/* The table's own abi_version must agree with the descriptor; the
	 * minor decides which appended methods may be called. */
	if (SNAP_ABI_MAJOR_OF(p->driver->abi_version) != p->abi_major)
		return snap_error_set(err, -EPROTO, "plugin %s: driver table ABI %d.%d disagrees with descriptor %u.%u",
				      path, SNAP_ABI_MAJOR_OF(p->driver->abi_version),
				      SNAP_ABI_MINOR_OF(p->driver->abi_version), p->abi_major, p->abi_minor);
	int r = add_entry(l, p->driver, path, p->description, dl, err);
	if (r < 0)
		return snap_error_prefix(err, "plugin %s", path);
	dl = NULL; /* owned by the entry now */
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int snap_loader_load_dir(struct snap_loader *l, const char *dir, bool optional, struct snap_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT && optional)
			return 0;
		return snap_error_set(err, negative_errno(), "plugin directory %s: %s", dir, strerror(errno));
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			free_names(nn ? nn : names, n);
			return snap_error_set(err, -ENOMEM, "plugin directory %s: out of memory", dir);
		}
		names = nn;
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	int loaded = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		struct snap_error e = { 0 };
		if (snap_loader_load_file(l, path, &e) < 0)
			snap_loader_record_error(l, e.message);
		else
			loaded++;
	}
	free_names(names, n);
	return loaded;
}

int snap_loader_load_path(struct snap_loader *l, const char *path_list)
{
	if (!path_list)
		return 0;
	_cleanup_free_ char *copy = strdup(path_list);
	if (!copy)
		return -ENOMEM;
	int total = 0;
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		struct snap_error e = { 0 };
		int r = snap_loader_load_dir(l, dir, false, &e);
		if (r < 0)
			snap_loader_record_error(l, e.message);
		else
			total += r;
	}
	return total;
}

size_t snap_loader_count(const struct snap_loader *l)
{
	return l->n;
}

const struct snap_loader_entry *snap_loader_get(const struct snap_loader *l, size_t i)
{
	return i < l->n ? &l->v[i].e : NULL;
}

int snap_loader_foreach(const struct snap_loader *l, snap_loader_fn fn, void *userdata)
{
	for (size_t i = 0; i < l->n; i++) {
		int r = fn(&l->v[i].e, userdata);
		if (r != 0)
			return r;
	}
	return 0;
}

void snap_loader_names(const struct snap_loader *l, char *buf, size_t size)
{
	if (!size)
		return;
	buf[0] = '\0';
	size_t off = 0;
	for (size_t i = 0; i < l->n && off < size; i++) {
		int w = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", l->v[i].e.driver->name);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

size_t snap_loader_n_errors(const struct snap_loader *l)
{
	return l->n_errors;
}

const char *snap_loader_error(const struct snap_loader *l, size_t i)
{
	return i < l->n_errors ? l->errors[i] : NULL;
}
