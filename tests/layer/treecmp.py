#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compare two trees the way the layer round trip must preserve them:
type, mode, owner, mtime (ns), size, content, link target, device number,
xattrs (overlayfs' private ones left out) and hardlink groups.  The roots'
own metadata is ignored (a layer never carries the snapshot root).
Usage: treecmp.py [--mtime=ns|sec|none] [--no-xattrs] A B
       -> exit 0 when equal, 1 with the differences (formats without
       nanoseconds or xattrs, e.g. ustar/gnu, are compared with the
       options).
       treecmp.py --dump A -> print the description, root included (for
       before/after checks).
       treecmp.py --serve -> one process for many requests (a test that
       checks hundreds of trees pays python's start once): each line on
       stdin is a request, its fields separated by tabs; each answer is
       the request's output, then a line of \x1e and its exit status.
       Requests: "dump A", "cmp [OPTS] A B" (as above), "hasxattr P NAME",
       "setxattr P NAME HEX", "utime P NS" (atime and mtime)."""
import contextlib
import hashlib
import io
import os
import stat
import sys

SKIP_PREFIX = ".snapctl-apply-"


def xattrs(p):
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        return ()
    out = []
    for n in sorted(names):
        if n.startswith("trusted.overlay.") or n.startswith("user.overlay."):
            continue
        out.append((n, os.getxattr(p, n, follow_symlinks=False)))
    return tuple(out)


def describe(root, with_root=False):
    entries = {}
    inodes = {}
    if with_root:
        st = os.lstat(root)
        entries["."] = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
                        "mtime_ns": st.st_mtime_ns, "xattrs": xattrs(root)}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if not d.startswith(SKIP_PREFIX)]
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(p)
            d = {
                "mode": oct(st.st_mode),
                "uid": st.st_uid,
                "gid": st.st_gid,
                "mtime_ns": st.st_mtime_ns,
                "xattrs": xattrs(p),
            }
            if stat.S_ISREG(st.st_mode):
                d["size"] = st.st_size
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                d["sha256"] = h.hexdigest()
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                d["target"] = os.readlink(p)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                d["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            entries[rel] = d
    groups = sorted(tuple(sorted(v)) for v in inodes.values() if len(v) > 1)
    return entries, groups


def dump(root):
    e, g = describe(root, with_root=True)
    for k in sorted(e):
        print(k, e[k])
    print("hardlinks", g)
    return 0


def compare(args):
    mtime, no_xattrs = "ns", False
    while args[0].startswith("--"):
        opt = args.pop(0)
        if opt.startswith("--mtime="):
            mtime = opt.split("=", 1)[1]
        elif opt == "--no-xattrs":
            no_xattrs = True
    left, right = args
    a, ga = describe(left)
    b, gb = describe(right)
    for tree in (a, b):
        for d in tree.values():
            if mtime == "sec":
                d["mtime_ns"] //= 10**9
            elif mtime == "none":
                del d["mtime_ns"]
            if no_xattrs:
                del d["xattrs"]
    bad = 0
    for k in sorted(set(a) | set(b)):
        if k not in a:
            print(f"only in {right}: {k}")
            bad += 1
        elif k not in b:
            print(f"only in {left}: {k}")
            bad += 1
        elif a[k] != b[k]:
            diffs = {f: (a[k].get(f), b[k].get(f)) for f in set(a[k]) | set(b[k]) if a[k].get(f) != b[k].get(f)}
            print(f"differs: {k}: {diffs}")
            bad += 1
    if ga != gb:
        print(f"hardlink groups differ: {ga} vs {gb}")
        bad += 1
    return 1 if bad else 0


def request(fields):
    cmd, args = fields[0], fields[1:]
    if cmd == "dump":
        return dump(args[0])
    if cmd == "cmp":
        return compare(args)
    if cmd == "hasxattr":
        return 0 if args[1] in os.listxattr(args[0], follow_symlinks=False) else 1
    if cmd == "setxattr":
        os.setxattr(args[0], args[1], bytes.fromhex(args[2]), follow_symlinks=False)
        return 0
    if cmd == "utime":
        ns = int(args[1])
        os.utime(args[0], ns=(ns, ns), follow_symlinks=False)
        return 0
    print(f"treecmp: unknown request {cmd!r}")
    return 2


def serve():
    for line in sys.stdin:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                rc = request(line.rstrip("\n").split("\t"))
            except (OSError, ValueError, IndexError) as e:
                print(f"treecmp: {line.strip()}: {e}")
                rc = 2
        # \x1e ends an answer: one inside it (a name holding it) is escaped
        sys.stdout.write(out.getvalue().replace("\x1e", "\\x1e"))
        print(f"\x1e{rc}", flush=True)
    return 0


def main():
    if sys.argv[1] == "--serve":
        return serve()
    if sys.argv[1] == "--dump":
        return dump(sys.argv[2])
    return compare(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
