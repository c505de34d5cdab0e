/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl import-rootfs: a one-layer image from a directory or a layer tar,
 * like `docker import`.  A directory is archived in sorted order (each
 * directory's entries by name, children right after their directory), with
 * owners, modes, ns mtimes, xattrs and hard links, so the same tree gives
 * the same layer digest.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "image/image-internal.h"

#define COPY_CHUNK ((size_t)1 << 20)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive, archive_write_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive_entry, archive_entry_free)

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct tar_walk {
	struct archive *a;
	struct snap_content_writer *w;
	struct snap_error *err;
	struct link_seen *links;
	size_t n_links;
	const char *root;
};

static la_ssize_t tw_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct tar_walk *tw = ud;
	if (snap_content_writer_write(tw->w, buf, len, tw->err) < 0) {
		archive_set_error(a, EIO, "%s", tw->err->message);
		return -1;
	}
	return (la_ssize_t)len;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_sorted(int dirfd, char ***ret, size_t *ret_n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		close(fd);
		return r;
	}
	_cleanup_closedir_ DIR *dd = d;
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char **nv = realloc(v, (n + 2) * sizeof(char *));
		if (!nv) {
			snap_strv_free(v);
			return -ENOMEM;
		}
		v = nv;
		/* v stays NULL-terminated for snap_strv_free at every step. */
		if (!(v[n] = strdup(de->d_name))) {
			snap_strv_free(v);
			return -ENOMEM;
		}
		v[++n] = NULL;
	}
	if (errno) {
		int r = negative_errno();
		snap_strv_free(v);
		return r;
	}
	if (n)
		qsort(v, n, sizeof(char *), cmp_names);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int add_xattrs(struct archive_entry *e, int fd)
{
	ssize_t len = flistxattr(fd, NULL, 0);
	if (len <= 0)
		return 0; /* none, or not supported here */
	_cleanup_free_ char *names = malloc((size_t)len);
	if (!names)
		return -ENOMEM;
	len = flistxattr(fd, names, (size_t)len);
	if (len < 0)
		return 0;
	for (char *n = names; n < names + len; n += strlen(n) + 1) {
		/* overlay's private xattrs describe the storage, not the tree. */
		if (strncmp(n, "trusted.overlay.", 16) == 0 || strncmp(n, "user.overlay.", 13) == 0)
			continue;
		ssize_t vl = fgetxattr(fd, n, NULL, 0);
		if (vl < 0)
			continue;
		_cleanup_free_ char *val = malloc((size_t)vl + 1);
		if (!val)
			return -ENOMEM;
		vl = fgetxattr(fd, n, val, (size_t)vl);
		if (vl < 0)
			continue;
		archive_entry_xattr_add_entry(e, n, val, (size_t)vl);
	}
	return 0;
}

static int walk(struct tar_walk *tw, int dirfd, const char *prefix);

