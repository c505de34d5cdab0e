#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A content change that keeps size, mtime (to the nanosecond), mode, owner
# and xattrs reaches the layer, through the snapshotter on one driver
# (docs/fstest.md, finding 4): two lower files swapped with RENAME_EXCHANGE,
# a new file moved over a lower one (as `mv` over a file written in the
# same timer tick).  A lower file rewritten with its own bytes and its
# mtime put back is read and found unchanged: not in the layer.  The fast
# and generic diffs agree, the layer applied on the parent reproduces the
# child, and the committed snapshot's diff equals the active one's.
# Usage: core-samesize.sh DRIVER LAYER_TOOL TREECMP
set -euo pipefail
. "$(dirname "$0")/core-lib.sh" samesize "$@"
mnt() { mkdir -p "$3"; lt mount "$1" "$3" $2; M+=("$3"); }

# Set atime and mtime to 1000000000.000000005 without following symlinks.
stamp() { python3 -c 'import os,sys
for p in sys.argv[1:]: os.utime(p, ns=(1000000000000000005, 1000000000000000005), follow_symlinks=False)' "$@"; }

lt prepare base-a > /dev/null
mnt base-a rw "$W/m/base"
b=$W/m/base
echo one > "$b/x"; echo two > "$b/y"
echo old > "$b/over"
echo same > "$b/same"
stamp "$b/x" "$b/y" "$b/over" "$b/same"
lt unmount "$b"
lt commit base base-a

lt prepare child base > /dev/null
mnt child rw "$W/m/child"
c=$W/m/child
python3 - "$c/x" "$c/y" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
if libc.renameat2(AT_FDCWD, sys.argv[1].encode(), AT_FDCWD, sys.argv[2].encode(), RENAME_EXCHANGE) != 0:
    e = ctypes.get_errno()
    sys.exit("renameat2 EXCHANGE: " + os.strerror(e))
PY
echo new > "$c/over.tmp"; stamp "$c/over.tmp"; mv "$c/over.tmp" "$c/over"
echo same > "$c/same"; stamp "$c/same"
lt unmount "$c"

fail=0
lt changes child > "$W/changes"
for want in 'C /x' 'C /y' 'C /over'; do
	grep -qx "$want" "$W/changes" || { echo "FAIL: $DRIVER: '$want' missing from the changes"; fail=1; }
done
if grep -q '/same$' "$W/changes"; then
	echo "FAIL: $DRIVER: /same holds its old bytes but is reported changed"; fail=1
fi
[ $fail = 0 ] || cat "$W/changes"

lt diff child "$W/fast.tar" > /dev/null
lt diff child "$W/generic.tar" generic > /dev/null
cmp "$W/fast.tar" "$W/generic.tar" || { echo "FAIL: $DRIVER fast diff differs from the generic one"; fail=1; }

lt prepare other base > /dev/null
lt apply other "$W/fast.tar" > /dev/null
mnt child ro "$W/m/c2"
mnt other ro "$W/m/o2"
python3 "$CMP" "$W/m/c2" "$W/m/o2" || { echo "FAIL: $DRIVER: the layer applied on the parent is not the child"; fail=1; }
lt unmount "$W/m/c2"; lt unmount "$W/m/o2"

lt commit child-c child
lt diff child-c "$W/committed.tar" > /dev/null
cmp "$W/fast.tar" "$W/committed.tar" || { echo "FAIL: $DRIVER: committed diff differs"; fail=1; }

[ $fail = 0 ] && echo "same size and mtime on $DRIVER: ok"
exit $fail
