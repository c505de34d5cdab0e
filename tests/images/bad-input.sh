#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Bad input to import: each case fails with exit 1 and a message naming the
# problem, and leaves the store exactly as it was (blobs, snapshots, rows).
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/l1/etc" "$WORK/l2/etc"
echo one >"$WORK/l1/etc/one"
echo two >"$WORK/l2/etc/two"
mk_tar "$WORK/l1" "$WORK/l1.tar"
mk_tar "$WORK/l2" "$WORK/l2.tar"

# A good image first, so that "unchanged" means something.
mk_layout "$WORK/good" "$WORK/l1.tar" >/dev/null
snapctl import --name good:1 "$WORK/good" >/dev/null
before=$(store_state)

check_unchanged() {
	local after
	after=$(store_state)
	[ "$before" = "$after" ] || fail "$1: store changed:
$(diff <(echo "$before") <(echo "$after"))"
	[ -z "$(ls -A "$ROOT/tmp" 2>/dev/null)" ] || fail "$1: staging leftovers: $(ls "$ROOT/tmp")"
}

case_() { # NAME PATTERN PATH [import args]
	local name=$1 pattern=$2
	shift 2
	expect_fail "$pattern" snapctl import "$@"
	check_unchanged "$name"
	echo "ok: $name"
}

# 1. a layer blob missing
mk_layout "$WORK/missing" "$WORK/l1.tar" "$WORK/l2.tar" >/dev/null
rm "$WORK/missing/blobs/sha256/$(sha256 "$WORK/l2.tar")"
case_ "missing blob" "is missing" "$WORK/missing"

# 2. a layer blob whose content does not match its digest (same size)
mk_layout "$WORK/wrong" "$WORK/l1.tar" "$WORK/l2.tar" >/dev/null
b="$WORK/wrong/blobs/sha256/$(sha256 "$WORK/l2.tar")"
printf 'X' | dd of="$b" bs=1 seek=600 conv=notrunc status=none
case_ "wrong digest" "digest mismatch" "$WORK/wrong"

# 3. a descriptor with the wrong size (manifest rewritten consistently)
out=$(mk_layout "$WORK/size" "$WORK/l1.tar")
mdig=${out% *}
mf="$WORK/size/blobs/sha256/${mdig#sha256:}"
l1size=$(size_of "$WORK/l1.tar")
sed "s/\"size\":$l1size}/\"size\":$((l1size + 1))}/" "$mf" >"$WORK/size/m.json"
nm=$(sha256 "$WORK/size/m.json")
mv "$WORK/size/m.json" "$WORK/size/blobs/sha256/$nm"
sed -i "s/${mdig#sha256:}\",\"size\":[0-9]*/$nm\",\"size\":$(size_of "$WORK/size/blobs/sha256/$nm")/" "$WORK/size/index.json"
case_ "wrong size" "size mismatch" "$WORK/size"

# 4. an unknown layer media type
LAYER_MT=application/x-not-a-layer mk_layout "$WORK/mt" "$WORK/l1.tar" >/dev/null
case_ "unknown media type" "unsupported media type 'application/x-not-a-layer'" "$WORK/mt"

# 5. a manifest whose config is for another platform
ARCH=s390x mk_layout "$WORK/arch" "$WORK/l1.tar" >/dev/null
case_ "other platform (config)" "image is for linux/s390x" "$WORK/arch"

# 6. an index that only has a manifest for another platform
INDEX_PLATFORM=linux/riscv64 mk_layout "$WORK/plat" "$WORK/l1.tar" >/dev/null
case_ "other platform (index)" "no manifest for linux/.*riscv64" "$WORK/plat"

# 7. an index with no manifests, and one with no usable manifest
mk_layout "$WORK/empty" "$WORK/l1.tar" >/dev/null
echo '{"schemaVersion":2,"manifests":[]}' >"$WORK/empty/index.json"
case_ "empty index" "lists no manifests" "$WORK/empty"
mk_layout "$WORK/unusable" "$WORK/l1.tar" >/dev/null
sed -i 's/application\/vnd.oci.image.manifest.v1+json/application\/vnd.example.thing+json/' "$WORK/unusable/index.json"
case_ "no usable manifest" "no usable manifest" "$WORK/unusable"

