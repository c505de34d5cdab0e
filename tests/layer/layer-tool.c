/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the layer engine on plain directories (no snapshotter):
 *   layer-tool apply TREE [FILE|-]          apply a layer, print digests
 *   layer-tool diff OLD NEW OUT [none|gzip|zstd]
 *   layer-tool changes OLD NEW              "A /path" lines
 * and through the snapshotter core (ROOT, DRIVER):
 *   layer-tool core ROOT DRIVER prepare KEY [PARENT] | commit NAME KEY |
 *     apply KEY FILE | diff KEY OUT [none|gzip|zstd] [generic] |
 *     changes KEY [generic] | mount KEY TARGET [ro] | unmount TARGET | rm KEY
 * Exit 0 on success, 1 with the error on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "layer/layer-internal.h"
#include "layer/layer.h"
#include <stdbool.h>
#include <stdlib.h>

static int open_dir(const char *p)
{
	int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "layer-tool: open %s: %s\n", p, strerror(errno));
	return fd;
}

static void print_digests(const struct snap_layer_digests *d)
{
	printf("diff_id %s\nblob %s\ndiff_size %" PRIu64 "\nblob_size %" PRIu64 "\nentries %" PRIu64 "\n",
	       d->diff_id, d->blob_digest, d->diff_size, d->blob_size, d->entries);
}

static void print_changes(struct snap_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		printf("%c %s\n", c->v[i].kind == SNAP_CHANGE_ADD ? 'A' : c->v[i].kind == SNAP_CHANGE_DELETE ? 'D' : 'C',
		       c->v[i].path);
}

static int core_main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	struct snap_error err = { 0 };
	struct snap_core_opts opts = {
		.root = argv[1],
		.driver = argv[2],
		.plugin_dir = getenv("SNAPCTL_TEST_PLUGIN_DIR"),
		.btrfs_size = "1G",
	};
	struct snap_core *core = NULL;
	int r = snap_core_open(&opts, &core, &err);
	const char *cmd = argv[3];
	struct snap_layer_digests d = { 0 };
	bool digests = false;
	if (r < 0) {
		/* reported below */
	} else if (strcmp(cmd, "prepare") == 0 && argc >= 5) {
		r = snap_prepare(core, argv[4], argc > 5 ? argv[5] : NULL, NULL, NULL, &err);
	} else if (strcmp(cmd, "commit") == 0 && argc >= 6) {
		r = snap_commit(core, argv[4], argv[5], NULL, &err);
	} else if (strcmp(cmd, "rm") == 0 && argc >= 5) {
		r = snap_remove(core, argv[4], &err);
	} else if (strcmp(cmd, "apply") == 0 && argc >= 6) {
		int in = open(argv[5], O_RDONLY | O_CLOEXEC);
		r = in < 0 ? snap_error_set(&err, -errno, "open %s: %s", argv[5], strerror(errno))
			   : snap_layer_apply_fd(core, argv[4], in, &d, &err);
		digests = true;
	} else if (strcmp(cmd, "diff") == 0 && argc >= 6) {
		struct snap_diff_opts o = { 0 };
		for (int i = 6; i < argc; i++) {
			if (strcmp(argv[i], "gzip") == 0)
				o.compression = SNAP_COMPRESS_GZIP;
			else if (strcmp(argv[i], "zstd") == 0)
				o.compression = SNAP_COMPRESS_ZSTD;
			else if (strcmp(argv[i], "generic") == 0)
				o.flags |= SNAP_DIFF_GENERIC;
		}
		int out = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		r = out < 0 ? snap_error_set(&err, -errno, "open %s: %s", argv[5], strerror(errno))
			    : snap_layer_diff_fd(core, argv[4], out, &o, &d, &err);
		digests = true;
	} else if (strcmp(cmd, "changes") == 0 && argc >= 5) {
		struct snap_changes c = { 0 };
		r = snap_layer_changes(core, argv[4], argc > 5 && strcmp(argv[5], "generic") == 0 ? SNAP_DIFF_GENERIC : 0,
				       &c, &err);
		if (r == 0)
			print_changes(&c);
		snap_changes_done(&c);
	} else if (strcmp(cmd, "mount") == 0 && argc >= 6) {
		r = snap_mount_at(core, argv[4], argv[5], argc > 6 && strcmp(argv[6], "ro") == 0 ? SNAP_MOUNT_RDONLY : 0,
				  &err);
	} else if (strcmp(cmd, "unmount") == 0 && argc >= 5) {
		r = snap_unmount_at(argv[4], &err);
	} else {
		snap_core_close(core);
		return 2;
	}
	snap_core_close(core);
	if (r < 0) {
		fprintf(stderr, "layer-tool: %s\n", err.message);
		return 1;
	}
	if (digests)
		print_digests(&d);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "core") == 0) {
		int r = core_main(argc - 1, argv + 1);
		if (r == 2)
			fprintf(stderr, "layer-tool core: bad arguments\n");
		return r;
	}
	struct snap_error err = { 0 };
	struct snap_layer_digests d = { 0 };
	int r;
	if (argc >= 3 && strcmp(argv[1], "apply") == 0) {
		int tree = open_dir(argv[2]);
		int in = argc > 3 && strcmp(argv[3], "-") != 0 ? open(argv[3], O_RDONLY | O_CLOEXEC) : 0;
		if (tree < 0 || in < 0) {
			if (in < 0)
				fprintf(stderr, "layer-tool: open %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
		r = snap_layer_apply_dirfd(tree, in, NULL, &d, &err);
	} else if (argc >= 5 && strcmp(argv[1], "diff") == 0) {
		int a = open_dir(argv[2]), b = open_dir(argv[3]);
		int out = strcmp(argv[4], "-") == 0 ? 1 : open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (a < 0 || b < 0 || out < 0)
			return 1;
		struct snap_diff_opts o = { 0 };
		if (argc > 5)
			o.compression = strcmp(argv[5], "gzip") == 0 ? SNAP_COMPRESS_GZIP
					: strcmp(argv[5], "zstd") == 0 ? SNAP_COMPRESS_ZSTD
								       : SNAP_COMPRESS_NONE;
		r = snap_layer_diff_dirfd(a, b, out, &o, &d, &err);
		if (r == 0 && out == 1)
			return 0;
	} else if (argc >= 4 && strcmp(argv[1], "changes") == 0) {
		int a = open_dir(argv[2]), b = open_dir(argv[3]);
		if (a < 0 || b < 0)
			return 1;
		struct snap_changes c = { 0 };
		r = snap_layer_changes_dirfd(a, b, &c, &err);
		if (r == 0) {
			print_changes(&c);
			snap_changes_done(&c);
			return 0;
		}
	} else {
		fprintf(stderr, "usage: layer-tool apply TREE [FILE|-] | diff OLD NEW OUT [none|gzip|zstd] | changes OLD NEW\n");
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "layer-tool: %s\n", err.message);
		return 1;
	}
	print_digests(&d);
	return 0;
}
