/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The steps of a scenario, run on its directory with *at() calls: each
 * step's result ("ret=0" or "ret=EXDEV") and what it observes on the way
 * (inode identity before and after a copy-up, what a kept fd reads) become
 * observations "step NN DESCRIPTION".  Paths are relative to the scenario
 * directory; symlinks in scenarios point inside it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fstest.h"
#include "util/digest.h"
#include "util/fs-util.h"
#include "util/macro.h"

struct fst_step_state {
	int slots[FST_SLOTS];
	/* Inodes seen by the steps, numbered in order of first sight, so that
	 * "#1 before, #1 after the copy-up" compares across configurations. */
	struct {
		dev_t dev;
		ino_t ino;
	} seen[64];
	size_t n_seen;
	dev_t devs[8];
	size_t n_devs;
};

struct fst_step_state *fst_step_state_new(void)
{
	struct fst_step_state *s = calloc(1, sizeof(*s));
	if (s)
		for (size_t i = 0; i < FST_SLOTS; i++)
			s->slots[i] = -EBADF;
	return s;
}

void fst_step_state_free(struct fst_step_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < FST_SLOTS; i++)
		if (s->slots[i] >= 0)
			close(s->slots[i]);
	free(s);
}

static size_t ino_number(struct fst_step_state *s, const struct stat *st)
{
	for (size_t i = 0; i < s->n_seen; i++)
		if (s->seen[i].dev == st->st_dev && s->seen[i].ino == st->st_ino)
			return i + 1;
	if (s->n_seen < ELEMENTSOF(s->seen)) {
		s->seen[s->n_seen].dev = st->st_dev;
		s->seen[s->n_seen].ino = st->st_ino;
		return ++s->n_seen;
	}
	return 0;
}

static size_t dev_number(struct fst_step_state *s, dev_t dev)
{
	for (size_t i = 0; i < s->n_devs; i++)
		if (s->devs[i] == dev)
			return i + 1;
	if (s->n_devs < ELEMENTSOF(s->devs)) {
		s->devs[s->n_devs] = dev;
		return ++s->n_devs;
	}
	return 0;
}

static const char *op_names[] = {
	[FST_MKDIR] = "mkdir",     [FST_WRITE] = "write",     [FST_APPEND] = "append",  [FST_OPEN] = "open",
	[FST_TRUNCATE] = "truncate", [FST_SYMLINK] = "symlink", [FST_LINK] = "link",     [FST_RENAME] = "rename",
	[FST_UNLINK] = "unlink",   [FST_RMDIR] = "rmdir",     [FST_RMRF] = "rm-r",      [FST_CHMOD] = "chmod",
	[FST_CHOWN] = "chown",     [FST_UTIMES] = "utimes",   [FST_SETXATTR] = "setxattr", [FST_RMXATTR] = "rmxattr",
	[FST_SETACL] = "setacl",   [FST_MKFIFO] = "mkfifo",   [FST_STAT] = "stat",      [FST_KEEP] = "keep-open",
	[FST_PREAD] = "pread",     [FST_PWRITE] = "pwrite",   [FST_FSTAT] = "fstat",    [FST_CLOSE] = "close",
	[FST_READDIR] = "readdir", [FST_STATFS] = "statfs",   [FST_MASS] = "create-many", [FST_MASSREN] = "rename-many",
};

static void open_flags_str(long f, char *buf, size_t len)
{
	static const struct {
		long bit;
		const char *name;
	} names[] = {
		{ O_CREAT, "CREAT" },       { O_EXCL, "EXCL" },     { O_TRUNC, "TRUNC" },     { O_APPEND, "APPEND" },
		{ O_NOFOLLOW, "NOFOLLOW" }, { O_DIRECTORY, "DIRECTORY" }, { O_PATH, "PATH" },
	};
	long acc = f & O_ACCMODE;
	snprintf(buf, len, "%s", acc == O_RDONLY ? "RDONLY" : acc == O_WRONLY ? "WRONLY" : "RDWR");
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (f & names[i].bit) {
			size_t n = strlen(buf);
			snprintf(buf + n, len - n, "|%s", names[i].name);
		}
}

