#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Round trip through the snapshotter on one driver:
#   base (applied from a tar) -> child (changed through its mount) ->
#   diff (driver fast path, and generic) -> applied onto another child of
#   base -> the two trees are equal; the fast and generic diffs are
#   byte-identical; a committed snapshot's diff equals its active diff.
# Usage: core-roundtrip.sh DRIVER LAYER_TOOL TREECMP
set -euo pipefail
. "$(dirname "$0")/core-lib.sh" core "$@"

setx() { python3 -c 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)' "$@"; }

# base layer from GNU tar
mkdir -p "$W/src/etc" "$W/src/usr/bin" "$W/src/gone/sub" "$W/src/opq/d" "$W/src/d2f" "$W/src/keep"
echo root > "$W/src/etc/passwd"; echo x > "$W/src/gone/sub/f"; echo a > "$W/src/opq/a"; echo b > "$W/src/opq/d/b"
echo dir > "$W/src/d2f/inner"; echo file > "$W/src/f2d"; echo keep > "$W/src/keep/k"
echo same > "$W/src/samesize"; touch -d '2020-01-01' "$W/src/samesize"
ln -s /etc/passwd "$W/src/usr/bin/oldlink"
tar --xattrs -C "$W/src" -cf "$W/base.tar" .
lt prepare base-a > /dev/null
lt apply base-a "$W/base.tar" > /dev/null
lt commit base base-a

mnt() { mkdir -p "$3"; lt mount "$1" "$3" $2; M+=("$3"); }
umnt() { lt unmount "$1"; }

lt prepare child base > /dev/null
mnt child rw "$W/m/child"
c=$W/m/child
echo changed > "$c/etc/passwd"
rm -rf "$c/gone"
rm -rf "$c/opq/a" "$c/opq/d"; echo n > "$c/opq/new"
rm -rf "$c/d2f"; echo now-file > "$c/d2f"
rm -f "$c/f2d"; mkdir -p "$c/f2d/sub"; echo deep > "$c/f2d/sub/x"
echo SAME > "$c/samesize"; touch -d '2020-01-01' "$c/samesize"
echo data > "$c/usr/bin/h1"; ln "$c/usr/bin/h1" "$c/usr/bin/h2"
echo suid > "$c/usr/bin/suid"; chmod 4755 "$c/usr/bin/suid"
ln -sfn /other "$c/usr/bin/oldlink"
chown 123:456 "$c/keep/k"
setx "$c/keep/k" user.note v
mkfifo "$c/fifo"; mknod "$c/null" c 1 3
mkdir -p "$c/new/a/b"; echo leaf > "$c/new/a/b/leaf"
umnt "$c"

fail=0
lt diff child "$W/fast.tar" > /dev/null
lt diff child "$W/generic.tar" generic > /dev/null
if ! cmp "$W/fast.tar" "$W/generic.tar"; then
	echo "FAIL: $DRIVER fast diff differs from the generic one"
	diff <(tar -tvf "$W/fast.tar") <(tar -tvf "$W/generic.tar") || true
	fail=1
fi
lt changes child > "$W/changes"
grep -qx 'D /gone' "$W/changes" && grep -qx 'A /usr/bin/h2' "$W/changes" && grep -qx 'C /samesize' "$W/changes" ||
	{ echo "FAIL: changes"; cat "$W/changes"; fail=1; }

lt prepare other base > /dev/null
lt apply other "$W/fast.tar" > /dev/null
mnt child ro "$W/m/c2"
mnt other ro "$W/m/o2"
python3 "$CMP" "$W/m/c2" "$W/m/o2" || { echo "FAIL: $DRIVER round trip"; fail=1; }
umnt "$W/m/c2"; umnt "$W/m/o2"
# canonical layers are a fixed point: diff(apply(L)) == L, byte for byte,
# so every driver writes the same bytes for the same change
lt diff other "$W/other.tar" > /dev/null
cmp "$W/fast.tar" "$W/other.tar" || { echo "FAIL: $DRIVER: diff of the applied layer differs from the layer"; fail=1; }
mkdir -p "$W/empty"
"$TOOL" diff "$W/empty" "$W/src" "$W/canon.tar" > /dev/null
lt prepare fx > /dev/null
lt apply fx "$W/canon.tar" > /dev/null
lt commit fxc fx
lt diff fxc "$W/canon2.tar" > /dev/null
cmp "$W/canon.tar" "$W/canon2.tar" || { echo "FAIL: $DRIVER: base layer is not a fixed point"; fail=1; }

lt commit child-c child
lt diff child-c "$W/committed.tar" > /dev/null
cmp "$W/fast.tar" "$W/committed.tar" || { echo "FAIL: committed diff differs"; fail=1; }
lt diff base "$W/base-diff.tar" gzip > /dev/null
lt prepare again > /dev/null
lt apply again "$W/base-diff.tar" > /dev/null

[ $fail = 0 ] && echo "core round trip on $DRIVER: ok"
exit $fail
