/* SPDX-License-Identifier: Apache-2.0 */
/* open, creat, truncate, O_EXCL on lower files, through symlinks (one and
 * two hops, dangling, to a directory) and on missing files; fds kept open
 * across a copy-up. */
#include "sc.h"

static const struct fst_scenario v[] = {
	SC("open/rdonly-lower", "read-only open of a lower file copies nothing up",
	   OPS(WRITE("f", "lower data")), OPS(OPEN("f", O_RDONLY), STAT("f"))),
	SC("open/wronly-lower", "write open of a lower file without writing",
	   OPS(WRITE("f", "lower data")), OPS(OPEN("f", O_WRONLY), STAT("f"))),
	SC("open/trunc-lower", "O_TRUNC on a lower file",
	   OPS(WRITE("f", "lower data")), OPS(OPEN("f", O_WRONLY | O_TRUNC), STAT("f"))),
	SC("open/append-lower", "append to a lower file",
	   OPS(WRITE("f", "lower data")), OPS(APPEND("f", "+upper"))),
	SC("open/creat-existing", "O_CREAT on an existing lower file keeps its data",
	   OPS(WRITE("f", "lower data")), OPS(OPEN("f", O_WRONLY | O_CREAT))),
	SC("open/excl-lower", "O_CREAT|O_EXCL on a lower file fails EEXIST",
	   OPS(WRITE("f", "lower data")), OPS(OPEN("f", O_WRONLY | O_CREAT | O_EXCL))),
	SC("open/excl-missing", "O_CREAT|O_EXCL on a missing name creates it",
	   OPS(MKDIR("d")), OPS(OPEN("d/new", O_WRONLY | O_CREAT | O_EXCL), READDIR("d"))),
	SC("open/missing", "read-only open of a missing file",
	   OPS(MKDIR("d")), OPS(OPEN("d/none", O_RDONLY), OPEN("none/x", O_RDONLY))),
	SC("open/truncate-shrink", "truncate(2) of a lower file to 2 bytes",
	   OPS(WRITE("f", "lower data")), OPS(TRUNC("f", 2), STAT("f"))),
	SC("open/truncate-grow", "truncate(2) of a lower file to 1 MiB (sparse)",
	   OPS(WRITE("f", "lower data")), OPS(TRUNC("f", 1 << 20), STAT("f"))),
	SC("open/symlink-write", "append through a symlink to a lower file",
	   OPS(WRITE("f", "lower data"), SYMLINK("l", "f")), OPS(APPEND("l", "+via link"), STAT("f"))),
	SC("open/symlink-two-hops", "truncate through two symlinks",
	   OPS(WRITE("f", "lower data"), SYMLINK("l1", "f"), SYMLINK("l2", "l1")), OPS(TRUNC("l2", 3))),
	SC("open/symlink-dangling-creat", "O_CREAT through a dangling symlink creates its target",
	   OPS(SYMLINK("l", "target")), OPS(OPEN("l", O_WRONLY | O_CREAT), READDIR("."))),
	SC("open/symlink-dangling-excl", "O_CREAT|O_EXCL on a dangling symlink fails EEXIST",
	   OPS(SYMLINK("l", "target")), OPS(OPEN("l", O_WRONLY | O_CREAT | O_EXCL))),
	SC("open/symlink-to-dir", "create a file through a symlink to a lower directory",
	   OPS(MKDIR("d"), WRITE("d/a", "a"), SYMLINK("ld", "d")),
	   OPS(WRITE("ld/new", "new"), OPEN("ld", O_RDONLY | O_DIRECTORY), READDIR("d"))),
	SC("open/nofollow", "O_NOFOLLOW on a symlink fails ELOOP, O_PATH|O_NOFOLLOW works",
	   OPS(WRITE("f", "x"), SYMLINK("l", "f")), OPS(OPEN("l", O_RDONLY | O_NOFOLLOW), OPEN("l", O_PATH | O_NOFOLLOW))),
	SC("open/dir-write", "write open of a lower directory fails EISDIR",
	   OPS(MKDIR("d")), OPS(OPEN("d", O_WRONLY), OPEN("d", O_RDONLY | O_DIRECTORY))),
	SC("open/keep-ro-across-copyup", "a read-only fd opened before a copy-up reads what is written after it",
	   OPS(WRITE("f", "lower data")), OPS(KEEP(0, "f", O_RDONLY), PREAD(0), WRITE("f", "rewritten"), PREAD(0), FSTAT(0), STAT("f"))),
	SC("open/keep-rw-pwrite", "pwrite on a read-write fd of a lower file, read back by a second fd",
	   OPS(WRITE("f", "lower data")), OPS(KEEP(0, "f", O_RDWR), PWRITE(0, "XY"), KEEP(1, "f", O_RDONLY), PREAD(1), PREAD(0))),
};

FST_FAMILY(fst_family_open, "open", "open, creat, truncate, O_EXCL, symlinks, missing files", v);
