/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmount, loaded when something first mounts, unmounts or reads the mount
 * table (mount.c, check.c), not at start-up: with libblkid, libselinux and
 * libpcre2 under it, it was most of what the dynamic loader did before
 * main() in a snapshot command that never mounts.
 */
#ifndef SNAP_MOUNT_LIB_H
#define SNAP_MOUNT_LIB_H

#include <libmount.h>

#include "core.h"

/* The functions of libmount the core calls, looked up once. */
struct snap_libmount {
	typeof(&mnt_new_context) new_context;
	typeof(&mnt_free_context) free_context;
	typeof(&mnt_context_disable_helpers) context_disable_helpers;
	typeof(&mnt_context_disable_canonicalize) context_disable_canonicalize;
	typeof(&mnt_context_set_optsmode) context_set_optsmode;
	typeof(&mnt_context_set_fstype) context_set_fstype;
	typeof(&mnt_context_set_source) context_set_source;
	typeof(&mnt_context_set_target) context_set_target;
	typeof(&mnt_context_set_options) context_set_options;
	typeof(&mnt_context_enable_lazy) context_enable_lazy;
	typeof(&mnt_context_mount) context_mount;
	typeof(&mnt_context_umount) context_umount;
	typeof(&mnt_context_syscall_called) context_syscall_called;
	typeof(&mnt_context_get_syscall_errno) context_get_syscall_errno;
	typeof(&mnt_new_table_from_file) new_table_from_file;
	typeof(&mnt_unref_table) unref_table;
	typeof(&mnt_new_iter) new_iter;
	typeof(&mnt_free_iter) free_iter;
	typeof(&mnt_table_next_fs) table_next_fs;
	typeof(&mnt_fs_get_target) fs_get_target;
	typeof(&mnt_fs_get_fs_options) fs_get_fs_options;
};

/* libmount's functions, loaded on the first call (thread-safe; the library
 * stays loaded).  NULL with err set (-ELIBACC: the library could not be
 * loaded, -ELIBBAD: a function is missing) when it cannot be had. */
const struct snap_libmount *snap_libmount(struct snap_error *err);

#endif
