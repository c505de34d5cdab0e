#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Layers written by other tools apply correctly, whiteouts included:
# GNU tar (gnu and posix formats, long names, xattrs), bsdtar (pax, gzip,
# zstd), and umoci repack (a two-layer image with deletions).
# Usage: interop.sh LAYER_TOOL TREECMP
set -euo pipefail
TOOL=$(realpath "$1")
CMP=$(realpath "$2")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (owners)"; exit 77; }
W=$(mktemp -d /tmp/layer-interop.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fail=0
setx() { python3 -c 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)' "$@"; }

# ---- a base tree and a layer directory with OCI whiteouts ----
mkdir -p base/etc base/opq/sub base/gone/deep base/keep
echo root > base/etc/passwd; echo shadow > base/etc/shadow
echo a > base/opq/a; echo s > base/opq/sub/s; echo d > base/gone/deep/d; echo k > base/keep/k
touch -d '2020-01-01' base/etc base/opq base/gone base/keep

long=$(printf 'n%.0s' $(seq 1 150))
mkdir -p layer/etc layer/opq/sub layer/new/$long layer/keep
echo new-passwd > layer/etc/passwd
: > layer/etc/.wh.shadow          # delete a file
: > layer/.wh.gone                # delete a directory
: > layer/opq/.wh..wh..opq        # opaque: base contents of opq hidden
echo fresh > layer/opq/fresh
echo inner > layer/opq/sub/inner  # sub is this layer's: stays, base opq/sub/s goes
echo deep > "layer/new/$long/file"
ln -s ../etc/passwd layer/new/link
echo h > layer/new/h1; ln layer/new/h1 layer/new/h2
chmod 4750 layer/new/h1; chown 12:34 layer/new/h1
setx layer/keep user.tag hello
touch -d '2021-06-07 08:09:10.111222333' layer/etc/passwd layer/new/h1
find layer -type d -exec touch -d '2022-02-02 02:02:02.5' {} +

# the tree the layer must give
cp -a base expected
rm -f expected/etc/shadow; rm -rf expected/gone expected/opq
cp -a layer/. expected/; find expected -name '.wh.*' -delete
( cd layer && find . -type d ) | while read -r d; do touch -r "layer/$d" "expected/$d"; done

try() { # NAME LAYERFILE [TREECMP OPTIONS]
	rm -rf applied; cp -a base applied
	if ! "$TOOL" apply applied "$2" > /dev/null; then echo "FAIL: $1: apply failed"; fail=1; return; fi
	if python3 "$CMP" "${@:3}" applied expected; then echo "ok   $1"; else echo "FAIL: $1"; fail=1; fi
}
tar --format=gnu -C layer -cf gnu.tar .
# the gnu format keeps whole seconds and no xattrs
try "GNU tar (gnu format, long names)" gnu.tar --mtime=sec --no-xattrs
tar --format=posix --xattrs -C layer -cf posix.tar .
try "GNU tar (posix format, xattrs)" posix.tar
tar --format=posix --xattrs -C layer -czf posix.tar.gz .
try "GNU tar (posix, gzip)" posix.tar.gz
bsdtar --format=pax -C layer -cf bsd.tar .
try "bsdtar (pax)" bsd.tar
bsdtar --format=pax --zstd -C layer -cf bsd.tar.zst .
try "bsdtar (pax, zstd)" bsd.tar.zst
bsdtar --format=gnutar -z -C layer -cf bsd-gnu.tar.gz .
try "bsdtar (gnutar, gzip)" bsd-gnu.tar.gz --mtime=sec --no-xattrs

# ---- sparse entries (GNU tar -S, PAX sparse 1.0): holes stay holes ----
mkdir -p sp; truncate -s 32M sp/holes; echo tail >> sp/holes; printf head | dd of=sp/holes conv=notrunc status=none
tar --format=posix -S -C sp -cf sparse.tar .
mkdir sp-applied
if "$TOOL" apply sp-applied sparse.tar > /dev/null && cmp -s sp/holes sp-applied/holes &&
	[ "$(du -k sp-applied/holes | cut -f1)" -lt 1024 ]; then
	echo "ok   GNU tar sparse entry (holes kept)"
else
	echo "FAIL: sparse entry"; fail=1
fi

# ---- umoci: two layers, the second with deletions and an opaque directory ----
if command -v umoci > /dev/null; then
	umoci init --layout img > /dev/null
	umoci new --image img:t > /dev/null
	umoci unpack --image img:t b1 > /dev/null
	mkdir -p b1/rootfs/etc b1/rootfs/opq/d b1/rootfs/gone
	echo a > b1/rootfs/etc/a; echo b > b1/rootfs/opq/d/b; echo c > b1/rootfs/opq/c; echo g > b1/rootfs/gone/g
	ln -s etc/a b1/rootfs/link
	umoci repack --image img:t b1 > /dev/null
	umoci unpack --image img:t b2 > /dev/null
	rm -rf b2/rootfs/etc/a b2/rootfs/gone b2/rootfs/opq/d b2/rootfs/opq/c
	echo n > b2/rootfs/opq/n; echo z > b2/rootfs/etc/z
	umoci repack --image img:t b2 > /dev/null
	manifest=$(python3 -c 'import json,sys; print(json.load(open("img/index.json"))["manifests"][-1]["digest"].split(":")[1])')
	mkdir umoci-applied
	n=0
	for l in $(python3 -c 'import json,sys; [print(l["digest"].split(":")[1]) for l in json.load(open(sys.argv[1]))["layers"]]' "img/blobs/sha256/$manifest"); do
		"$TOOL" apply umoci-applied "img/blobs/sha256/$l" > /dev/null || { echo "FAIL: umoci layer $l"; fail=1; }
		n=$((n + 1))
	done
	# umoci writes whole-second mtimes and touches directories on repack
	if [ $n = 2 ] && python3 "$CMP" --mtime=none umoci-applied b2/rootfs; then
		echo "ok   umoci repack ($n layers, whiteouts)"
	else
		echo "FAIL: umoci repack ($n layers)"; fail=1
	fi
else
	echo "skip umoci: not installed"
fi
exit $fail
