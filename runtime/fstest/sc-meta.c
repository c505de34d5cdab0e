/* SPDX-License-Identifier: Apache-2.0 */
/* Metadata-only changes: chmod, chown, utimes, xattrs, ACLs, file
 * capabilities.  With overlay's metacopy no data may be copied up for
 * them (compare.c checks the upper dir). */
#include "sc.h"

#define FILE_ OPS(WRITE("f", "lower data that must stay lower"))

static const struct fst_scenario v[] = {
	SC_META("meta/chmod", "chmod of a lower file", FILE_, OPS(CHMOD("f", 0600))),
	SC_META("meta/chown", "chown of a lower file", FILE_, OPS(CHOWN("f", 1000, 1000))),
	SC_META("meta/utimes", "utimes of a lower file", FILE_, OPS(UTIMES("f", 1000000000))),
	SC_META("meta/xattr-set", "set a user xattr on a lower file", FILE_, OPS(SETXATTR("f", "user.k", "value"))),
	SC_META("meta/xattr-remove", "remove a lower file's xattr", OPS(WRITE("f", "data"), SETXATTR("f", "user.k", "v")),
		OPS(RMXATTR("f", "user.k"))),
	SC_META("meta/xattr-replace", "replace a lower file's xattr", OPS(WRITE("f", "data"), SETXATTR("f", "user.k", "old")),
		OPS(SETXATTR("f", "user.k", "new value"))),
	SC_META("meta/xattr-trusted", "set a trusted xattr (not overlay's own)", FILE_, OPS(SETXATTR("f", "trusted.snapctl", "1"))),
	SC_META("meta/acl-access", "set an access ACL", FILE_, OPS(SETACL("f", "access", "u::rw,u:1000:r,g::r,m::r,o::"))),
	SC("meta/acl-default", "a default ACL on a lower directory is inherited by a new file", OPS(MKDIR("d")),
	   OPS(SETACL("d", "default", "u::rwx,u:1000:rx,g::rx,m::rx,o::"), WRITE("d/new", "new"))),
	SC_META("meta/capability", "set a file capability", FILE_, OPS(SETXATTR("f", "security.capability", CAP_NET_BIND))),
	SC_META("meta/chown-drops-capability", "chown of a lower file clears its capability",
		OPS(WRITE("f", "data"), SETXATTR("f", "security.capability", CAP_NET_BIND)), OPS(CHOWN("f", 1000, 1000))),
	SC_META("meta/chmod-suid", "set the setuid bit on a lower file", FILE_, OPS(CHMOD("f", 04755))),
	SC("meta/chmod-then-write", "chmod, then write: the data follows the metadata up", FILE_,
	   OPS(CHMOD("f", 0600), APPEND("f", "+more"))),
	SC_META("meta/chmod-dir", "chmod of a lower directory", OPS(MKDIR("d"), WRITE("d/a", "a")), OPS(CHMOD("d", 0700))),
	SC_META("meta/lchown-symlink", "lchown of a lower symlink", OPS(WRITE("t", "t"), SYMLINK("l", "t")), OPS(CHOWN("l", 1000, 1000))),
	SC("meta/xattr-symlink", "user xattrs on a symlink are refused (EPERM)", OPS(WRITE("t", "t"), SYMLINK("l", "t")),
	   OPS(SETXATTR("l", "user.k", "v"))),
	SC_META("meta/hardlink-chown", "chown of one of two lower hard links", OPS(WRITE("f", "data"), LINK("f", "g")),
		OPS(CHOWN("f", 1000, 1000))),
};

FST_FAMILY(fst_family_meta, "meta", "chmod, chown, utimes, xattrs, ACLs, capabilities (metacopy)", v);
