#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generate the hostile layer corpus.

Usage: gen-corpus.py OUTDIR
Writes OUTDIR/<case>.tar[.gz|.zst] and OUTDIR/expected.tsv with one line per
case:  name <TAB> file <TAB> ok|fail <TAB> checks
Checks (space separated, evaluated by run.sh against the tree after apply):
  exists:P  absent:P  dir:P  file:P  link:P  content:P=TEXT  mode:P=OCTAL
  noxattr:P=NAME  xattr:P=NAME  owner:P=UID:GID  mtime:P=SECONDS (not followed)
  samefile:P=Q (one inode: a hard link)
  known:DRIVER  the case still fails on DRIVER (an open bug): run.sh reports
                it as SKIP with the reason on that driver
Every case is applied onto the same base tree (see run.sh).  A failing case
must leave the base tree exactly as it was; no case may write outside it.
Several failing cases start with valid entries that replace or delete base
entries, so the rollback has real work to undo.
"""
import gzip
import io
import os
import subprocess
import sys
import tarfile

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
cases = []


def ti(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link="", **kw):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.mode = mode
    t.mtime = 1600000000
    t.uid = kw.get("uid", 0)
    t.gid = kw.get("gid", 0)
    t.linkname = link
    if kind == tarfile.REGTYPE:
        t.size = len(data)
    if "pax" in kw:
        t.pax_headers = kw["pax"]
    if "devmajor" in kw:
        t.devmajor, t.devminor = kw["devmajor"], kw["devminor"]
    return t, data


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=fmt) as tf:
        for t, data in entries:
            tf.addfile(t, io.BytesIO(data) if t.type == tarfile.REGTYPE else None)
    return bio.getvalue()


def add(name, outcome, checks, raw, ext="tar"):
    fn = f"{name}.{ext}"
    with open(os.path.join(OUT, fn), "wb") as f:
        f.write(raw)
    cases.append((name, fn, outcome, " ".join(checks)))


def zstd(raw):
    return subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout


# Valid entries that change the base, put in front of failing cases.
PRELUDE = [
    ti("etc/passwd", data=b"replaced\n"),      # replaces a base file
    ti("dir/.wh.file"),                       # deletes a base file
    ti("newdir/", tarfile.DIRTYPE, mode=0o755),
    ti("newdir/f", data=b"new\n"),
    ti("dir2", data=b"file over a base directory\n"),
]

# ---- confinement ---------------------------------------------------------
add("dotdot-escape", "fail", [], tar_bytes(PRELUDE + [ti("../outside/pwned", data=b"x")]))
add("dotdot-deep-escape", "fail", [], tar_bytes(PRELUDE + [ti("a/../../outside/pwned", data=b"x")]))
add("dotdot-inside", "ok", ["content:etc/inside=ok"], tar_bytes([ti("etc/sub/../inside", data=b"ok")]))
add("absolute-name", "ok", ["content:etc/abs=confined", "absent:/etc/abs-snapctl-pwned"],
    tar_bytes([ti("/etc/abs", data=b"confined")]))
add("symlink-dir-escape", "ok",
    ["link:escape", "content:etc/passwd=through", "absent:/etc/passwd-snapctl"],
    tar_bytes([ti("escape", tarfile.SYMTYPE, link="/etc"), ti("escape/passwd", data=b"through")]))
add("symlink-relative-escape", "ok", ["link:up", "content:pwned=confined"],
    tar_bytes([ti("up", tarfile.SYMTYPE, link="../../../../.."), ti("up/pwned", data=b"confined")]))
add("symlink-then-file-same-name", "ok", ["file:etc/passwd", "content:etc/passwd=plain"],
    tar_bytes([ti("etc/passwd", tarfile.SYMTYPE, link="/../outside/sentinel"),
               ti("etc/passwd", data=b"plain")]))
add("hardlink-outside", "fail", [], tar_bytes(PRELUDE + [ti("h", tarfile.LNKTYPE, link="../outside/sentinel")]))
add("hardlink-absolute-missing", "fail", [],
    tar_bytes(PRELUDE + [ti("h", tarfile.LNKTYPE, link="/etc/shadow")]))
add("hardlink-missing", "fail", [], tar_bytes(PRELUDE + [ti("h", tarfile.LNKTYPE, link="nope")]))
add("hardlink-to-dir", "fail", [], tar_bytes(PRELUDE + [ti("h", tarfile.LNKTYPE, link="dir")]))
add("hardlink-via-symlink", "ok", ["file:h", "content:h=root-passwd"],
    tar_bytes([ti("s", tarfile.SYMTYPE, link="/"), ti("etc/passwd", data=b"root-passwd"),
               ti("h", tarfile.LNKTYPE, link="s/etc/passwd")]))
add("hardlink-to-symlink", "ok", ["link:hl"],
    tar_bytes([ti("sl", tarfile.SYMTYPE, link="/outside/sentinel"), ti("hl", tarfile.LNKTYPE, link="sl")]))
add("reserved-name", "fail", [], tar_bytes(PRELUDE + [ti(".snapctl-apply-1/x", data=b"x")]))

# ---- names -----------------------------------------------------------------
long_path = "/".join(["d" * 200] * 25)  # > PATH_MAX
add("name-over-path-max", "fail", [], tar_bytes(PRELUDE + [ti(long_path, data=b"x")]))
add("component-over-name-max", "fail", [], tar_bytes(PRELUDE + [ti("x" * 300, data=b"x")]))
add("linkname-over-path-max", "fail", [], tar_bytes(PRELUDE + [ti("h", tarfile.LNKTYPE, link=long_path)]))

# ---- corrupt input ---------------------------------------------------------
good = tar_bytes(PRELUDE + [ti("big", data=b"A" * 100000)])
add("truncated-data", "fail", [], good[: len(good) - 60000])
add("truncated-header", "fail", [], good[:1024 + 100])
add("garbage", "fail", [], os.urandom(4096))
add("empty-input", "fail", [], b"")
gz = gzip.compress(good)
add("truncated-gzip", "fail", [], gz[: len(gz) // 2], "tar.gz")
bad = bytearray(gz)
for i in range(40, min(len(bad) - 20, 400)):
    bad[i] ^= 0x5A
add("corrupt-gzip", "fail", [], bytes(bad), "tar.gz")
zs = zstd(good)
add("truncated-zstd", "fail", [], zs[: len(zs) // 2], "tar.zst")
bad = bytearray(zs)
for i in range(20, min(len(bad) - 10, 200)):
    bad[i] ^= 0xA5
add("corrupt-zstd", "fail", [], bytes(bad), "tar.zst")
add("gzip-of-garbage", "fail", [], gzip.compress(os.urandom(3000)), "tar.gz")
add("valid-gzip", "ok", ["content:etc/passwd=replaced", "absent:dir/file"], gz, "tar.gz")
add("valid-zstd", "ok", ["content:etc/passwd=replaced", "file:dir2"], zs, "tar.zst")

# ---- whiteouts -------------------------------------------------------------
add("whiteout-dotdot", "fail", [], tar_bytes(PRELUDE + [ti("dir/.wh...")]))
add("whiteout-dot", "fail", [], tar_bytes(PRELUDE + [ti("dir/.wh..")]))
add("whiteout-escape", "fail", [], tar_bytes(PRELUDE + [ti("../.wh.outside")]))
add("whiteout-through-symlink", "ok", ["absent:etc/passwd", "link:s"],
    tar_bytes([ti("s", tarfile.SYMTYPE, link="/etc"), ti("s/.wh.passwd")]))
# A failing layer rolls back exactly also where its entries went through its
# own symlink: the directory a symlink leads to (etc) gets its times back,
# and a pre-existing file reached through a retargeted symlink under a name
# the layer used before is moved aside, not deleted as the layer's own.
add("whiteout-through-symlink-rollback", "fail", [],
    tar_bytes([ti("s", tarfile.SYMTYPE, link="/etc"), ti("s/.wh.passwd"), ti("../escape")]))
add("create-through-symlink-rollback", "fail", [],
    tar_bytes([ti("s", tarfile.SYMTYPE, link="/etc"), ti("s/new", data=b"n"), ti("../escape")]))
add("symlink-retarget-rollback", "fail", [],
    tar_bytes([ti("s", tarfile.SYMTYPE, link="/etc"), ti("s/file", data=b"a"),
               ti("s", tarfile.SYMTYPE, link="/dir"), ti("s/file", data=b"b"), ti("../escape")]))
add("whiteout-same-layer", "ok", ["content:dir/mine=mine"],
    tar_bytes([ti("dir/mine", data=b"mine"), ti("dir/.wh.mine")]))
add("whiteout-missing", "ok", [], tar_bytes([ti("nodir/.wh.nothing"), ti("dir/.wh.nothing")]))
many = [ti("dir/", tarfile.DIRTYPE, mode=0o755)] + [ti("dir/.wh..wh..opq") for _ in range(10000)]
add("many-opaque-markers", "ok", ["dir:dir", "absent:dir/file", "absent:dir/sub"],
    tar_bytes(many, tarfile.USTAR_FORMAT))
add("opaque-keeps-this-layer", "ok", ["content:dir/a=a", "absent:dir/file", "dir:dir/sub", "absent:dir/sub/deep"],
    tar_bytes([ti("dir/a", data=b"a"), ti("dir/sub/", tarfile.DIRTYPE, mode=0o755),
               ti("dir/.wh..wh..opq")]))
add("many-whiteouts", "ok", ["absent:dir/file"],
    tar_bytes([ti(f"dir/.wh.n{i}") for i in range(5000)] + [ti("dir/.wh.file")]))
# aufs' own bookkeeping (hard-link dir, marker): skipped, as docker and
# containerd do, never written into the snapshot
add("aufs-metadata", "ok", ["exists:etc/passwd", "absent:.wh..wh.plnk", "absent:.wh..wh.aufs",
                            "absent:.wh..wh.orph", "content:dir/kept=k"],
    tar_bytes([ti(".wh..wh.plnk/", tarfile.DIRTYPE, mode=0o700), ti(".wh..wh.plnk/123.456", data=b"x"),
               ti(".wh..wh.aufs", data=b""), ti(".wh..wh.orph/", tarfile.DIRTYPE, mode=0o700),
               ti("dir/kept", data=b"k")]))

# ---- the cases of "layer engine: accept every valid OCI layer" -------------
# an opaque marker at the layer root hides every lower entry of the root
add("opaque-at-root", "ok", ["absent:etc", "absent:dir", "absent:plink", "absent:dlink", "absent:uplink", "content:top=t"],
    tar_bytes([ti("top", data=b"t"), ti(".wh..wh..opq")]))
# a whiteout hides the lower dir; a later entry below it implies a new dir
add("whiteout-then-child", "ok", ["dir:dir", "content:dir/new=n", "absent:dir/file", "absent:dir/sub"],
    tar_bytes([ti(".wh.dir"), ti("dir/new", data=b"n")]))
# an opaque marker below a lower symlink is resolved inside the root, as
# containerd does: plink -> etc/passwd is a file, so this is refused; a link
# to a directory is followed inside the root
add("opaque-through-symlink-dir", "ok", ["link:sd", "absent:dir/file", "absent:dir/sub", "dir:dir"],
    tar_bytes([ti("sd", tarfile.SYMTYPE, link="/dir"), ti("sd/.wh..wh..opq")]))
# the same through the base's symlink dlink -> dir: on overlay the symlink is
# in a lower layer, never in the tree being filled, and is followed there
add("opaque-through-lower-symlink-dir", "ok", ["link:dlink", "dir:dir", "absent:dir/file", "absent:dir/sub"],
    tar_bytes([ti("dlink/.wh..wh..opq")]))
add("whiteout-through-lower-symlink-dir", "ok", ["link:dlink", "absent:dir/file", "content:dir/sub/deep=deep"],
    tar_bytes([ti("dlink/.wh.file")]))
add("file-through-lower-symlink-dir", "ok", ["link:dlink", "content:dir/new=n", "content:dir/file=f"],
    tar_bytes([ti("dlink/new", data=b"n")]))
# the base's uplink -> ../../.. climbs out of the tree unless resolved in
# the root, where it is the root: what goes through it stays inside
add("file-through-lower-escaping-symlink", "ok", ["link:uplink", "content:new=n"],
    tar_bytes([ti("uplink/new", data=b"n")]))
add("whiteout-through-lower-escaping-symlink", "ok", ["link:uplink", "absent:plink", "exists:etc/passwd"],
    tar_bytes([ti("uplink/.wh.plink")]))
# a whiteout, then the same name as a directory entry: a new directory,
# nothing of the hidden one in it
add("whiteout-then-dir", "ok", ["dir:dir", "mode:dir=700", "absent:dir/file", "absent:dir/sub"],
    tar_bytes([ti(".wh.dir"), ti("dir/", tarfile.DIRTYPE, mode=0o700)]))
# everything whited out at the root, then an entry below a hidden name
add("opaque-at-root-then-child", "ok", ["absent:dir", "content:etc/new=n", "absent:etc/passwd"],
    tar_bytes([ti(".wh..wh..opq"), ti("etc/new", data=b"n")]))
# user.* xattrs on a symlink: the kernel refuses them (EPERM); skipped with a
# warning, as containerd does, the symlink itself applied
add("xattr-on-symlink", "ok", ["link:sx", "content:after=a"],
    tar_bytes([ti("sx", tarfile.SYMTYPE, link="etc/passwd", pax={"SCHILY.xattr.user.k": "v"}),
               ti("after", data=b"a")]))

# ---- paths across the layers below, hard links to lower-only files (#13) ----
# The base (run.sh mk_base) has real/ (real/sub mode 750, owner 7:8, an
# xattr; real/lf2), rlink -> real, c1 -> c2 -> /real (a chain, absolute at
# the end) and lfile (owner 1000:1001, mode 4754, user.k and
# security.capability, mtime 1500000000).  On overlay these are in a lower
# layer only: a name this layer replaced must never be followed below.
# rlink replaced by a real directory: nothing of real/ below it
add("dir-over-lower-symlink", "ok",
    ["dir:rlink", "content:rlink/sub/f=f", "mode:rlink/sub=755", "owner:rlink/sub=0:0", "absent:rlink/lf2",
     "mode:real/sub=750", "content:real/lf2=lf2"],
    tar_bytes([ti("rlink/", tarfile.DIRTYPE, mode=0o755), ti("rlink/sub/f", data=b"f"), ti("rlink/.wh.lf2")]))
add("opaque-over-lower-symlink", "ok",
    ["dir:rlink", "content:rlink/sub/f=f", "mode:rlink/sub=755", "absent:rlink/lf2", "content:real/lf2=lf2"],
    tar_bytes([ti("rlink/", tarfile.DIRTYPE, mode=0o711), ti("rlink/.wh..wh..opq"), ti("rlink/sub/f", data=b"f"),
               ti("rlink/.wh.lf2")]))
add("whiteout-recreate-lower-symlink", "ok",
    ["dir:rlink", "content:rlink/sub/f=f", "mode:rlink/sub=755", "owner:rlink/sub=0:0", "absent:rlink/lf2",
     "mode:real/sub=750"],
    tar_bytes([ti(".wh.rlink"), ti("rlink/sub/f", data=b"f"), ti("rlink/.wh.lf2")]))
# c1 -> c2 -> /real, both below: followed there, inside the root
add("nested-lower-symlinks", "ok", ["link:c1", "link:c2", "content:real/new=n", "content:real/sub/n2=n2"],
    tar_bytes([ti("c1/new", data=b"n"), ti("c1/sub/n2", data=b"n2")]))
# c2 replaced by a directory: c1 (below) now leads to it, never to real/
add("nested-lower-symlinks-replaced", "ok",
    ["link:c1", "dir:c2", "content:c2/sub/f=f", "mode:c2/sub=755", "absent:c2/lf2", "absent:real/sub/f"],
    tar_bytes([ti("c2/", tarfile.DIRTYPE, mode=0o755), ti("c1/sub/f", data=b"f"), ti("c1/.wh.lf2")]))
# hard links to what only the layers below hold: copied up, then linked
add("hardlink-lower-only", "ok", ["content:h=lf2", "content:real/lf2=lf2", "samefile:h=real/lf2"],
    tar_bytes([ti("h", tarfile.LNKTYPE, link="real/lf2")]))
add("hardlink-lower-then-whiteout", "ok", ["content:h=lf2", "absent:real/lf2", "dir:real"],
    tar_bytes([ti("h", tarfile.LNKTYPE, link="real/lf2"), ti("real/.wh.lf2")]))
add("hardlink-lower-metadata", "ok",
    ["content:h=lower", "samefile:h=lfile", "mode:h=4754", "owner:h=1000:1001", "xattr:h=user.k",
     "xattr:h=security.capability", "mtime:h=1500000000"],
    tar_bytes([ti("h", tarfile.LNKTYPE, link="lfile")]))
add("hardlink-lower-symlink", "ok", ["link:hs", "samefile:hs=rlink", "dir:real"],
    tar_bytes([ti("hs", tarfile.LNKTYPE, link="rlink")]))
add("hardlink-lower-through-symlink-dir", "ok",
    ["content:h=lf2", "samefile:h=real/lf2", "content:h2=old", "samefile:h2=real/sub/old", "mode:real/sub=750",
     "owner:real/sub=7:8", "xattr:real/sub=user.d"],
    tar_bytes([ti("h", tarfile.LNKTYPE, link="rlink/lf2"), ti("h2", tarfile.LNKTYPE, link="c1/sub/old")]))
# the copy-up for a link is undone with the rest: the tree (and on a
# driver its own directory) as before
add("hardlink-lower-rollback", "fail", [],
    tar_bytes(PRELUDE + [ti("h", tarfile.LNKTYPE, link="lfile"), ti("h2", tarfile.LNKTYPE, link="c1/sub/old"),
                         ti("hs", tarfile.LNKTYPE, link="rlink"), ti("../escape")]))

# ---- corrupt layers of the same issue: refused, the tree untouched ----------
gz_trailer = bytearray(gzip.compress(good))
gz_trailer[-8] ^= 0xFF  # CRC32 of the gzip member
add("gzip-bad-crc", "fail", [], bytes(gz_trailer), "tar.gz")
gz_len = bytearray(gzip.compress(good))
gz_len[-1] ^= 0x01  # ISIZE (length mod 2^32)
add("gzip-bad-length", "fail", [], bytes(gz_len), "tar.gz")
add("gzip-in-gzip", "fail", [], gzip.compress(gzip.compress(good)), "tar.gz")
# gzip's multi-member form (pigz -i, a stream written in parts) is valid:
# each member's trailer is checked, the next one follows it
add("gzip-two-members", "ok", ["content:etc/passwd=replaced", "absent:dir/file"],
    gzip.compress(good[:1000]) + gzip.compress(good[1000:]), "tar.gz")
# anything but another member after the last one is refused (Go's gzip
# reader, hence containerd, refuses it too)
add("gzip-trailing-garbage", "fail", [], gzip.compress(good) + b"garbage", "tar.gz")
# a NUL inside a PAX path or linkpath: Go's archive/tar (containerd) refuses it;
# a name cut at the NUL would let a scanner and the runtime disagree
add("pax-path-nul", "fail", [], tar_bytes(PRELUDE + [ti("ok-name", data=b"x", pax={"path": "etc/pass\x00wd"})]))
add("pax-linkpath-nul", "fail", [],
    tar_bytes(PRELUDE + [ti("l", tarfile.SYMTYPE, link="x", pax={"linkpath": "/etc\x00/shadow"})]))
# a GNU sparse map (PAX 0.1) whose region lies past the file's real size
add("sparse-past-size", "fail", [],
    tar_bytes(PRELUDE + [ti("sparse", data=b"hello", pax={"GNU.sparse.size": "10", "GNU.sparse.numblocks": "1",
                                                         "GNU.sparse.offset": "4096", "GNU.sparse.numbytes": "5",
                                                         "GNU.sparse.map": "4096,5"})]))
# an opaque marker below a regular file of the lower layers
add("opaque-under-file", "fail", [], tar_bytes(PRELUDE + [ti("etc/passwd/.wh..wh..opq")]))

# ---- replacement rules ------------------------------------------------------
add("file-over-dir", "ok", ["file:dir", "content:dir=flat"], tar_bytes([ti("dir", data=b"flat")]))
add("dir-over-file", "ok", ["dir:etc/passwd", "content:etc/passwd/x=in"],
    tar_bytes([ti("etc/passwd/", tarfile.DIRTYPE, mode=0o700), ti("etc/passwd/x", data=b"in")]))
add("symlink-over-dir", "ok", ["link:dir"], tar_bytes([ti("dir", tarfile.SYMTYPE, link="/outside")]))
add("duplicates-later-wins", "ok", ["content:dup=second", "mode:dup=600"],
    tar_bytes([ti("dup", data=b"first", mode=0o755), ti("dup", data=b"second", mode=0o600)]))
add("dir-duplicate-mode", "ok", ["mode:dd=700"],
    tar_bytes([ti("dd/", tarfile.DIRTYPE, mode=0o755), ti("dd/", tarfile.DIRTYPE, mode=0o700)]))
add("root-entry", "ok", ["mode:.=711"], tar_bytes([ti("./", tarfile.DIRTYPE, mode=0o711)]))
add("root-as-file", "fail", [], tar_bytes(PRELUDE + [ti("./", data=b"x")]))

# ---- metadata ----------------------------------------------------------------
add("special-files", "ok", ["exists:dev/null", "exists:fifo", "mode:suid=4755", "mode:sgid=2711"],
    tar_bytes([ti("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
               ti("fifo", tarfile.FIFOTYPE, mode=0o600),
               ti("suid", data=b"s", mode=0o4755, uid=0),
               ti("sgid", data=b"g", mode=0o2711, gid=5)]))
add("overlay-xattr-dropped", "ok", ["noxattr:ox=trusted.overlay.opaque", "exists:ox"],
    tar_bytes([ti("ox/", tarfile.DIRTYPE, mode=0o755,
                  pax={"SCHILY.xattr.trusted.overlay.opaque": "y"})]))
# POSIX: an unknown type flag is read as a regular file
add("unknown-type", "ok", ["file:weird"], tar_bytes([ti("weird", b"Z")]))

# ---- decompression bomb: 96 MiB of zeros, a few hundred KiB compressed ------
bio = io.BytesIO()
with gzip.GzipFile(fileobj=bio, mode="wb", mtime=0) as gzf:
    with tarfile.open(fileobj=gzf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for t, data in PRELUDE:
            tf.addfile(t, io.BytesIO(data) if t.type == tarfile.REGTYPE else None)
        t = tarfile.TarInfo("bomb")
        t.size = 96 << 20

        class Zeros(io.RawIOBase):
            def __init__(self, n):
                self.n = n

            def readable(self):
                return True

            def readinto(self, b):
                k = min(len(b), self.n)
                b[:k] = bytes(k)
                self.n -= k
                return k

        tf.addfile(t, io.BufferedReader(Zeros(t.size)))
add("bomb", "enospc", [], bio.getvalue(), "tar.gz")

with open(os.path.join(OUT, "expected.tsv"), "w") as f:
    for c in cases:
        f.write("\t".join(c) + "\n")
print(f"{len(cases)} cases in {OUT}")
