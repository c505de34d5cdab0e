/* SPDX-License-Identifier: Apache-2.0 */
/*
 * moby's default masked and read-only paths (oci/defaults.go), applied the
 * way runc and bubblewrap do: a directory is covered by an empty read-only
 * tmpfs, a file by a bind mount of /dev/null (taken from the host before
 * pivot_root); a read-only path is bound on itself and remounted read-only.
 * Paths this kernel lacks are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container-internal.h"
#include "util/macro.h"

enum root { PROC, SYS };

static const struct {
	enum root root;
	const char *path;
} masked[] = {
	{ PROC, "acpi" },        /* ACPI tables and events */
	{ PROC, "asound" },      /* sound cards */
	{ PROC, "kcore" },       /* the kernel's memory */
	{ PROC, "keys" },        /* every key of the host */
	{ PROC, "latency_stats" },
	{ PROC, "timer_list" },  /* kernel timers: addresses, host tasks */
	{ PROC, "timer_stats" },
	{ PROC, "sched_debug" }, /* every task of the host */
	{ PROC, "scsi" },        /* rescan/remove host disks */
	{ SYS, "firmware" },     /* ACPI tables (DSDT), EFI variables */
	{ SYS, "devices/virtual/powercap" }, /* RAPL energy counters (side channel) */
};

static const char *const readonly[] = { "bus", "fs", "irq", "sys", "sysrq-trigger" };

static const char *root_name(enum root r)
{
	return r == PROC ? "/proc" : "/sys";
}

static int mask_one(int dirfd, enum root root, const char *path, struct snap_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0; /* not on this kernel */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return snap_error_set(err, negative_errno(), "stat %s/%s: %m", root_name(root), path);
	char what[96];
	snprintf(what, sizeof(what), "mask %s/%s", root_name(root), path);
	if (S_ISDIR(st.st_mode))
		return container_mount_fd("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
					  "size=0,mode=0555", what, err);
	return container_mount_fd("/dev/null", fd, NULL, MS_BIND, NULL, what, err);
}

static int readonly_one(int procfd, const char *name, struct snap_error *err)
{
	_cleanup_close_ int fd = openat(procfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char what[64], src[32];
	snprintf(what, sizeof(what), "/proc/%s", name);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	int r = container_mount_fd(src, fd, NULL, MS_BIND | MS_REC, NULL, what, err);
	if (r < 0)
		return r;
	/* the fd names what is below the new mount: reopen */
	_cleanup_close_ int top = openat(procfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return snap_error_set(err, negative_errno(), "open %s: %m", what);
	return container_remount_ro_fd(top, MS_NOSUID | MS_NODEV | MS_NOEXEC, what, err);
}

int container_masks_apply(int procfd, int sysfd, struct snap_error *err)
{
	for (size_t i = 0; i < ELEMENTSOF(masked); i++) {
		int r = mask_one(masked[i].root == PROC ? procfd : sysfd, masked[i].root, masked[i].path, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(readonly); i++) {
		int r = readonly_one(procfd, readonly[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}
