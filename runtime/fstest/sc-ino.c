/* SPDX-License-Identifier: Apache-2.0 */
/* st_ino/st_dev stability before and after copy-up (overlay's xino and
 * index), d_type in readdir, statfs. */
#include "sc.h"

static const struct fst_scenario v[] = {
	SC("ino/copyup-file", "st_ino of a lower file before and after its copy-up", OPS(WRITE("f", "data")),
	   OPS(STAT("f"), APPEND("f", "+x"), STAT("f"))),
	SC("ino/copyup-dir", "st_ino of a lower directory before and after a change in it", OPS(MKDIR("d")),
	   OPS(STAT("d"), WRITE("d/new", "n"), STAT("d"))),
	SC("ino/rename", "st_ino follows a renamed lower file", OPS(WRITE("f", "data")), OPS(STAT("f"), RENAME("f", "g"), STAT("g"))),
	SC("ino/fd-across-copyup", "fstat of an fd kept across a metadata copy-up", OPS(WRITE("f", "data")),
	   OPS(KEEP(0, "f", O_RDONLY), FSTAT(0), CHMOD("f", 0600), FSTAT(0), STAT("f"))),
	SC("ino/new-vs-lower", "st_dev of a new file and of a lower file", OPS(WRITE("f", "data")),
	   OPS(STAT("."), STAT("f"), WRITE("n", "new"), STAT("n"))),
	SC("ino/hardlinks-after-copyup", "st_ino of two lower hard links after one is written",
	   OPS(WRITE("f", "data"), LINK("f", "g")), OPS(APPEND("f", "+x"), STAT("f"), STAT("g"))),
	SC("ino/dtype", "d_type of every kind of lower entry", OPS(WRITE("f", "f"), MKDIR("d"), SYMLINK("l", "f"), MKFIFO("p")),
	   OPS(READDIR("."), UNLINK("f"), WRITE("f", "again"), READDIR("."))),
	SC("ino/statfs", "statfs of the mounted tree", OPS(MKDIR("d")), OPS(STATFS("."), STATFS("d"))),
	SC("ino/deleted-recreated", "a name re-created while the old file is open has a new inode", OPS(WRITE("f", "data")),
	   OPS(KEEP(0, "f", O_RDONLY), STAT("f"), UNLINK("f"), WRITE("f", "new"), STAT("f"), FSTAT(0))),
};

FST_FAMILY(fst_family_ino, "ino", "st_ino/st_dev across copy-up (xino, index), d_type, statfs", v);