void fst_op_describe(const struct fst_op *op, char *buf, size_t len)
{
	const char *name = (size_t)op->op < ELEMENTSOF(op_names) && op_names[op->op] ? op_names[op->op] : "?";
	char flags[96] = "";
	switch (op->op) {
	case FST_OPEN:
		open_flags_str(op->num, flags, sizeof(flags));
		snprintf(buf, len, "%s %s %s", name, op->path, flags);
		break;
	case FST_KEEP:
		open_flags_str(op->num2, flags, sizeof(flags));
		snprintf(buf, len, "%s %s fd%ld %s", name, op->path, op->num, flags);
		break;
	case FST_PREAD:
	case FST_PWRITE:
	case FST_FSTAT:
	case FST_CLOSE:
		snprintf(buf, len, "%s fd%ld", name, op->num);
		break;
	case FST_SYMLINK:
	case FST_LINK:
	case FST_RENAME:
	case FST_MASSREN:
		snprintf(buf, len, "%s %s %s%s", name, op->path, op->arg,
			 op->op == FST_RENAME && op->num == RENAME_NOREPLACE	 ? " NOREPLACE"
			 : op->op == FST_RENAME && op->num == RENAME_EXCHANGE ? " EXCHANGE"
									      : "");
		break;
	case FST_SETXATTR:
	case FST_RMXATTR:
	case FST_SETACL:
		snprintf(buf, len, "%s %s %s", name, op->path, op->arg);
		break;
	case FST_CHMOD:
	case FST_MKDIR:
		snprintf(buf, len, "%s %s %04lo", name, op->path, op->num);
		break;
	case FST_CHOWN:
		snprintf(buf, len, "%s %s %ld:%ld", name, op->path, op->num, op->num2);
		break;
	default:
		snprintf(buf, len, "%s %s", name, op->path ? op->path : "");
	}
}

/* "hex:0a0b" → bytes; anything else is taken as text. */
static size_t xattr_value(const char *v, char *out, size_t cap)
{
	if (strncmp(v, "hex:", 4) != 0) {
		size_t n = strlen(v);
		if (n > cap)
			n = cap;
		memcpy(out, v, n);
		return n;
	}
	size_t n = 0;
	for (const char *p = v + 4; p[0] && p[1] && n < cap; p += 2) {
		unsigned b;
		if (sscanf(p, "%2x", &b) != 1)
			break;
		out[n++] = (char)b;
	}
	return n;
}

/* POSIX ACL xattr (linux/posix_acl_xattr.h): version 2, then (tag, perm,
 * id) entries in tag order.  The text form is "u::rw,u:1000:r,g::r,m::r,o::". */
