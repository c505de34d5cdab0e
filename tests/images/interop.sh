#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Interop with skopeo, umoci and containerd: they read what snapctl exports,
# and snapctl imports what they write.  The source image is busybox built
# from the host's busybox-static (no network here).
. "$(dirname "$0")/lib.sh"

command -v skopeo >/dev/null || skip "skopeo is not installed"
command -v umoci >/dev/null || skip "umoci is not installed"

mk_busybox_rootfs "$WORK/rootfs"
snapctl import-rootfs "$WORK/rootfs" busybox:1 >/dev/null
mk_tar "$WORK/rootfs" "$WORK/rootfs.tar"
gzip -n -k "$WORK/rootfs.tar"
snapctl import-rootfs "$WORK/rootfs.tar.gz" busybox:gz >/dev/null
snapctl images | grep -q "^busybox:gz " || fail "import-rootfs from a tar.gz"

# import-rootfs is deterministic: the same tree gives the same layer.
id1=$(snapctl history -q --no-trunc busybox:1 | head -1)
snapctl history --json busybox:1 | grep -q '"created_by": "snapctl import-rootfs"' ||
	fail "history of an import-rootfs image"

# ---- snapctl -> skopeo, umoci -----------------------------------------
snapctl export busybox:1 "$WORK/oci"
snapctl export busybox:1 "$WORK/oci.tar"
skopeo inspect "oci:$WORK/oci:1" >"$WORK/inspect.json" || fail "skopeo inspect oci:"
grep -q '"Architecture": "amd64"\|"Architecture": "'"$(uname -m)"'"' "$WORK/inspect.json" || true
skopeo inspect "oci-archive:$WORK/oci.tar:1" >/dev/null || fail "skopeo inspect oci-archive:"
umoci unpack --image "$WORK/oci:1" "$WORK/bundle" >/dev/null || fail "umoci unpack"
cmp "$WORK/bundle/rootfs/bin/busybox" "$WORK/rootfs/bin/busybox" || fail "umoci unpacked a different busybox"
[ "$(readlink "$WORK/bundle/rootfs/bin/sh")" = busybox ] || fail "umoci: bin/sh is not the symlink"
echo "ok: skopeo and umoci read snapctl's export"
expect_fail "exists and is not an empty directory" snapctl export busybox:1 "$WORK/oci"
expect_fail "no such image" snapctl export nothere:1 "$WORK/none"
[ -e "$WORK/none" ] && fail "a failed export left $WORK/none"

# ---- skopeo, umoci -> snapctl ------------------------------------------
fresh() { ROOT=$WORK/root-$1; }
has_busybox() {
	find "$ROOT/snapshots" -path '*/bin/busybox' -type f | grep . >/dev/null || fail "$1: no bin/busybox unpacked"
}

skopeo copy -q "oci:$WORK/oci:1" "oci:$WORK/sk-plain:v1"
skopeo copy -q --dest-compress --dest-compress-format zstd "oci:$WORK/oci:1" "oci:$WORK/sk-zstd:v2"
skopeo copy -q --dest-compress --dest-compress-format gzip "oci:$WORK/oci:1" "oci-archive:$WORK/sk-gzip.tar:v3"
skopeo copy -q "oci:$WORK/oci:1" "docker-archive:$WORK/docker.tar:example/busybox:v4"

fresh plain
snapctl import "$WORK/sk-plain" | grep -q "Loaded image: sk-plain:v1" || fail "import skopeo oci: (name from ref.name)"
has_busybox "skopeo oci:"
fresh zstd
snapctl import --name bb:zstd "$WORK/sk-zstd" >/dev/null
has_busybox "skopeo oci: zstd"
fresh gzip
snapctl import "$WORK/sk-gzip.tar" | grep -q "Loaded image: sk-gzip:v3" || fail "import skopeo oci-archive:"
has_busybox "skopeo oci-archive: gzip"
fresh docker
snapctl import "$WORK/docker.tar" | grep -q "Loaded image: example/busybox:v4" ||
	fail "import skopeo docker-archive: (name from RepoTags)"
