/* SPDX-License-Identifier: Apache-2.0 */
/* Changes whose persistence is the point: every scenario is observed again
 * after a remount, in a view of the commit and in the committed layer;
 * these make the layer hold each kind of entry (whiteouts, opaque and
 * renamed directories, metacopy files, hard links, sparse and empty files,
 * fifos, deep trees). */
#include "sc.h"

#define TREE OPS(MKDIR("d"), WRITE("d/a", "a"), MKDIR("d/sub"), WRITE("d/sub/b", "b"), WRITE("f", "f"))

static const struct fst_scenario v[] = {
	SC("persist/whiteout", "a deleted lower file is a whiteout in the layer", TREE, OPS(UNLINK("f"))),
	SC("persist/opaque", "a re-created lower directory is opaque in the layer", TREE, OPS(RMRF("d"), MKDIR("d"), WRITE("d/x", "x"))),
	SC("persist/renamed-dir", "a renamed lower directory in the layer", TREE, OPS(RENAME("d", "r"))),
	SC("persist/renamed-dir-changed", "a renamed lower directory with a change below it", TREE,
	   OPS(RENAME("d", "r"), UNLINK("r/a"))),
	SC("persist/metadata-only", "a chmod-only file carries its data into the layer", TREE, OPS(CHMOD("f", 0600))),
	SC("persist/xattr", "an xattr set in the snapshot", TREE, OPS(SETXATTR("d/a", "user.k", "v"))),
	SC("persist/hardlink-new", "two names of a new file", OPS(MKDIR("d")), OPS(WRITE("d/x", "x"), LINK("d/x", "d/y"))),
	SC("persist/hardlink-lower-copyup", "a written lower hard link pair", OPS(WRITE("f", "pair"), LINK("f", "g")),
	   OPS(APPEND("g", "+g"))),
	SC("persist/sparse", "a file grown sparse", TREE, OPS(TRUNC("f", 1 << 20))),
	SC("persist/empty-file", "an empty new file", OPS(MKDIR("d")), OPS(WRITE("d/e", ""))),
	SC("persist/fifo", "a new fifo", OPS(MKDIR("d")), OPS(MKFIFO("d/p"))),
	SC("persist/deep", "a deep new tree", OPS(MKDIR("a")),
	   OPS(MKDIR("a/b"), MKDIR("a/b/c"), MKDIR("a/b/c/d"), MKDIR("a/b/c/d/e"), WRITE("a/b/c/d/e/f", "deep"))),
	SC("persist/dir-mode", "a chmod of a lower directory", TREE, OPS(CHMOD("d", 0700))),
	SC("persist/utimes-dir", "utimes of a lower directory", TREE, OPS(UTIMES("d", 1000000000))),
};

FST_FAMILY(fst_family_persist, "persist", "remount, commit + view and the committed layer of every kind of change", v);
