/* SPDX-License-Identifier: Apache-2.0 */
#include "fuzz-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/layer-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

static char scratch[256];

static void scratch_remove(void)
{
	if (!scratch[0])
		return;
	umount2(scratch, MNT_DETACH);
	int fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		snap_rm_children_at(fd);
		close(fd);
	}
	rmdir(scratch);
}

const char *fuzz_scratch(void)
{
	if (scratch[0])
		return scratch;
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch, sizeof(scratch), "%s/snapctl-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		fuzz_fail("mkdtemp %s: %s", scratch, strerror(errno));
	/* A mount namespace of our own so the tmpfs never outlives us. */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		(void)mount("tmpfs", scratch, "tmpfs", 0, "size=64m,mode=0700");
	atexit(scratch_remove);
	return scratch;
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

int fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (fd < 0)
		fuzz_fail("memfd_create: %s", strerror(errno));
	if (size && snap_write_all(fd, data, size) < 0)
		fuzz_fail("write memfd: %s", strerror(errno));
	if (lseek(fd, 0, SEEK_SET) < 0)
		fuzz_fail("lseek memfd: %s", strerror(errno));
	return fd;
}

struct dump {
	char **lines;
	size_t n, cap;
};

static int dump_add(struct dump *d, char *line)
{
	if (!line)
		return -ENOMEM;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 32;
		char **nv = realloc(d->lines, ncap * sizeof(*nv));
		if (!nv) {
			free(line);
			return -ENOMEM;
		}
		d->lines = nv;
		d->cap = ncap;
	}
	d->lines[d->n++] = line;
	return 0;
}

static int dump_dir(struct dump *d, int dirfd, const char *prefix)
{
	_cleanup_(snap_names_done) struct snap_names names = { 0 };
	int r = snap_dir_list_sorted(dirfd, NULL, &names);
	if (r < 0)
		return r;
	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];
		struct stat st;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		char extra[512] = "";
		if (S_ISLNK(st.st_mode)) {
			char t[256];
			ssize_t n = readlinkat(dirfd, name, t, sizeof(t) - 1);
			t[n < 0 ? 0 : n] = '\0';
			snprintf(extra, sizeof(extra), " -> %s", t);
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			char digest[SNAP_DIGEST_MAX] = "?";
			if (fd >= 0)
				snap_sha256_fd(fd, digest, NULL);
			snprintf(extra, sizeof(extra), " %s", digest);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			snprintf(extra, sizeof(extra), " dev %lx", (unsigned long)st.st_rdev);
		}
		_cleanup_(snap_xattrs_done) struct snap_xattrs xs = { 0 };
		snap_xattrs_read_at(dirfd, name, true, &xs);
		char *line = NULL;
		if (asprintf(&line, "%s%s mode %o owner %u:%u size %lld mtime %lld.%09ld nlink %lu xattrs %zu%s",
			     prefix, name, st.st_mode, st.st_uid, st.st_gid,
			     S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			     st.st_mtim.tv_nsec, S_ISDIR(st.st_mode) ? 0UL : (unsigned long)st.st_nlink, xs.n,
			     extra) < 0)
			line = NULL;
		if ((r = dump_add(d, line)) < 0)
			return r;
		for (size_t k = 0; k < xs.n; k++) {
			char *xl = NULL;
			if (asprintf(&xl, "%s%s xattr %s %zu", prefix, name, xs.v[k].name, xs.v[k].size) < 0)
				xl = NULL;
			if ((r = dump_add(d, xl)) < 0)
				return r;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				return -errno;
			_cleanup_free_ char *p = NULL;
			if (asprintf(&p, "%s%s/", prefix, name) < 0)
				return -ENOMEM;
			if ((r = dump_dir(d, sub, p)) < 0)
				return r;
		}
	}
	return 0;
}

char *fuzz_tree_dump(int dirfd)
{
	struct dump d = { 0 };
	struct stat st;
	char *out = NULL;
	size_t len = 0;
	if (fstat(dirfd, &st) == 0 &&
	    dump_add(&d, (asprintf(&out, ". mode %o owner %u:%u mtime %lld.%09ld", st.st_mode, st.st_uid,
				   st.st_gid, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec) < 0 ? NULL : out)) == 0 &&
	    dump_dir(&d, dirfd, "") == 0) {
		for (size_t i = 0; i < d.n; i++)
			len += strlen(d.lines[i]) + 1;
		out = malloc(len + 1);
		if (out) {
			char *p = out;
			for (size_t i = 0; i < d.n; i++)
				p = stpcpy(stpcpy(p, d.lines[i]), "\n");
			*p = '\0';
		}
	} else {
		out = NULL;
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.lines[i]);
	free(d.lines);
	return out;
}