has_busybox "skopeo docker-archive:"
fresh docker-dir
mkdir -p "$WORK/docker-dir"
tar -C "$WORK/docker-dir" -xf "$WORK/docker.tar"
snapctl import "$WORK/docker-dir" | grep -q "Loaded image: example/busybox:v4" ||
	fail "import an unpacked docker save directory"
# The same image through every route has the same ID (its config digest).
for r in plain zstd gzip docker docker-dir; do
	fresh $r
	[ "$(snapctl history -q --no-trunc "$(snapctl images --json | sed -n 's/.*"name": "\(.*\)".*/\1/p' | head -1)" | head -1)" = "$id1" ] ||
		fail "$r: image ID differs from the exported image's"
done
echo "ok: snapctl imports skopeo's oci:, oci-archive: (gzip), zstd and docker-archive:"

# umoci builds a two-layer image with a config of its own (unpack, change,
# repack: umoci's own workflow).
umoci init --layout "$WORK/umoci" >/dev/null
umoci new --image "$WORK/umoci:u1" >/dev/null
umoci unpack --image "$WORK/umoci:u1" "$WORK/ub1" >/dev/null
cp -a "$WORK/rootfs/." "$WORK/ub1/rootfs/"
umoci repack --image "$WORK/umoci:u1" "$WORK/ub1" >/dev/null
umoci unpack --image "$WORK/umoci:u1" "$WORK/ub2" >/dev/null
mkdir -p "$WORK/ub2/rootfs/etc/extra"
echo extra >"$WORK/ub2/rootfs/etc/extra/hello"
umoci repack --image "$WORK/umoci:u1" "$WORK/ub2" >/dev/null
umoci config --image "$WORK/umoci:u1" --config.cmd /bin/sh --config.env FOO=bar >/dev/null
fresh umoci
snapctl import --name umoci:u1 "$WORK/umoci" >/dev/null
[ "$(snapctl images --json | grep -c '"layers": 2')" = 1 ] || fail "umoci image: expected 2 layers"
find "$ROOT/snapshots" -path '*/etc/extra/hello' | grep . >/dev/null || fail "umoci image: second layer missing"
snapctl history umoci:u1 >/dev/null
echo "ok: snapctl imports umoci's layout"

# ---- containerd ----------------------------------------------------------
command -v containerd >/dev/null && command -v ctr >/dev/null || skip "containerd/ctr not installed (skopeo and umoci passed)"
CD=$WORK/containerd
mkdir -p "$CD"
cat >"$CD/config.toml" <<EOT
version = 2
root = "$CD/root"
state = "$CD/state"
[grpc]
  address = "$CD/sock"
[ttrpc]
  address = "$CD/sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  disable = true
EOT
containerd --config "$CD/config.toml" >"$CD/log" 2>&1 &
cd_pid=$!
stop_containerd() {
	kill "$cd_pid" 2>/dev/null && wait "$cd_pid" 2>/dev/null
	cleanup
}
trap stop_containerd EXIT
ctr_() { ctr --address "$CD/sock" "$@"; }
for _ in $(seq 50); do ctr_ version >/dev/null 2>&1 && break; sleep 0.1; done
ctr_ version >/dev/null 2>&1 || skip "containerd did not start: $(tail -3 "$CD/log")"

ROOT=$WORK/root
ctr_ images import --snapshotter overlayfs "$WORK/oci.tar" >/dev/null || fail "ctr images import of snapctl's archive"
ctr_ images ls -q | grep -qx "busybox:1" || fail "ctr does not list busybox:1: $(ctr_ images ls -q)"
ctr_ images export "$WORK/ctr.tar" busybox:1
fresh ctr
snapctl import "$WORK/ctr.tar" | grep -q "Loaded image: busybox:1" || fail "import ctr's export"
has_busybox "ctr export"
echo "ok: containerd imports snapctl's archive, snapctl imports containerd's"
