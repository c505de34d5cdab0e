/* SPDX-License-Identifier: Apache-2.0 */
/* unlink, rmdir, rm -r of lower trees, re-creation after delete (whiteout,
 * then a new entry; opaque directories), readdir after each. */
#include "sc.h"

#define TREE OPS(MKDIR("d"), WRITE("d/a", "a"), MKDIR("d/sub"), WRITE("d/sub/b", "b"), WRITE("f", "f"))

static const struct fst_scenario v[] = {
	SC("unlink/lower-file", "unlink a lower file", TREE, OPS(UNLINK("f"), READDIR("."))),
	SC("unlink/recreate-file", "unlink a lower file and create it again", TREE, OPS(UNLINK("f"), WRITE("f", "new"), READDIR("."))),
	SC("unlink/recreate-as-dir", "unlink a lower file, make a directory of its name", TREE,
	   OPS(UNLINK("f"), MKDIR("f"), WRITE("f/x", "x"), READDIR("f"))),
	SC("unlink/rmdir-empty", "rmdir of an empty lower directory", OPS(MKDIR("e")), OPS(RMDIR("e"), READDIR("."))),
	SC("unlink/rmdir-populated", "rmdir of a populated lower directory fails ENOTEMPTY", TREE, OPS(RMDIR("d"))),
	SC("unlink/rm-r-tree", "rm -r of a lower tree", TREE, OPS(RMRF("d"), READDIR("."))),
	SC("unlink/rm-r-recreate", "rm -r of a lower tree, then the directory again (opaque)", TREE,
	   OPS(RMRF("d"), MKDIR("d"), WRITE("d/new", "new"), READDIR("d"))),
	SC("unlink/dir-as-file", "rm -r of a lower directory, a file of its name", TREE,
	   OPS(RMRF("d"), WRITE("d", "now a file"), READDIR("."))),
	SC("unlink/all-children", "unlink every child of a lower directory, it stays", TREE,
	   OPS(UNLINK("d/a"), RMRF("d/sub"), READDIR("d"), RMDIR("d"))),
	SC("unlink/subtree", "rm -r of a lower subdirectory", TREE, OPS(RMRF("d/sub"), READDIR("d"))),
	SC("unlink/symlink", "unlink a lower symlink, its target stays", OPS(WRITE("t", "t"), SYMLINK("l", "t")),
	   OPS(UNLINK("l"), READDIR("."))),
	SC("unlink/fifo", "unlink a lower fifo", OPS(MKFIFO("p")), OPS(UNLINK("p"), READDIR("."))),
	SC("unlink/missing", "unlink a missing name fails ENOENT", OPS(MKDIR("d")), OPS(UNLINK("d/none"), RMDIR("none"))),
	SC("unlink/open-then-unlink", "a file kept open stays readable after unlink", TREE,
	   OPS(KEEP(0, "f", O_RDONLY), UNLINK("f"), PREAD(0), FSTAT(0))),
	SC("unlink/recreate-twice", "delete and re-create a lower file twice", TREE,
	   OPS(UNLINK("f"), WRITE("f", "1"), UNLINK("f"), WRITE("f", "2"), READDIR("."))),
};

FST_FAMILY(fst_family_unlink, "unlink", "unlink, rmdir, rm -r, re-create (whiteouts, opaque dirs), readdir", v);
