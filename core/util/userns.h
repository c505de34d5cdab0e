/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A user namespace to map through, for idmapped-mount probes.  Shared by the
 * core's kernel-feature probes (`snapctl info`) and the overlay driver's own
 * probes, so both try idmapped mounts the same way.
 */
#ifndef SNAP_USERNS_H
#define SNAP_USERNS_H

/* An fd of a user namespace mapping 0 → 100000 (65536 ids) for uids and
 * gids.  A child unshares it and waits until the namespace is open, so
 * fork() is safe in a multithreaded caller.  Returns the fd, or
 * -EOPNOTSUPP when no user namespace can be created, -EPERM when it cannot
 * be mapped, -errno. */
int snap_userns_fd(void);

/* In a forked child: close every fd but a and b (async-signal-safe). */
void snap_child_close_fds_except(int a, int b);

#endif
