/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tar applier on arbitrary input.  Each input is applied to a fresh
 * base tree beside a sentinel directory; afterwards nothing outside the
 * tree may have changed, no undo directory may be left, and a failed apply
 * must leave the tree exactly as it was (the undo journal's promise).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "layer/layer-internal.h"
#include "layer/layer.h"
#include "util/fs-util.h"
#include "util/macro.h"

static int put_file(int dirfd, const char *name, const char *content)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : snap_write_all(fd, content, strlen(content));
}

/* The base every input lands on: the shapes layers love to trip over (a
 * nested directory, a symlink to a file and one to a directory, a
 * hardlinked file). */
static void make_base(int treefd)
{
	if (mkdirat(treefd, "etc", 0755) < 0 || mkdirat(treefd, "dir", 0755) < 0 ||
	    mkdirat(treefd, "dir/sub", 0700) < 0 || put_file(treefd, "etc/passwd", "root\n") < 0 ||
	    put_file(treefd, "dir/file", "f\n") < 0 || put_file(treefd, "dir/sub/deep", "deep\n") < 0 ||
	    symlinkat("etc/passwd", treefd, "plink") < 0 || symlinkat("dir", treefd, "dlink") < 0 ||
	    linkat(treefd, "dir/file", treefd, "hard", 0) < 0)
		fuzz_fail("make base tree: %s", strerror(errno));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_scratch();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char outer[512];
	snprintf(outer, sizeof(outer), "%s/case.XXXXXX", fuzz_scratch());
	if (!mkdtemp(outer))
		fuzz_fail("mkdtemp: %s", strerror(errno));
	_cleanup_close_ int outfd = open(outer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (outfd < 0 || mkdirat(outfd, "tree", 0755) < 0 || mkdirat(outfd, "outside", 0755) < 0 ||
	    put_file(outfd, "outside/sentinel", "sentinel\n") < 0)
		fuzz_fail("set up %s: %s", outer, strerror(errno));
	_cleanup_close_ int treefd = openat(outfd, "tree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (treefd < 0)
		fuzz_fail("open tree: %s", strerror(errno));
	make_base(treefd);
	_cleanup_close_ int outsidefd = openat(outfd, "outside", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *before = fuzz_tree_dump(treefd);
	_cleanup_free_ char *outside_before = outsidefd >= 0 ? fuzz_tree_dump(outsidefd) : NULL;
	if (!before || !outside_before)
		fuzz_fail("dump the base tree");

	_cleanup_close_ int in = fuzz_memfd(data, size);
	struct snap_error err = { 0 };
	struct snap_layer_digests dg;
	int r = snap_layer_apply_dirfd(treefd, in, NULL, &dg, &err);
	if (r < 0 && !err.message[0])
		fuzz_fail("apply failed (%d) without a message", r);
	if (r > 0)
		fuzz_fail("apply returned %d", r);

	/* Outside the tree: tree/ and outside/ only, outside/ unchanged. */
	struct stat st;
	if (fstatat(outfd, "outside", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		fuzz_fail("outside/ is gone or replaced");
	_cleanup_free_ char *outside_after = fuzz_tree_dump(outsidefd);
	if (!outside_after || strcmp(outside_before, outside_after) != 0)
		fuzz_fail("something changed outside the tree:\n%s", outside_after ? outside_after : "(unreadable)");
	_cleanup_(snap_names_done) struct snap_names top = { 0 };
	if (snap_dir_list_sorted(outfd, NULL, &top) < 0 || top.n != 2)
		fuzz_fail("an entry appeared beside the tree (%zu entries)", top.n);

	_cleanup_(snap_names_done) struct snap_names names = { 0 };
	if (snap_dir_list_sorted(treefd, NULL, &names) < 0)
		fuzz_fail("list the tree");
	for (size_t i = 0; i < names.n; i++)
		if (strncmp(names.v[i], SNAP_APPLY_BACKUP_PREFIX, strlen(SNAP_APPLY_BACKUP_PREFIX)) == 0)
			fuzz_fail("undo directory %s left behind (apply %s)", names.v[i], r < 0 ? "failed" : "succeeded");
	if (r < 0) {
		_cleanup_free_ char *after = fuzz_tree_dump(treefd);
		if (!after || strcmp(before, after) != 0)
			fuzz_fail("failed apply (%s) changed the tree:\n--- before\n%s--- after\n%s", err.message,
				  before, after ? after : "(unreadable)\n");
	}
	if (snap_rm_rf_at(AT_FDCWD, outer) < 0)
		fuzz_fail("remove %s: %s", outer, strerror(errno));
	return 0;
}
