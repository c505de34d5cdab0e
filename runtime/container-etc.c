/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /etc/hostname, /etc/hosts and /etc/resolv.conf of the container, as
 * docker provides them: written by the runtime and bind-mounted over the
 * image's files, so the container's writable layer never holds them (they
 * stay out of `diff` and `commit`).  Only files the image has are covered:
 * creating a missing one would write into the container's layer.
 *
 * The contents live on a small tmpfs mounted for a moment in the
 * container's /dev (which is its own tmpfs already); once bound, the
 * helper mount is detached and its directory removed: a bind mount keeps
 * its file alive without the mount it came from.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

#define HELPER_DIR ".snapctl-etc"

/* An O_PATH fd of the image's regular file `path`, or -ENOENT when the image
 * has none (or has something else there). */
static int open_target(int rootfd, const char *path)
{
	int fd = snap_openat_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static int write_file_at(int dirfd, const char *name, const char *text, struct snap_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return snap_error_set(err, negative_errno(), "create /etc/%s for the container: %m", name);
	int r = snap_write_all(fd, text, strlen(text));
	if (r < 0)
		return snap_error_set(err, r, "write /etc/%s for the container: %s", name, strerror(-r));
	return 0;
}

/* The host's file (read before pivot_root), or `fallback` when it has none. */
static char *host_file(const char *path, const char *fallback)
{
	char *text = NULL;
	if (snap_read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL) < 0)
		return fallback ? strdup(fallback) : NULL;
	return text;
}

static int fill(int helper, const struct snap_container_spec *spec, struct snap_error *err)
{
	static const char localhost[] = "127.0.0.1\tlocalhost\n"
					"::1\tlocalhost ip6-localhost ip6-loopback\n";
	_cleanup_free_ char *hosts = NULL, *resolv = NULL;
	if (spec->net == SNAP_NET_HOST) {
		/* the host's network: its names and resolvers, like docker --net host */
		hosts = host_file("/etc/hosts", localhost);
		resolv = host_file("/etc/resolv.conf", "");
	} else if (asprintf(&hosts, "%s%s%s%s", localhost, spec->hostname ? "127.0.1.1\t" : "",
			    spec->hostname ? spec->hostname : "", spec->hostname ? "\n" : "") < 0) {
		hosts = NULL;
	}
	if (!hosts || (spec->net == SNAP_NET_HOST && !resolv))
		return snap_error_set(err, -ENOMEM, "container /etc files: %s", strerror(ENOMEM));
	int r = write_file_at(helper, "hosts", hosts, err);
	if (r >= 0 && resolv)
		r = write_file_at(helper, "resolv.conf", resolv, err);
	if (r >= 0 && spec->hostname) {
		_cleanup_free_ char *line = NULL;
		if (asprintf(&line, "%s\n", spec->hostname) < 0)
			return snap_error_set(err, -ENOMEM, "container /etc files: %s", strerror(ENOMEM));
		r = write_file_at(helper, "hostname", line, err);
	}
	return r;
}

static int bind_all(int rootfd, int helper, struct snap_error *err)
{
	static const char *const names[] = { "hostname", "hosts", "resolv.conf" };
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_close_ int src = openat(helper, names[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (src < 0)
			continue; /* not provided (no hostname, no network) */
		char path[32];
		snprintf(path, sizeof(path), "/etc/%s", names[i]);
		_cleanup_close_ int dst = open_target(rootfd, path);
		if (dst == -ENOENT || dst == -ENOTDIR)
			continue;
		if (dst < 0)
			return snap_error_set(err, dst, "open %s in the rootfs: %s", path, strerror(-dst));
		char s[32], d[32];
		snprintf(s, sizeof(s), "/proc/self/fd/%d", src);
		snprintf(d, sizeof(d), "/proc/self/fd/%d", dst);
		if (mount(s, d, NULL, MS_BIND, NULL) < 0)
			return snap_error_set(err, negative_errno(), "bind %s: %m", path);
	}
	return 0;
}

int container_etc_setup(int rootfd, const struct snap_container_spec *spec, struct snap_error *err)
{
	_cleanup_close_ int dev = snap_openat_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
	if (dev < 0)
		return snap_error_set(err, dev, "open /dev: %s", strerror(-dev));
	if (mkdirat(dev, HELPER_DIR, 0700) < 0)
		return snap_error_set(err, negative_errno(), "create /dev/" HELPER_DIR ": %m");
	_cleanup_close_ int target = openat(dev, HELPER_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return snap_error_set(err, negative_errno(), "open /dev/" HELPER_DIR ": %m");
	char t[32];
	snprintf(t, sizeof(t), "/proc/self/fd/%d", target);
	if (mount("tmpfs", t, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=2m") < 0)
		return snap_error_set(err, negative_errno(), "mount tmpfs for the container's /etc files: %m");
	int r;
	{
		_cleanup_close_ int helper = openat(dev, HELPER_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (helper < 0)
			r = snap_error_set(err, negative_errno(), "open /dev/" HELPER_DIR ": %m");
		else if ((r = fill(helper, spec, err)) >= 0)
			r = bind_all(rootfd, helper, err);
	}
	/* Detach the helper on every path: the bound files stay. */
	_cleanup_close_ int top = openat(dev, HELPER_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top >= 0) {
		snprintf(t, sizeof(t), "/proc/self/fd/%d", top);
		umount2(t, MNT_DETACH);
	}
	if (unlinkat(dev, HELPER_DIR, AT_REMOVEDIR) < 0 && r >= 0)
		r = snap_error_set(err, negative_errno(), "remove /dev/" HELPER_DIR ": %m");
	return r;
}
