#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fs-verity on content blobs: with ROOT on a filesystem that supports it
# (ext4 made with -O verity, btrfs), every blob an import publishes is
# sealed (statx reports it, writes are refused), `info` says so and
# `verify` reports it.  Usage: verity.sh SNAPCTL FSTYPE
. "$(dirname "$0")/lib.sh" "$1" vfs
FS=$2
case $FS in
ext4) command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 missing"; mkfs=(mkfs.ext4 -q -F -O verity) ;;
btrfs) command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs missing"; mkfs=(mkfs.btrfs -q -f) ;;
*) fail "unknown filesystem $FS" ;;
esac
truncate -s 300M "$WORK/fs.img"
"${mkfs[@]}" "$WORK/fs.img" >/dev/null 2>&1 || skip "$FS: mkfs refused (${mkfs[*]})"
mkdir -p "$ROOT"
mount -o loop "$WORK/fs.img" "$ROOT" 2>/dev/null || skip "cannot loop-mount a $FS image here"

snapctl info >"$WORK/info"
if ! grep -q "^Content:   fs-verity on" "$WORK/info"; then
	skip "$FS here has no fs-verity: $(grep '^Content:' "$WORK/info")"
fi
mkdir -p "$WORK/src/etc"
echo hello >"$WORK/src/etc/hello"
mk_tar "$WORK/src" "$WORK/l.tar"
mk_layout "$WORK/img" "gzip:$WORK/l.tar" >/dev/null
snapctl import --name v:1 "$WORK/img" >/dev/null
n=0
for b in "$ROOT"/content/sha256/*; do
	n=$((n + 1))
	python3 - "$b" <<'PY' || fail "blob $b is not sealed"
import ctypes, os, sys
# statx(2) with STATX_ATTR_VERITY (0x100000)
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(256)
if libc.statx(-100, sys.argv[1].encode(), 0, 0, buf) != 0:
    sys.exit(2)
attrs = int.from_bytes(buf.raw[8:16], "little")
mask = int.from_bytes(buf.raw[40:48], "little")
sys.exit(0 if attrs & mask & 0x100000 else 1)
PY
	if (echo x >>"$b") 2>/dev/null; then fail "a sealed blob accepted a write: $b"; fi
done
[ $n -eq 3 ] || fail "expected 3 blobs, found $n"
snapctl verify v:1 >"$WORK/out" || fail "verify: $(cat "$WORK/out")"
[ "$(grep -c "fs-verity sealed" "$WORK/out")" = 2 ] || fail "verify does not report the seal: $(cat "$WORK/out")"
snapctl --json info | jq -e '.content.fs_verity.enabled == true' >/dev/null || fail "info --json"
echo "fs-verity on $FS: $n blobs sealed"