static int add_one(struct tar_walk *tw, int dirfd, const char *name, const char *prefix)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		int r = negative_errno();
		return snap_error_set(tw->err, r, "import-rootfs %s: stat %s%s: %s", tw->root, prefix, name,
				      strerror(-r));
	}
	if (S_ISSOCK(st.st_mode))
		return 0; /* sockets cannot be archived; docker skips them too */
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s%s%s", prefix, name, S_ISDIR(st.st_mode) ? "/" : "") < 0)
		return snap_error_set(tw->err, -ENOMEM, "import-rootfs: out of memory");
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	if (!e)
		return snap_error_set(tw->err, -ENOMEM, "import-rootfs: out of memory");
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, st.st_mode);
	archive_entry_set_uid(e, st.st_uid);
	archive_entry_set_gid(e, st.st_gid);
	archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	archive_entry_set_size(e, 0);

	_cleanup_close_ int fd = -EBADF;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		fd = openat(dirfd, name,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		if (fd < 0) {
			int r = negative_errno();
			return snap_error_set(tw->err, r, "import-rootfs %s: open %s: %s", tw->root, path,
					      strerror(-r));
		}
		if (add_xattrs(e, fd) < 0)
			return snap_error_set(tw->err, -ENOMEM, "import-rootfs: out of memory");
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			int r = negative_errno();
			return snap_error_set(tw->err, r, "import-rootfs %s: readlink %s: %s", tw->root, path,
					      strerror(-r));
		}
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		archive_entry_set_rdevmajor(e, major(st.st_rdev));
		archive_entry_set_rdevminor(e, minor(st.st_rdev));
	} else if (S_ISREG(st.st_mode)) {
		bool linked = false;
		if (st.st_nlink > 1) {
			for (size_t i = 0; i < tw->n_links; i++)
				if (tw->links[i].dev == st.st_dev && tw->links[i].ino == st.st_ino) {
					archive_entry_set_hardlink(e, tw->links[i].path);
					linked = true;
					break;
				}
			if (!linked) {
				struct link_seen *nv = realloc(tw->links, (tw->n_links + 1) * sizeof(*nv));
				if (!nv)
					return snap_error_set(tw->err, -ENOMEM, "import-rootfs: out of memory");
				tw->links = nv;
				tw->links[tw->n_links++] = (struct link_seen){st.st_dev, st.st_ino, strdup(path)};
			}
		}
		if (!linked)
			archive_entry_set_size(e, st.st_size);
	}
	if (archive_write_header(tw->a, e) != ARCHIVE_OK)
		return snap_error_set(tw->err, -EIO, "import-rootfs %s: archive %s: %s", tw->root, path,
				      archive_error_string(tw->a));
	if (S_ISREG(st.st_mode) && archive_entry_size(e) > 0) {
		_cleanup_free_ char *buf = malloc(COPY_CHUNK);
		if (!buf)
			return snap_error_set(tw->err, -ENOMEM, "import-rootfs: out of memory");
		int64_t left = st.st_size;
		while (left > 0) {
			ssize_t n = read(fd, buf, COPY_CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				int r = negative_errno();
				return snap_error_set(tw->err, r, "import-rootfs %s: read %s: %s", tw->root, path,
						      strerror(-r));
			}
			if (n == 0)
				return snap_error_set(tw->err, -EIO, "import-rootfs %s: %s shrank while archived",
						      tw->root, path);
			if (n > left)
				n = (ssize_t)left;
			if (archive_write_data(tw->a, buf, (size_t)n) < 0)
				return snap_error_set(tw->err, -EIO, "import-rootfs %s: archive %s: %s", tw->root,
						      path, archive_error_string(tw->a));
			left -= n;
		}
	}
	if (S_ISDIR(st.st_mode))
		return walk(tw, fd, path);
	return 0;
}

static int walk(struct tar_walk *tw, int dirfd, const char *prefix)
{
	_cleanup_(snap_strv_freep) char **names = NULL;
	size_t n = 0;
	int r = list_sorted(dirfd, &names, &n);
	if (r < 0)
		return snap_error_set(tw->err, r, "import-rootfs %s: read directory %s: %s", tw->root,
				      *prefix ? prefix : ".", strerror(-r));
	for (size_t i = 0; i < n; i++) {
		r = add_one(tw, dirfd, names[i], prefix);
		if (r < 0)
			return r;
	}
	return 0;
}

static int archive_dir(int dirfd, const char *root, struct snap_content_writer *w, struct snap_error *err)
{
	struct tar_walk tw = {.w = w, .err = err, .root = root};
	_cleanup_(archive_write_freep) struct archive *a = archive_write_new();
	if (!a)
		return snap_error_set(err, -ENOMEM, "import-rootfs: out of memory");
	tw.a = a;
	archive_write_set_format_pax(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open2(a, &tw, NULL, tw_write, NULL, NULL) != ARCHIVE_OK)
		return snap_error_set(err, -EIO, "import-rootfs %s: %s", root, archive_error_string(a));
	int r = walk(&tw, dirfd, "");
	if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
		r = snap_error_set(err, -EIO, "import-rootfs %s: %s", root, archive_error_string(a));
	for (size_t i = 0; i < tw.n_links; i++)
		free(tw.links[i].path);
	free(tw.links);
	return r;
}

static int copy_file(int fd, const char *path, struct snap_content_writer *w, struct snap_error *err)
{
	_cleanup_free_ char *buf = malloc(COPY_CHUNK);
	if (!buf)
		return snap_error_set(err, -ENOMEM, "import-rootfs: out of memory");
	for (;;) {
		ssize_t n = read(fd, buf, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = negative_errno();
			return snap_error_set(err, r, "import-rootfs: read %s: %s", path, strerror(-r));
		}
		if (n == 0)
			return 0;
		int r = snap_content_writer_write(w, buf, (size_t)n, err);
		if (r < 0)
			return r;
	}
}

