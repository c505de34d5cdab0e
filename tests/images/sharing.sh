#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Chain-ID sharing: a second image on the same base layer reuses the base
# layer's committed snapshot and blob (no new snapshot, no second copy on
# disk); removing images frees exactly what no other image uses.
. "$(dirname "$0")/lib.sh"

mk_busybox_rootfs "$WORK/base"
# Make the base big enough that a second copy would show in du.
head -c 8M /dev/urandom >"$WORK/base/bulk"
mkdir -p "$WORK/a/etc" "$WORK/b/etc"
echo a >"$WORK/a/etc/a"
echo b >"$WORK/b/etc/b"
mk_tar "$WORK/base" "$WORK/base.tar"
mk_tar "$WORK/a" "$WORK/a.tar"
mk_tar "$WORK/b" "$WORK/b.tar"
mk_layout "$WORK/A" "gzip:$WORK/base.tar" "$WORK/a.tar" >/dev/null
mk_layout "$WORK/B" "gzip:$WORK/base.tar" "zstd:$WORK/b.tar" >/dev/null

snapctl import --name img:a "$WORK/A" >/dev/null 2>"$WORK/err" || {
	grep -qi "driver\|overlay\|not supported" "$WORK/err" && skip "driver $DRIVER unusable here: $(cat "$WORK/err")"
	fail "import A: $(cat "$WORK/err")"
}
n_snaps() { find "$ROOT/snapshots" -mindepth 1 -maxdepth 1 -type d | wc -l; }
n_blobs() { find "$ROOT/content/sha256" -type f | wc -l; }
[ "$(n_snaps)" = 2 ] || fail "image A: $(n_snaps) snapshots, expected 2"
# Space used by the snapshots: du, except on btrfs where du counts extents
# shared by snapshots once per subvolume: there, the filesystem's own count.
used_kb() {
	if [ "$DRIVER" = btrfs ]; then
		sync -f "$ROOT/snapshots"
		df -k --output=used "$ROOT/snapshots" | tail -1
	else
		du -sk "$ROOT/snapshots" | cut -f1
	fi
}
du_before=$(used_kb)

out=$(snapctl import --json --name img:b "$WORK/B")
echo "$out" | grep -q '"new_layers": *1' || fail "image B unpacked more than its own layer: $out"
[ "$(n_snaps)" = 3 ] || fail "after B: $(n_snaps) snapshots, expected 3"
# blobs: base (once), a, b, two configs, two manifests
[ "$(n_blobs)" = 7 ] || fail "after B: $(n_blobs) blobs, expected 7"
du_after=$(used_kb)
grown=$((du_after - du_before))
echo "snapshots grew by ${grown}kB for image B (base layer is 8MB+)"
case $DRIVER in
vfs) ;; # a vfs snapshot is a copy of its parent by design (reflinked where it can)
*) [ $grown -lt 4096 ] || fail "importing B grew the snapshots by ${grown}kB: the base was copied" ;;
esac

# Same layers, re-imported under another name: nothing new at all.
out=$(snapctl import --json --name img:a2 "$WORK/A")
echo "$out" | grep -q '"new_layers": *0' || fail "re-import unpacked layers: $out"
[ "$(n_snaps)" = 3 ] || fail "re-import added snapshots"

# Both run on the shared base: the top of each resolves, and the history
# lists each image's own layers with sizes.
snapctl history --json img:b | grep -q '"size": 10240' || fail "history of B lacks its layer size"

# rmi: one tag of A goes, A stays; then A goes, B keeps the base.
snapctl rmi img:a2 | grep -q "Untagged: img:a2" || fail "rmi img:a2"
[ "$(n_snaps)" = 3 ] || fail "untagging removed snapshots"
snapctl rmi img:a | grep -q "Deleted: sha256:" || fail "rmi img:a did not delete the image"
[ "$(n_snaps)" = 2 ] || fail "after rmi A: $(n_snaps) snapshots, expected 2 (base shared with B)"
[ "$(n_blobs)" = 4 ] || fail "after rmi A: $(n_blobs) blobs, expected 4"
snapctl rmi img:b >/dev/null
[ "$(n_snaps)" = 0 ] || fail "after rmi B: $(n_snaps) snapshots left"
[ "$(n_blobs)" = 0 ] || fail "after rmi B: $(n_blobs) blobs left"
snapctl images | grep -q "img:" && fail "images still listed"

# gc: a blob no image references (a crash between publishing and
# recording) and a layer snapshot no image uses any more are collected.
snapctl import --name img:b "$WORK/B" >/dev/null
echo orphan >"$WORK/orphan"
cp "$WORK/orphan" "$ROOT/content/sha256/$(sha256 "$WORK/orphan")"
snapctl gc >/dev/null
[ -e "$ROOT/content/sha256/$(sha256 "$WORK/orphan")" ] && fail "gc left an unreferenced blob"
[ "$(n_snaps)" = 2 ] || fail "gc removed layers of a live image"
[ "$(n_blobs)" = 4 ] || fail "gc removed blobs of a live image"
echo "ok"
