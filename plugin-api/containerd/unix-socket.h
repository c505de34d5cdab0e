/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SNAP_UNIX_SOCKET_H
#define SNAP_UNIX_SOCKET_H

#include <stdbool.h>
#include <snapctl/driver.h>

/* The path of a unix socket address given as PATH, unix:PATH or
 * unix://PATH, newly allocated; -EINVAL when empty, -ENAMETOOLONG past
 * sun_path. */
int snap_socket_normalize(const char *address, char **ret, struct snap_error *err);

/* mkdir -p the directory of path (mode 0755 for what it creates). */
int snap_socket_make_parents(const char *path, struct snap_error *err);

/* 0 when path is free, or holds a socket nobody listens on (removed when
 * remove_stale); -EADDRINUSE when a server answers on it; -EEXIST when it
 * is not a socket. */
int snap_socket_check(const char *path, bool remove_stale, struct snap_error *err);

#endif