static int rootfs_run(struct snap_core *core, const char *path, const char *tag,
		      struct img_created *created, char **new_blob, char id[SNAP_DIGEST_MAX],
		      struct snap_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = negative_errno();
		return snap_error_set(err, r, "import-rootfs: open %s: %s", path, strerror(-r));
	}
	_cleanup_(snap_content_writer_freep) struct snap_content_writer *w = NULL;
	int r = snap_content_writer_new(core, &w, err);
	if (r < 0)
		return r;
	if (S_ISDIR(st.st_mode))
		r = archive_dir(fd, path, w, err);
	else if (S_ISREG(st.st_mode))
		r = copy_file(fd, path, w, err);
	else
		r = snap_error_set(err, -EINVAL, "import-rootfs: %s is not a directory or a tar", path);
	if (r < 0)
		return r;
	bool added = false;
	r = snap_content_writer_finish(w, NULL, -1, err);
	if (r == 0)
		r = snap_content_writer_publish(w, &added, err);
	if (r < 0)
		return r;
	struct img_layer layer = {0};
	snprintf(layer.blob_digest, SNAP_DIGEST_MAX, "%s", snap_content_writer_digest(w));
	if (added && !(*new_blob = strdup(layer.blob_digest)))
		return snap_error_set(err, -ENOMEM, "import-rootfs: out of memory");
	uint64_t blob_size = snap_content_writer_size(w);
	_cleanup_close_ int bfd = snap_content_open(core, layer.blob_digest, NULL, err);
	if (bfd < 0)
		return bfd;
	const char *mt = oci_layer_media_type_sniff(bfd);
	r = img_unpack_one(core, NULL, &layer, created, NULL, err);
	if (r < 0)
		return snap_error_prefix(err, "import-rootfs %s", path);

	char now[64];
	oci_format_time(now, sizeof(now), snap_now_ns());
	_cleanup_free_ char *comment = NULL;
	if (asprintf(&comment, "Imported from %s", path) < 0)
		return snap_error_set(err, -ENOMEM, "import-rootfs: out of memory");
	_cleanup_(json_decrefp) json_t *config = json_pack(
		"{s:s, s:s, s:s, s:{}, s:{s:s, s:[s]}, s:[{s:s, s:s, s:s}]}", "created", now, "architecture",
		oci_host_arch(), "os", "linux", "config", "rootfs", "type", "layers", "diff_ids", layer.diff_id,
		"history", "created", now, "created_by", "snapctl import-rootfs", "comment", comment);
	if (!config)
		return snap_error_set(err, -ENOMEM, "import-rootfs: out of memory");
	return img_create(core, config, &layer, &mt, &blob_size, 1, tag, id, err);
}

int snap_image_import_rootfs(struct snap_core *core, const char *path,
			     const struct snap_import_opts *opts, struct snap_import_result *ret,
			     struct snap_error *err)
{
	if (!opts || !opts->name)
		return snap_error_set(err, -EINVAL, "import-rootfs %s: a NAME:TAG is required", path);
	_cleanup_free_ char *tag = NULL;
	int r = snap_image_ref_normalize(opts->name, &tag, err);
	if (r < 0)
		return r;
	_cleanup_close_ int lock = snap_content_lock(core, false, err);
	if (lock < 0)
		return lock;
	struct img_created created = {0};
	_cleanup_free_ char *new_blob = NULL;
	char id[SNAP_DIGEST_MAX];
	size_t n_new = 0;
	r = rootfs_run(core, path, tag, &created, &new_blob, id, err);
	if (r < 0) {
		img_created_rollback(core, &created);
		if (new_blob && img_db_blob_referenced(core, new_blob, NULL) == 0)
			snap_content_delete(core, new_blob, NULL);
		return r;
	}
	n_new = created.n;
	img_created_done(&created);
	if (ret) {
		*ret = (struct snap_import_result){.n_layers = 1, .n_layers_new = n_new};
		snprintf(ret->id, sizeof(ret->id), "%s", id);
		ret->name = TAKE_PTR(tag);
	}
	return 0;
}
