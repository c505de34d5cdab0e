/* SPDX-License-Identifier: Apache-2.0 */
#include "busybox-rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"

const char *busybox_path(void)
{
	static const char *const candidates[] = { "/bin/busybox", "/usr/bin/busybox" };
	for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

static int copy_file_at(const char *src, int dirfd, const char *name, mode_t mode)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return negative_errno();
	struct stat st;
	if (fstat(in, &st) < 0)
		return negative_errno();
	_cleanup_close_ int out = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	if (out < 0)
		return negative_errno();
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
		if (n <= 0)
			return n < 0 ? negative_errno() : -EIO;
	}
	return 0;
}

static int write_at(int dirfd, const char *name, const char *text)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return negative_errno();
	return snap_write_all(fd, text, strlen(text));
}

int busybox_rootfs_make(const char *dir)
{
	const char *bb = busybox_path();
	if (!bb)
		return -ENOENT;
	_cleanup_close_ int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return negative_errno();
	static const char *const dirs[] = {
		"bin", "etc", "tmp", "root", "proc", "sys", "dev", "home", "home/tester",
		"usr", "usr/share", "usr/share/doc", "usr/share/doc/busybox", "var",
	};
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (mkdirat(root, dirs[i], strcmp(dirs[i], "tmp") == 0 ? 01777 : 0755) < 0)
			return negative_errno();
	if (fchmodat(root, "tmp", 01777, 0) < 0)
		return negative_errno();
	_cleanup_close_ int bin = openat(root, "bin", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (bin < 0)
		return negative_errno();
	int r = copy_file_at(bb, bin, "busybox", 0755);
	if (r < 0)
		return r;

	char cmd[64];
	snprintf(cmd, sizeof(cmd), "%s --list", bb);
	FILE *list = popen(cmd, "re");
	if (!list)
		return negative_errno();
	char line[128];
	r = 0;
	while (r == 0 && fgets(line, sizeof(line), list)) {
		line[strcspn(line, "\n")] = '\0';
		if (!*line || strcmp(line, "busybox") == 0 || strchr(line, '/'))
			continue;
		if (symlinkat("busybox", bin, line) < 0 && errno != EEXIST)
			r = negative_errno();
	}
	if (pclose(list) != 0 && r == 0)
		r = -EIO;
	if (r < 0)
		return r;

	if ((r = write_at(root, "etc/passwd",
			  "root:x:0:0:root:/root:/bin/sh\n"
			  "tester:x:1000:1000:Tester:/home/tester:/bin/sh\n"
			  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")) < 0 ||
	    (r = write_at(root, "etc/group",
			  "root:x:0:\n"
			  "tty:x:5:\n"
			  "tester:x:1000:\n"
			  "wheel:x:10:tester\n"
			  "audio:x:29:tester\n"
			  "nogroup:x:65534:\n")) < 0 ||
	    (r = write_at(root, "usr/share/doc/busybox/README", "busybox docs\n")) < 0 ||
	    /* empty, as in most images: the runtime binds its own over them */
	    (r = write_at(root, "etc/hosts", "")) < 0 || (r = write_at(root, "etc/hostname", "")) < 0)
		return r;
	if (fchownat(root, "home/tester", 1000, 1000, AT_SYMLINK_NOFOLLOW) < 0)
		return negative_errno();
	return 0;
}
