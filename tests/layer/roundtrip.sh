#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Round trip on plain directories: apply(diff(new vs old)) onto old gives
# new, for plain, gzip and zstd layers; diffs are deterministic; the change
# list is the docker one.
# Usage: roundtrip.sh LAYER_TOOL TREECMP
set -euo pipefail
TOOL=$(realpath "$1")
CMP=$(realpath "$2")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (owners, device nodes)"; exit 77; }
W=$(mktemp -d /tmp/layer-rt.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"

setx() { python3 -c 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)' "$@"; }

mkdir -p old/etc old/usr/bin old/gone/sub old/opq/d old/d2f old/keep old/meta
echo root:x:0:0 > old/etc/passwd
echo x > old/gone/sub/f
echo a > old/opq/a; echo b > old/opq/d/b
echo keep > old/keep/file
echo dir > old/d2f/inner
echo file > old/f2d
echo same > old/samesize; touch -d '2020-01-01 00:00:00' old/samesize
echo meta > old/meta/file
ln -s /etc/passwd old/usr/bin/oldlink
mkfifo old/fifo
cp -a old new

# modifications
echo changed > new/etc/passwd
touch -d '2021-02-03 04:05:06.123456789' new/etc/passwd
rm -rf new/gone
rm -rf new/opq/a new/opq/d; echo n > new/opq/new
rm -rf new/d2f; echo now-a-file > new/d2f
rm -f new/f2d; mkdir -p new/f2d/sub; echo deep > new/f2d/sub/x
echo SAME > new/samesize; touch -d '2020-01-01 00:00:00' new/samesize   # same size and mtime (0 ns): content decides
chmod 0600 new/meta/file
chown 1234:5678 new/meta/file
setx new/meta/file user.note hello
setx new/meta user.dir dirvalue
ln -sfn /usr/bin/other new/usr/bin/oldlink
ln -s ../etc/passwd new/usr/bin/link
echo data > new/usr/bin/h1; ln new/usr/bin/h1 new/usr/bin/h2; ln new/usr/bin/h1 new/etc/h3
echo suid > new/usr/bin/suid; chmod 4755 new/usr/bin/suid
mknod new/null c 1 3
truncate -s 3M new/sparse; echo tail >> new/sparse
mkdir new/empty; chmod 0555 new/empty; touch -d '2019-05-05 05:05:05.5' new/empty
mkdir -p new/newdir/a/b; echo leaf > new/newdir/a/b/leaf
touch -d '2022-01-01 00:00:00.000000001' new/newdir/a new/newdir

fail=0
for comp in none gzip zstd; do
	"$TOOL" diff old new "layer.$comp" "$comp" > digests.$comp
	"$TOOL" diff old new "again.$comp" "$comp" > /dev/null
	cmp "layer.$comp" "again.$comp" || { echo "FAIL: $comp diff is not deterministic"; fail=1; }
	rm -rf applied; cp -a old applied
	"$TOOL" apply applied "layer.$comp" > applied.$comp
	if ! python3 "$CMP" applied new; then echo "FAIL: round trip ($comp)"; fail=1; fi
	# digests computed while writing equal those computed while reading
	if ! diff <(grep -v entries digests.$comp) <(grep -v entries applied.$comp); then
		echo "FAIL: digests differ between diff and apply ($comp)"; fail=1
	fi
	blob=$(sha256sum "layer.$comp" | cut -d' ' -f1)
	grep -q "blob sha256:$blob" digests.$comp || { echo "FAIL: blob digest ($comp)"; fail=1; }
done
unc=$(sha256sum layer.none | cut -d' ' -f1)
grep -q "diff_id sha256:$unc" digests.gzip || { echo "FAIL: diff_id of gzip layer"; fail=1; }
zcat layer.gzip | cmp - layer.none || { echo "FAIL: gzip layer is not the plain one compressed"; fail=1; }

# the opaque marker replaces individual whiteouts; deleted dirs are one whiteout
tar -tf layer.none > names
for want in opq/.wh..wh..opq .wh.gone usr/bin/h2; do
	grep -qx "$want" names || { echo "FAIL: $want missing from layer"; cat names; fail=1; }
done
if grep -q 'gone/' names || grep -q 'opq/.wh.a' names; then echo "FAIL: redundant whiteouts"; fail=1; fi
# sorted in canonical order, parents before children
python3 - names <<'PY' || fail=1
import sys
names = [l.rstrip("\n").rstrip("/") for l in open(sys.argv[1])]
key = lambda s: [1 if c == "/" else ord(c) + 1 for c in s]
if names != sorted(names, key=key):
    print("FAIL: layer not in canonical order"); sys.exit(1)
seen = set()
for n in names:
    d = n.rsplit("/", 1)[0] if "/" in n else ""
    if d and d not in seen:
        print("FAIL: parent missing before", n); sys.exit(1)
    seen.add(n)
PY

"$TOOL" changes old new > changes
grep -qx 'A /etc/h3' changes || { echo "FAIL: changes"; cat changes; fail=1; }
grep -qx 'D /gone' changes || { echo "FAIL: changes (delete)"; fail=1; }
grep -qx 'C /samesize' changes || { echo "FAIL: same size+mtime content change missed"; fail=1; }
grep -q 'gone/sub' changes && { echo "FAIL: children of deleted dir listed"; fail=1; }
grep -qx 'C /keep' changes && { echo "FAIL: unchanged dir listed"; fail=1; }

# identical trees: empty layer
"$TOOL" diff old old empty.tar none > /dev/null
[ "$(tar -tf empty.tar | wc -l)" = 0 ] || { echo "FAIL: diff of identical trees not empty"; fail=1; }

[ $fail = 0 ] && echo "roundtrip: ok"; echo
exit $fail
