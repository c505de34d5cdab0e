/* SPDX-License-Identifier: Apache-2.0 */
/* rename: files, empty and populated lower directories (EXDEV without
 * overlay's redirect_dir, a redirect with it), into new directories, over
 * existing entries, RENAME_NOREPLACE/EXCHANGE, many at once. */
#include "sc.h"

#define TREE OPS(MKDIR("d"), WRITE("d/a", "a"), MKDIR("d/sub"), WRITE("d/sub/b", "b"))

static const struct fst_scenario v[] = {
	SC("rename/file", "rename a lower file", OPS(WRITE("f", "data")), OPS(RENAME("f", "g"), READDIR("."))),
	SC("rename/file-into-new-dir", "rename a lower file into a new directory", OPS(WRITE("f", "data")),
	   OPS(MKDIR("n"), RENAME("f", "n/f"), READDIR("n"))),
	SC("rename/empty-lower-dir", "rename an empty lower directory", OPS(MKDIR("e")), OPS(RENAME("e", "e2"), READDIR("."))),
	SC("rename/populated-lower-dir", "rename a populated lower directory", TREE, OPS(RENAME("d", "d2"), READDIR("d2"))),
	SC("rename/populated-then-write", "rename a populated lower directory, then write in it", TREE,
	   OPS(RENAME("d", "d2"), APPEND("d2/a", "+a"), WRITE("d2/sub/c", "c"))),
	SC("rename/dir-into-new-dir", "move a populated lower directory into a new directory", TREE,
	   OPS(MKDIR("n"), RENAME("d", "n/d"), READDIR("n/d"))),
	SC("rename/over-file", "rename a lower file over another", OPS(WRITE("f", "file f"), WRITE("g", "g")),
	   OPS(RENAME("f", "g"), STAT("g"))),
	SC("rename/over-empty-dir", "rename a populated lower directory over an empty one",
	   OPS(MKDIR("d"), WRITE("d/a", "a"), MKDIR("e")), OPS(RENAME("d", "e"), READDIR("e"))),
	SC("rename/over-populated-dir", "rename over a populated directory fails ENOTEMPTY",
	   OPS(MKDIR("d"), MKDIR("e"), WRITE("e/x", "x")), OPS(RENAME("d", "e"))),
	SC("rename/noreplace", "RENAME_NOREPLACE onto an existing name fails EEXIST", OPS(WRITE("f", "f"), WRITE("g", "g")),
	   OPS(RENAME2("f", "g", RENAME_NOREPLACE))),
	/* Both names keep size, mtime, mode and owner: only the bytes (and the
	 * ctime) say the layer must hold them (docs/fstest.md, finding 4). */
	SC_LAYER("rename/exchange-files", "RENAME_EXCHANGE of two lower files of one size and mtime",
		 OPS(WRITE("f", "f"), WRITE("g", "g"), UTIMES_NS("f", 1000000000, 5), UTIMES_NS("g", 1000000000, 5)),
		 OPS(RENAME2("f", "g", RENAME_EXCHANGE)), "diff f", "diff g"),
	/* mv over a lower file written in the same timer tick: the mtimes are
	 * equal to the nanosecond (set here, as the tick would). */
	SC_LAYER("rename/over-same-size-mtime", "mv a new file over a lower file of one size and mtime",
		 OPS(WRITE("g", "g"), UTIMES_NS("g", 1000000000, 5)),
		 OPS(WRITE("f", "f"), UTIMES_NS("f", 1000000000, 5), RENAME("f", "g"), STAT("g")), "diff g"),
	SC("rename/exchange-dir-file", "RENAME_EXCHANGE of a lower directory and a file",
	   OPS(MKDIR("d"), WRITE("d/a", "a"), WRITE("f", "f")), OPS(RENAME2("d", "f", RENAME_EXCHANGE), READDIR("f"))),
	SC("rename/mass-within", "rename 40 lower files within their directory", OPS(MKDIR("d"), MASS("d", 40)),
	   OPS(MASSREN("d", "d", 40), READDIR("d"))),
	SC("rename/mass-across", "move 40 lower files to another lower directory",
	   OPS(MKDIR("a"), MASS("a", 40), MKDIR("b")), OPS(MASSREN("a", "b", 40), READDIR("a"), READDIR("b"))),
	SC("rename/upper-dir", "rename a directory made in the snapshot", OPS(MKDIR("x")),
	   OPS(MKDIR("u"), WRITE("u/f", "f"), RENAME("u", "v"), READDIR("v"))),
	SC("rename/back-and-forth", "rename a lower file away and back", OPS(WRITE("f", "data")),
	   OPS(RENAME("f", "g"), RENAME("g", "f"), STAT("f"))),
	SC("rename/dir-over-deleted", "rename a populated lower directory onto the name of a deleted one",
	   OPS(MKDIR("d"), WRITE("d/old", "old"), MKDIR("e"), WRITE("e/new", "new")), OPS(RMRF("d"), RENAME("e", "d"), READDIR("d"))),
	SC("rename/file-over-dir", "rename a file over a directory fails EISDIR", OPS(WRITE("f", "f"), MKDIR("d")),
	   OPS(RENAME("f", "d"))),
	SC("rename/dir-into-itself", "rename a directory into its own child fails EINVAL", TREE, OPS(RENAME("d", "d/sub/d"))),
};

FST_FAMILY(fst_family_rename, "rename", "files, lower directories (redirect_dir), over entries, exchange, many", v);