# 8. a config whose diff_id does not match the second layer: the first
#    layer is unpacked before this is found, and must be undone.
out=$(mk_layout "$WORK/diffid" "$WORK/l1.tar" "$WORK/l2.tar")
mdig=${out% *}
mf="$WORK/diffid/blobs/sha256/${mdig#sha256:}"
cdig=$(sed -n 's/.*"config":{[^}]*"digest":"sha256:\([0-9a-f]*\)".*/\1/p' "$mf")
cf="$WORK/diffid/blobs/sha256/$cdig"
sed "s/$(sha256 "$WORK/l2.tar")/$(sha256 "$WORK/l1.tar")/" "$cf" >"$WORK/diffid/c.json"
nc=$(sha256 "$WORK/diffid/c.json")
mv "$WORK/diffid/c.json" "$WORK/diffid/blobs/sha256/$nc"
sed "s/$cdig/$nc/" "$mf" >"$WORK/diffid/m.json"
nm=$(sha256 "$WORK/diffid/m.json")
mv "$WORK/diffid/m.json" "$WORK/diffid/blobs/sha256/$nm"
sed -i "s/${mdig#sha256:}\",\"size\":[0-9]*/$nm\",\"size\":$(size_of "$WORK/diffid/blobs/sha256/$nm")/" "$WORK/diffid/index.json"
case_ "diff_id mismatch" "the config says" "$WORK/diffid"

# 9. tars that are not images, and a file that is not a tar
tar -C "$WORK/l1" -cf "$WORK/notimage.tar" .
case_ "tar that is not an image" "not an image" "$WORK/notimage.tar"
head -c 4096 /dev/urandom >"$WORK/random.bin"
case_ "not an archive" "not an image archive" "$WORK/random.bin"

# 10. an OCI archive (tar) with a corrupted blob
mk_layout "$WORK/arch2" "$WORK/l2.tar" >/dev/null
b="$WORK/arch2/blobs/sha256/$(sha256 "$WORK/l2.tar")"
printf 'Y' | dd of="$b" bs=1 seek=700 conv=notrunc status=none
tar -C "$WORK/arch2" -cf "$WORK/arch2.tar" oci-layout index.json blobs
case_ "OCI archive, wrong digest" "digest mismatch" "$WORK/arch2.tar"

# 11. a docker-save tar whose manifest.json names a missing layer
mkdir -p "$WORK/ds"
cp "$WORK/good/blobs/sha256/"* "$WORK/ds/" 2>/dev/null || true
echo '[{"Config":"nothere.json","RepoTags":["x:y"],"Layers":["abc/layer.tar"]}]' >"$WORK/ds/manifest.json"
tar -C "$WORK/ds" -cf "$WORK/ds.tar" manifest.json
case_ "docker-save, missing files" "nothere.json: missing" "$WORK/ds.tar"

# 12. a bad name
expect_fail "invalid image name" snapctl import --name 'Bad Name' "$WORK/good"
check_unchanged "bad name"
echo "ok: bad name"

# 13. a multi-platform index (nested under index.json, as buildkit and
#     docker write it): the linux/<host> manifest is picked, the other
#     platform's blobs are not even needed.
host_arch=$(case $(uname -m) in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) uname -m ;; esac)
other_arch=s390x
[ "$host_arch" = s390x ] && other_arch=amd64
out=$(ARCH=$host_arch mk_layout "$WORK/multi" "$WORK/l2.tar")
mine=${out% *}
out=$(ARCH=$other_arch mk_layout "$WORK/other" "$WORK/l1.tar")
theirs=${out% *}
msize() { size_of "$1/blobs/sha256/${2#sha256:}"; }
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"%s"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"%s"}}]}' \
	"$theirs" "$(msize "$WORK/other" "$theirs")" "$other_arch" "$mine" "$(msize "$WORK/multi" "$mine")" "$host_arch" >"$WORK/idx.json"
idx=$(sha256 "$WORK/idx.json")
mv "$WORK/idx.json" "$WORK/multi/blobs/sha256/$idx"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}' \
	"$idx" "$(size_of "$WORK/multi/blobs/sha256/$idx")" >"$WORK/multi/index.json"
snapctl import "$WORK/multi" | grep -q "Loaded image: multi:multi" || fail "multi-platform index: not imported"
snapctl history --json multi:multi | grep -q "l2.tar" || fail "multi-platform index: wrong manifest picked"
echo "ok: multi-platform index picks linux/$host_arch"