static int acl_encode(const char *text, char *out, size_t cap, size_t *ret_len)
{
	struct ent {
		uint16_t tag, perm;
		uint32_t id;
	} ents[16];
	size_t n = 0;
	_cleanup_free_ char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	for (char *save = NULL, *e = strtok_r(copy, ",", &save); e && n < ELEMENTSOF(ents); e = strtok_r(NULL, ",", &save)) {
		char *c1 = strchr(e, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2)
			return -EINVAL;
		*c1 = *c2 = '\0';
		bool qual = c1[1] != '\0';
		uint16_t tag = 0;
		if (!strcmp(e, "u"))
			tag = qual ? 0x02 : 0x01; /* ACL_USER : ACL_USER_OBJ */
		else if (!strcmp(e, "g"))
			tag = qual ? 0x08 : 0x04; /* ACL_GROUP : ACL_GROUP_OBJ */
		else if (!strcmp(e, "m"))
			tag = 0x10;
		else if (!strcmp(e, "o"))
			tag = 0x20;
		else
			return -EINVAL;
		uint16_t perm = (uint16_t)((strchr(c2 + 1, 'r') ? 4 : 0) | (strchr(c2 + 1, 'w') ? 2 : 0) |
					   (strchr(c2 + 1, 'x') ? 1 : 0));
		ents[n++] = (struct ent){ tag, perm, qual ? (uint32_t)strtoul(c1 + 1, NULL, 10) : 0xffffffffu };
	}
	/* The kernel wants the entries sorted by tag, then id. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && (ents[j - 1].tag > ents[j].tag ||
					     (ents[j - 1].tag == ents[j].tag && ents[j - 1].id > ents[j].id)); j--) {
			struct ent t = ents[j];
			ents[j] = ents[j - 1];
			ents[j - 1] = t;
		}
	size_t len = 4 + n * 8;
	if (len > cap)
		return -E2BIG;
	uint32_t version = 2;
	memcpy(out, &version, 4);
	for (size_t i = 0; i < n; i++) {
		memcpy(out + 4 + i * 8, &ents[i].tag, 2);
		memcpy(out + 6 + i * 8, &ents[i].perm, 2);
		memcpy(out + 8 + i * 8, &ents[i].id, 4);
	}
	*ret_len = len;
	return 0;
}

static int read_all_hash(int fd, char *out, size_t len)
{
	char buf[8192], digest[SNAP_DIGEST_MAX];
	struct snap_sha256 h;
	int r = snap_sha256_init(&h);
	if (r < 0)
		return r;
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n < 0) {
			r = negative_errno();
			snap_sha256_done(&h);
			return r;
		}
		if (n == 0)
			break;
		snap_sha256_update(&h, buf, (size_t)n);
		off += n;
	}
	r = snap_sha256_final(&h, digest);
	if (r < 0)
		return r;
	snprintf(out, len, "%.12s", snap_digest_hex(digest));
	return 0;
}

static int write_at(int dirfd, const char *path, const char *data, int flags)
{
	_cleanup_close_ int fd = openat(dirfd, path, flags | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return negative_errno();
	return snap_write_all(fd, data, strlen(data));
}

static int rm_tree(int dirfd, const char *path)
{
	struct stat st;
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return negative_errno();
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, path, 0) < 0 ? negative_errno() : 0;
	return snap_rm_rf_at(dirfd, path);
}

static const char *dtype_name(unsigned char t)
{
	switch (t) {
	case DT_REG: return "reg";
	case DT_DIR: return "dir";
	case DT_LNK: return "lnk";
	case DT_FIFO: return "fifo";
	case DT_CHR: return "chr";
	case DT_BLK: return "blk";
	case DT_SOCK: return "sock";
	default: return "unknown";
	}
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(int dirfd, const char *path, char *out, size_t len)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	_cleanup_closedir_ DIR *dd = d;
	char *names[256];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dd)) && n < ELEMENTSOF(names)) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (asprintf(&names[n], "%s:%s", de->d_name, dtype_name(de->d_type)) < 0)
			break;
		n++;
	}
	qsort(names, n, sizeof(char *), str_ptr_cmp);
	size_t o = strlen(out);
	o += (size_t)snprintf(out + o, o < len ? len - o : 0, " list=");
	for (size_t i = 0; i < n; i++) {
		if (o < len)
			o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "", names[i]);
		free(names[i]);
	}
	return 0;
}

static const char *fs_type_name(long t)
{
	switch ((unsigned long)t) {
	case 0xEF53: return "ext4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x01021994: return "tmpfs";
	case 0x794c7630: return "overlay";
	default: return "other";
	}
}

static void put(char *out, size_t len, const char *fmt, ...) SNAP_PRINTF(3, 4);
static void put(char *out, size_t len, const char *fmt, ...)
{
	size_t o = strlen(out);
	if (o >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out + o, len - o, fmt, ap);
	va_end(ap);
}

static void put_stat(struct fst_step_state *s, const struct stat *st, char *out, size_t len)
{
	put(out, len, " type=%s ino=#%zu dev=#%zu nlink=%lu", S_ISDIR(st->st_mode) ? "dir" : S_ISREG(st->st_mode) ? "reg" : "other",
	    ino_number(s, st), dev_number(s, st->st_dev),
	    (unsigned long)st->st_nlink);
	if (!S_ISDIR(st->st_mode))
		put(out, len, " size=%lld", (long long)st->st_size);
}

int fst_op_run(struct fst_step_state *s, int dirfd, const struct fst_op *op, char *out, size_t len)
{
	int r = 0;
	char extra[2048] = "";
	const char *p = op->path;
	switch (op->op) {
	case FST_END:
		break;
	case FST_MKDIR:
		r = mkdirat(dirfd, p, (mode_t)op->num) < 0 ? negative_errno() : 0;
		break;
	case FST_WRITE:
		r = write_at(dirfd, p, op->arg, O_CREAT | O_TRUNC);
		break;
	case FST_APPEND:
		r = write_at(dirfd, p, op->arg, O_APPEND);
		break;
	case FST_OPEN: {
		int fd = openat(dirfd, p, (int)op->num | O_CLOEXEC, 0644);
		if (fd < 0)
			r = negative_errno();
		else
			close(fd);
		break;
	}
	case FST_TRUNCATE: {
		_cleanup_close_ int fd = openat(dirfd, p, O_WRONLY | O_CLOEXEC);
		r = fd < 0 || ftruncate(fd, op->num) < 0 ? negative_errno() : 0;
		break;
	}
	case FST_SYMLINK:
		r = symlinkat(op->arg, dirfd, p) < 0 ? negative_errno() : 0;
		break;
	case FST_LINK:
		r = linkat(dirfd, p, dirfd, op->arg, 0) < 0 ? negative_errno() : 0;
		break;
	case FST_RENAME:
		r = renameat2(dirfd, p, dirfd, op->arg, (unsigned)op->num) < 0 ? negative_errno() : 0;
		break;
	case FST_UNLINK:
		r = unlinkat(dirfd, p, 0) < 0 ? negative_errno() : 0;
		break;
	case FST_RMDIR:
		r = unlinkat(dirfd, p, AT_REMOVEDIR) < 0 ? negative_errno() : 0;
		break;
	case FST_RMRF:
		r = rm_tree(dirfd, p);
		break;
	case FST_CHMOD:
		r = fchmodat(dirfd, p, (mode_t)op->num, 0) < 0 ? negative_errno() : 0;
		break;
	case FST_CHOWN:
		r = fchownat(dirfd, p, (uid_t)op->num, (gid_t)op->num2, AT_SYMLINK_NOFOLLOW) < 0 ? negative_errno() : 0;
		break;
	case FST_UTIMES: {
		struct timespec ts[2] = { { .tv_sec = op->num, .tv_nsec = op->num2 }, { .tv_sec = op->num, .tv_nsec = op->num2 } };
		r = utimensat(dirfd, p, ts, AT_SYMLINK_NOFOLLOW) < 0 ? negative_errno() : 0;
		break;
	}
	case FST_SETXATTR:
	case FST_SETACL: {
		char val[512];
		size_t n = 0;
		char name[64];
		if (op->op == FST_SETACL) {
			snprintf(name, sizeof(name), "system.posix_acl_%s", op->arg);
			r = acl_encode(op->val, val, sizeof(val), &n);
		} else {
			snprintf(name, sizeof(name), "%s", op->arg);
			n = xattr_value(op->val, val, sizeof(val));
		}
		if (r == 0) {
			_cleanup_close_ int fd = openat(dirfd, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			r = fd < 0 || setxattr(proc, name, val, n, 0) < 0 ? negative_errno() : 0;
		}
		break;
	}
	case FST_RMXATTR: {
		_cleanup_close_ int fd = openat(dirfd, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		r = fd < 0 || removexattr(proc, op->arg) < 0 ? negative_errno() : 0;
		break;
	}
	case FST_MKFIFO:
		r = mkfifoat(dirfd, p, 0644) < 0 ? negative_errno() : 0;
		break;
	case FST_STAT: {
		struct stat st;
		if (fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = negative_errno();
		else
			put_stat(s, &st, extra, sizeof(extra));
		break;
	}
	case FST_KEEP: {
		if (op->num < 0 || op->num >= FST_SLOTS)
			return -EINVAL;
		if (s->slots[op->num] >= 0)
			close(s->slots[op->num]);
		s->slots[op->num] = openat(dirfd, p, (int)op->num2 | O_CLOEXEC, 0644);
		r = s->slots[op->num] < 0 ? negative_errno() : 0;
		break;
	}
	case FST_PREAD:
	case FST_PWRITE:
	case FST_FSTAT:
	case FST_CLOSE: {
		if (op->num < 0 || op->num >= FST_SLOTS)
			return -EINVAL;
		int fd = s->slots[op->num];
		if (fd < 0) {
			r = -EBADF;
		} else if (op->op == FST_PREAD) {
			char h[32];
			r = read_all_hash(fd, h, sizeof(h));
			if (r == 0)
				put(extra, sizeof(extra), " data=%s", h);
		} else if (op->op == FST_PWRITE) {
			ssize_t n = pwrite(fd, op->arg, strlen(op->arg), 0);
			r = n < 0 ? negative_errno() : 0;
		} else if (op->op == FST_FSTAT) {
			struct stat st;
			if (fstat(fd, &st) < 0)
				r = negative_errno();
			else
				put_stat(s, &st, extra, sizeof(extra));
		} else {
			r = close(fd) < 0 ? negative_errno() : 0;
			s->slots[op->num] = -EBADF;
		}
		break;
	}
	case FST_READDIR:
		r = list_dir(dirfd, p, extra, sizeof(extra));
		break;
	case FST_STATFS: {
		_cleanup_close_ int fd = openat(dirfd, p, O_RDONLY | O_CLOEXEC);
		struct statfs sfs;
		if (fd < 0 || fstatfs(fd, &sfs) < 0)
			r = negative_errno();
		else
			put(extra, sizeof(extra), " fstype=%s namelen=%ld blocks=%s", fs_type_name((long)sfs.f_type),
			    (long)sfs.f_namelen, sfs.f_blocks > 0 ? "yes" : "no");
		break;
	}
	case FST_MASS:
		for (long i = 0; i < op->num && r == 0; i++) {
			char name[512];
			snprintf(name, sizeof(name), "%s/f%03ld", p, i);
			r = write_at(dirfd, name, name, O_CREAT | O_TRUNC);
		}
		break;
	case FST_MASSREN:
		for (long i = 0; i < op->num && r == 0; i++) {
			char from[512], to[512];
			snprintf(from, sizeof(from), "%s/f%03ld", p, i);
			snprintf(to, sizeof(to), "%s/g%03ld", op->arg, i);
			r = renameat(dirfd, from, dirfd, to) < 0 ? negative_errno() : 0;
		}
		break;
	}
	snprintf(out, len, "ret=%s%s", r == 0 ? "0" : strerrorname_np(-r) ? strerrorname_np(-r) : "E?", extra);
	return 0;
}
