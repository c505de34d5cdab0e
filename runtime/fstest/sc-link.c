/* SPDX-License-Identifier: Apache-2.0 */
/* Hard links: to lower files, across copy-up (nlink and inode agreement
 * depend on overlay's index), to symlinks, renamed hard links. */
#include "sc.h"

#define PAIR OPS(WRITE("f", "shared data"), LINK("f", "g"))

static const struct fst_scenario v[] = {
	SC("link/lower-file", "link a lower file", OPS(WRITE("f", "data")), OPS(LINK("f", "g"), STAT("f"), STAT("g"))),
	SC("link/pair-append", "append to one of two lower hard links", PAIR, OPS(APPEND("f", "+upper"), STAT("f"), STAT("g"))),
	SC("link/pair-chmod", "chmod one of two lower hard links", PAIR, OPS(CHMOD("f", 0600), STAT("g"))),
	SC("link/pair-xattr", "set an xattr on one of two lower hard links", PAIR, OPS(SETXATTR("f", "user.k", "v"))),
	SC("link/pair-link-again", "a third link to a lower pair", PAIR, OPS(LINK("g", "h"), STAT("f"), STAT("h"))),
	SC("link/pair-rename", "rename a lower hard link, then write through it", PAIR, OPS(RENAME("g", "h"), APPEND("h", "+h"), STAT("f"))),
	SC("link/pair-unlink", "unlink one of two lower hard links", PAIR, OPS(UNLINK("f"), STAT("g"))),
	SC("link/triple-copyup", "three lower links, the middle one written", OPS(WRITE("f", "x"), LINK("f", "g"), LINK("f", "h")),
	   OPS(STAT("f"), APPEND("g", "+g"), STAT("f"), STAT("g"), STAT("h"))),
	SC("link/upper-new", "link a new file, write through the link", OPS(MKDIR("d")),
	   OPS(WRITE("d/a", "new"), LINK("d/a", "d/b"), APPEND("d/b", "+b"), STAT("d/a"))),
	SC("link/cross-dir", "link a lower file into a new directory", OPS(MKDIR("d1"), WRITE("d1/f", "data")),
	   OPS(MKDIR("d2"), LINK("d1/f", "d2/f"), STAT("d1/f"), STAT("d2/f"))),
	SC("link/symlink", "hard link to a symlink itself", OPS(WRITE("t", "target"), SYMLINK("s", "t")),
	   OPS(LINK("s", "s2"), STAT("s"), STAT("s2"))),
	SC("link/dir", "hard link to a directory fails EPERM", OPS(MKDIR("d")), OPS(LINK("d", "d2"))),
	SC("link/over-existing", "link onto an existing name fails EEXIST", OPS(WRITE("f", "1"), WRITE("g", "2")), OPS(LINK("f", "g"))),
};

FST_FAMILY(fst_family_link, "link", "hard links to lower files, across copy-up, to symlinks, renamed", v);
