/* SPDX-License-Identifier: Apache-2.0 */
/* Running an outside tool (mkfs.btrfs for the btrfs driver's image, the
 * mkfs of fstest's and the bench's scratch filesystems): fork and execvp,
 * no shell, its output kept to say why it failed. */
#ifndef SNAP_RUN_TOOL_H
#define SNAP_RUN_TOOL_H

#include <snapctl/driver.h>

/*
 * Run argv[0], looked up in PATH, with argv; stdin from /dev/null, its
 * stdout and stderr read into a buffer of ours (the last 4 KiB kept).
 * 0 when it exits 0.  Otherwise -errno, err saying "ARGV0 failed (exit
 * status N | signal N): LAST LINE OF ITS OUTPUT":
 *   -ENOENT  it could not be run (err names `package`, what to install);
 *   -ENOSPC  it said "No space left";
 *   -EIO     any other failure.
 * Callers add the object it worked on with snap_error_prefix.  The child
 * makes only async-signal-safe calls: the caller may have threads.
 */
int snap_run_tool(char *const argv[], const char *package, struct snap_error *err);

#endif
