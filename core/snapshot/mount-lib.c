/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/mount-lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

static struct snap_libmount lib;
static int lib_error;
static char lib_why[256];
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

#define LOOKUP(field, symbol)                                                         \
	do {                                                                          \
		lib.field = (typeof(lib.field))dlsym(dl, #symbol);                     \
		if (!lib.field && !lib_error) {                                        \
			lib_error = -ELIBBAD;                                          \
			snprintf(lib_why, sizeof(lib_why), "%s has no %s", SNAPCTL_LIBMOUNT_SONAME, #symbol); \
		}                                                                      \
	} while (0)

static void lib_load(void)
{
	void *dl = dlopen(SNAPCTL_LIBMOUNT_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		lib_error = -ELIBACC;
		const char *e = dlerror();
		snprintf(lib_why, sizeof(lib_why), "%s", e ? e : SNAPCTL_LIBMOUNT_SONAME);
		return;
	}
	LOOKUP(new_context, mnt_new_context);
	LOOKUP(free_context, mnt_free_context);
	LOOKUP(context_disable_helpers, mnt_context_disable_helpers);
	LOOKUP(context_disable_canonicalize, mnt_context_disable_canonicalize);
	LOOKUP(context_set_optsmode, mnt_context_set_optsmode);
	LOOKUP(context_set_fstype, mnt_context_set_fstype);
	LOOKUP(context_set_source, mnt_context_set_source);
	LOOKUP(context_set_target, mnt_context_set_target);
	LOOKUP(context_set_options, mnt_context_set_options);
	LOOKUP(context_enable_lazy, mnt_context_enable_lazy);
	LOOKUP(context_mount, mnt_context_mount);
	LOOKUP(context_umount, mnt_context_umount);
	LOOKUP(context_syscall_called, mnt_context_syscall_called);
	LOOKUP(context_get_syscall_errno, mnt_context_get_syscall_errno);
	LOOKUP(new_table_from_file, mnt_new_table_from_file);
	LOOKUP(unref_table, mnt_unref_table);
	LOOKUP(new_iter, mnt_new_iter);
	LOOKUP(free_iter, mnt_free_iter);
	LOOKUP(table_next_fs, mnt_table_next_fs);
	LOOKUP(fs_get_target, mnt_fs_get_target);
	LOOKUP(fs_get_fs_options, mnt_fs_get_fs_options);
}

const struct snap_libmount *snap_libmount(struct snap_error *err)
{
	pthread_once(&lib_once, lib_load);
	if (lib_error < 0) {
		snap_error_set(err, lib_error, "load libmount: %s", lib_why);
		return NULL;
	}
	return &lib;
}
