/* SPDX-License-Identifier: Apache-2.0 */
/* Workload 2: unpack.  Apply a generated gzip layer (many small files and a
 * few large ones) and, where Debian's busybox-static is installed, a
 * busybox root filesystem layer, into a fresh snapshot. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/layer.h"
#include "util/macro.h"
#include "wl-util.h"

#define BUSYBOX "/bin/busybox"

/* A busybox layer: the static binary plus one symlink per applet, as the
 * busybox image on Docker Hub has. */
static int gen_busybox_layer(const char *path, struct snap_error *err)
{
	struct stat st;
	if (stat(BUSYBOX, &st) < 0)
		return snap_error_set(err, -ENOENT, "bench: %s not installed", BUSYBOX);
	static const char *const applets[] = { "sh", "ls", "cat", "echo", "true", "false", "cp", "mv",
					       "rm", "mkdir", "touch", "sleep", "env", "id", "ps", "grep",
					       "sed", "awk", "tar", "vi", "wget", "mount", "find", "head" };
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		int r = snap_error_set(err, -EIO, "bench: create %s: %s", path, archive_error_string(a));
		archive_write_free(a);
		return r;
	}
	struct archive_entry *e = archive_entry_new();
	int r = 0;
	const char *dirs[] = { "bin/", "etc/", "tmp/", "root/", "usr/", "usr/bin/" };
	for (size_t i = 0; i < ELEMENTSOF(dirs) && r == 0; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, dirs[i]);
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, strcmp(dirs[i], "tmp/") ? 0755 : 01777);
		r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -EIO;
	}
	_cleanup_close_ int fd = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = malloc((size_t)st.st_size);
	if (r == 0 && (fd < 0 || !buf || read(fd, buf, (size_t)st.st_size) != st.st_size))
		r = -EIO;
	if (r == 0) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, "bin/busybox");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0755);
		archive_entry_set_size(e, st.st_size);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    archive_write_data(a, buf, (size_t)st.st_size) != st.st_size)
			r = -EIO;
	}
	for (size_t i = 0; i < ELEMENTSOF(applets) && r == 0; i++) {
		char name[64];
		snprintf(name, sizeof(name), "bin/%s", applets[i]);
		archive_entry_clear(e);
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0777);
		archive_entry_set_symlink(e, "busybox");
		r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -EIO;
	}
	if (r < 0)
		snap_error_set(err, r, "bench: write %s: %s", path, archive_error_string(a));
	if (archive_write_close(a) != ARCHIVE_OK && r == 0)
		r = snap_error_set(err, -EIO, "bench: close %s: %s", path, archive_error_string(a));
	archive_entry_free(e);
	archive_write_free(a);
	return r;
}

struct unpack_state {
	char generated[4200];
	char busybox[4200];
	bool have_busybox;
	char archive[4200];    /* the busybox image as an OCI archive */
	char import_root[4200]; /* a snapctl root of its own: the import starts from an empty store */
	bool have_archive;
};

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct unpack_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	/* The layers are shared by all drivers: made once, in the work dir. */
	snprintf(s->generated, sizeof(s->generated), "%s/unpack-generated.tar.gz", b->work);
	snprintf(s->busybox, sizeof(s->busybox), "%s/unpack-busybox.tar.gz", b->work);
	if (access(s->generated, F_OK) < 0) {
		int r = bench_gen_layer(s->generated, b->seed, b->scale->unpack_small_files,
					b->scale->unpack_large_files, b->scale->unpack_large_size, err);
		if (r < 0)
			return r;
	}
	struct snap_error berr = { 0 };
	s->have_busybox = access(s->busybox, F_OK) == 0 || gen_busybox_layer(s->busybox, &berr) == 0;
	/* `snapctl import` of the OCI archive the peers import: the same
	 * command-level work (content ingest + unpack) as theirs. */
	snprintf(s->import_root, sizeof(s->import_root), "%s-import", env->root);
	const char *init[] = { "images", NULL };
	s->have_archive = bench_busybox_archive(b, s->archive, sizeof(s->archive), &berr) == 0 &&
			  bench_snapctl(b, s->import_root, env->driver, init) == 0;
	return 0;
}

static int apply_one(struct bench_ctx *b, struct bench_env *env, const char *layer, const char *metric,
		     int runno, struct snap_error *err)
{
	char key[64];
	snprintf(key, sizeof(key), "unpack-%d-%s", runno, metric);
	int r = snap_prepare(env->core, key, NULL, NULL, NULL, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(layer, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		wl_remove_quiet(env, key);
		return snap_error_set(err, negative_errno(), "bench: open %s: %m", layer);
	}
	int64_t t = bench_now_ns();
	r = snap_layer_apply_fd(env->core, key, fd, NULL, err);
	if (r == 0)
		bench_record(b, env, metric, "ms", bench_ms_since(t));
	wl_remove_quiet(env, key);
	return r;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	struct unpack_state *s = state;
	int r = apply_one(b, env, s->generated, "generated layer", runno, err);
	if (r == 0 && s->have_busybox)
		r = apply_one(b, env, s->busybox, "busybox layer", runno, err);
	if (r == 0 && s->have_archive) {
		const char *imp[] = { "import", "--name", "bench-import:latest", s->archive, NULL };
		const char *rmi[] = { "rmi", "bench-import:latest", NULL };
		const char *gc[] = { "gc", NULL };
		int64_t t = bench_now_ns();
		int q = bench_snapctl(b, s->import_root, env->driver, imp);
		double ms = bench_ms_since(t);
		if (q != 0)
			return snap_error_set(err, -EIO, "bench: snapctl import on %s exited with %d", env->driver, q);
		bench_record(b, env, "busybox image import", "ms", ms);
		bench_snapctl(b, s->import_root, env->driver, rmi);
		bench_snapctl(b, s->import_root, env->driver, gc);
	}
	return r;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	free(state);
}

const struct bench_workload bench_wl_unpack = {
	.name = "unpack",
	.description = "apply a generated image layer and the busybox layer",
	.setup = setup,
	.run = run,
	.teardown = teardown,
	.peers = true,
};
