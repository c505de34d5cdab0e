/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the layer engine on plain directories (no snapshotter):
 *   layer-tool apply TREE [FILE|-]          apply a layer, print digests
 *   layer-tool diff OLD NEW OUT [none|gzip|zstd]
 *   layer-tool changes OLD NEW              "A /path" lines
 * Exit 0 on success, 1 with the error on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "layer-internal.h"
#include "layer.h"

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

int main(int argc, char **argv)
{
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
			for (size_t i = 0; i < c.n; i++)
				printf("%c %s\n", c.v[i].kind == SNAP_CHANGE_ADD ? 'A'
						  : c.v[i].kind == SNAP_CHANGE_DELETE ? 'D' : 'C',
				       c.v[i].path);
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
