/* SPDX-License-Identifier: Apache-2.0 */
/* Shorthands for writing scenarios as data (sc-*.c). */
#ifndef SNAP_FSTEST_SC_H
#define SNAP_FSTEST_SC_H

#include <fcntl.h>
#include <stdio.h>

#include "fstest.h"

#define MKDIR(p) { FST_MKDIR, (p), NULL, 0755, 0, NULL }
#define WRITE(p, d) { FST_WRITE, (p), (d), 0, 0, NULL }
#define APPEND(p, d) { FST_APPEND, (p), (d), 0, 0, NULL }
#define OPEN(p, f) { FST_OPEN, (p), NULL, (f), 0, NULL }
#define TRUNC(p, n) { FST_TRUNCATE, (p), NULL, (n), 0, NULL }
#define SYMLINK(l, t) { FST_SYMLINK, (l), (t), 0, 0, NULL }
#define LINK(a, b) { FST_LINK, (a), (b), 0, 0, NULL }
#define RENAME(a, b) { FST_RENAME, (a), (b), 0, 0, NULL }
#define RENAME2(a, b, f) { FST_RENAME, (a), (b), (f), 0, NULL }
#define UNLINK(p) { FST_UNLINK, (p), NULL, 0, 0, NULL }
#define RMDIR(p) { FST_RMDIR, (p), NULL, 0, 0, NULL }
#define RMRF(p) { FST_RMRF, (p), NULL, 0, 0, NULL }
#define CHMOD(p, m) { FST_CHMOD, (p), NULL, (m), 0, NULL }
#define CHOWN(p, u, g) { FST_CHOWN, (p), NULL, (u), (g), NULL }
#define UTIMES(p, s) { FST_UTIMES, (p), NULL, (s), 0, NULL }
#define UTIMES_NS(p, s, ns) { FST_UTIMES, (p), NULL, (s), (ns), NULL }
#define SETXATTR(p, n, v) { FST_SETXATTR, (p), (n), 0, 0, (v) }
#define RMXATTR(p, n) { FST_RMXATTR, (p), (n), 0, 0, NULL }
#define SETACL(p, which, text) { FST_SETACL, (p), (which), 0, 0, (text) }
#define MKFIFO(p) { FST_MKFIFO, (p), NULL, 0, 0, NULL }
#define STAT(p) { FST_STAT, (p), NULL, 0, 0, NULL }
#define KEEP(slot, p, f) { FST_KEEP, (p), NULL, (slot), (f), NULL }
#define PREAD(slot) { FST_PREAD, NULL, NULL, (slot), 0, NULL }
#define PWRITE(slot, d) { FST_PWRITE, NULL, (d), (slot), 0, NULL }
#define FSTAT(slot) { FST_FSTAT, NULL, NULL, (slot), 0, NULL }
#define CLOSE(slot) { FST_CLOSE, NULL, NULL, (slot), 0, NULL }
#define READDIR(p) { FST_READDIR, (p), NULL, 0, 0, NULL }
#define STATFS(p) { FST_STATFS, (p), NULL, 0, 0, NULL }
#define MASS(d, n) { FST_MASS, (d), NULL, (n), 0, NULL }
#define MASSREN(a, b, n) { FST_MASSREN, (a), (b), (n), 0, NULL }
#define END { FST_END, NULL, NULL, 0, 0, NULL }

/* A scenario: SC(name, what, setup ops, step ops). */
#define OPS(...) ((const struct fst_op[]){ __VA_ARGS__, END })
#define NOOPS NULL
#define SC(n, w, su, st) { .name = (n), .what = (w), .setup = (su), .steps = (st) }
#define SC_META(n, w, su, st) { .name = (n), .what = (w), .setup = (su), .steps = (st), .meta_only = true }
/* A scenario whose committed layer must hold the given keys ("diff PATH"). */
#define SC_LAYER(n, w, su, st, ...) \
	{ .name = (n), .what = (w), .setup = (su), .steps = (st), .layer = (const char *const[]){ __VA_ARGS__, NULL } }

/* A file capability (struct vfs_cap_data, revision 2): cap_net_bind_service
 * permitted and effective. */
#define CAP_NET_BIND "hex:0100000200040000000000000000000000000000"

#endif
