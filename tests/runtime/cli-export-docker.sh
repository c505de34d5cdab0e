#!/usr/bin/env bash
# export --format docker-archive (issue #16), on the vfs driver:
#   cli-export-docker.sh SNAPCTL
# - the tar is docker save's: manifest.json, repositories, <config>.json
#   byte for byte, each layer uncompressed as <diff-id>/layer.tar hashing
#   to its diff ID (a gzip layer blob is decompressed, a plain one copied);
# - skopeo inspect docker-archive: reads it (same layers, same config);
# - podman load -i loads it (same image ID) into a private storage;
# - snapctl import reads it back as the same image (same ID) under its name;
# - bad --format and a missing or doubled PATH are usage errors (2).
# skopeo and podman are in scripts/setup.sh's list; their checks skip (with
# the reason) when they are absent.  Exit 77 without root, busybox-static or jq.
set -uo pipefail
snapctl=$1

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root"
command -v jq >/dev/null || skip "jq is not installed"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q static || busybox=/bin/busybox
[[ -x $busybox ]] || skip "busybox-static is not installed"

work=$(mktemp -d /var/tmp/snapctl-test-export-docker.XXXXXX)
podman_cmd=() runroot=
cleanup() {
	if ((${#podman_cmd[@]})); then
		"${podman_cmd[@]}" rmi -a -f >/dev/null 2>&1
		umount -R "$work/podman" 2>/dev/null
	fi
	[[ -n $runroot ]] && rm -rf "$runroot"
	rm -rf "$work"
}
trap cleanup EXIT
sc() { "$snapctl" -q --root "$work/root" --driver vfs "$@"; }

rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp}
cp "$busybox" "$rootfs/bin/busybox"
for a in sh echo true; do ln -s busybox "$rootfs/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"
sc import-rootfs "$rootfs" busybox >/dev/null || fail "import-rootfs busybox"
# a layer from a gzip layer tar, and a two-layer image made by commit
mkdir -p "$work/l2/etc"
echo hello >"$work/l2/etc/greeting"
tar -C "$work/l2" -czf "$work/l2.tar.gz" etc
sc run --name c1 busybox sh -c 'echo 1 >/tmp/one' || fail "run c1"
sc commit -m two c1 me/app:2 >/dev/null || fail "commit"
sc import-rootfs "$work/l2.tar.gz" gz:1 >/dev/null || fail "import-rootfs a gzip layer"
# commit stores its layer gzip-compressed: the export decompresses it
manifest=$(sc inspect -f '{{.Digest}}' me/app:2)
[[ $(jq -r '.layers[1].mediaType' "$work/root/content/sha256/${manifest#sha256:}") == *+gzip ]] ||
	fail "me/app:2's layer is not stored compressed: the test would not cover decompression"

# check_archive TAR IMAGE: docker save's layout, config and layers intact
check_archive() {
	local tar=$1 image=$2 x=$work/x
	rm -rf "$x" && mkdir "$x" && tar -C "$x" -xf "$tar" || fail "$tar is not a tar"
	local id cfg
	id=$(sc inspect -f '{{.Id}}' "$image")
	cfg=$(jq -r '.[0].Config' "$x/manifest.json") || fail "$image: manifest.json: $(cat "$x/manifest.json")"
	[[ $cfg == "${id#sha256:}.json" ]] || fail "$image: Config $cfg, image $id"
	[[ sha256:$(sha256sum <"$x/$cfg" | cut -d' ' -f1) == "$id" ]] || fail "$image: the config is not the image's bytes"
	local i=0 l
	for l in $(jq -r '.[0].Layers[]' "$x/manifest.json"); do
		local want
		want=$(jq -r ".rootfs.diff_ids[$i]" "$x/$cfg")
		[[ -f $x/$l ]] || fail "$image: layer $l missing"
		[[ sha256:$(sha256sum <"$x/$l" | cut -d' ' -f1) == "$want" ]] || fail "$image: $l does not hash to its diff ID $want"
		tar -tf "$x/$l" >/dev/null || fail "$image: $l is not a plain tar"
		i=$((i + 1))
	done
	[[ $i -eq $(jq '.rootfs.diff_ids | length' "$x/$cfg") ]] || fail "$image: $i layers for $(jq -c .rootfs.diff_ids "$x/$cfg")"
}

sc export --format docker-archive me/app:2 "$work/app.tar" || fail "export me/app:2"
check_archive "$work/app.tar" me/app:2
[[ $(tar -xOf "$work/app.tar" manifest.json | jq -r '.[0].RepoTags[0]') == me/app:2 ]] || fail "RepoTags: $(tar -xOf "$work/app.tar" manifest.json)"
[[ $(tar -xOf "$work/app.tar" repositories | jq -r '."me/app"."2"') == \
   "$(tar -xOf "$work/app.tar" manifest.json | jq -r '.[0].Layers[-1]' | cut -d/ -f1)" ]] || fail "repositories: $(tar -xOf "$work/app.tar" repositories)"
sc export --format docker-archive -o "$work/gz.tar" gz:1 || fail "export -o gz:1"
check_archive "$work/gz.tar" gz:1
tar -xOf "$work/gz.tar" "$(tar -xOf "$work/gz.tar" manifest.json | jq -r '.[0].Layers[0]')" | tar -xO etc/greeting | grep -qx hello ||
	fail "gz:1's layer.tar lost etc/greeting"
echo "ok: docker save's layout, configs and layers byte for byte"

for bad in "--format tar busybox $work/b.tar" "--format docker-archive busybox" \
	"--format docker-archive -o $work/b.tar busybox $work/c.tar"; do
	rc=0
	# shellcheck disable=SC2086
	sc export $bad >/dev/null 2>&1 || rc=$?
	[[ $rc -eq 2 ]] || fail "export $bad exited $rc, expected 2"
done
echo "ok: usage errors"

# ---- snapctl import reads it back ---------------------------------------------
app_id=$(sc inspect -f '{{.Id}}' me/app:2)
"$snapctl" -q --root "$work/root2" --driver vfs import "$work/app.tar" >/dev/null || fail "import the docker archive"
[[ $("$snapctl" --root "$work/root2" --driver vfs inspect -f '{{.Id}}' me/app:2) == "$app_id" ]] ||
	fail "round trip: $("$snapctl" --root "$work/root2" --driver vfs images)"
"$snapctl" -q --root "$work/root2" --driver vfs run --rm me/app:2 sh -c 'test "$(cat /tmp/one)" = 1' ||
	fail "the round-tripped image does not run with its layers"
echo "ok: snapctl import round trip (same image ID)"

# ---- skopeo ---------------------------------------------------------------------
if command -v skopeo >/dev/null; then
	skopeo inspect "docker-archive:$work/app.tar" >"$work/skopeo.json" 2>"$work/err" || fail "skopeo inspect: $(cat "$work/err")"
	[[ $(jq -c .Layers "$work/skopeo.json") == "$(sc inspect -f '{{json .RootFS.Layers}}' me/app:2)" ]] ||
		fail "skopeo sees other layers: $(cat "$work/skopeo.json")"
	skopeo inspect --config "docker-archive:$work/gz.tar" >"$work/skopeo-config.json" 2>"$work/err" || fail "skopeo inspect --config: $(cat "$work/err")"
	[[ $(jq -c .rootfs.diff_ids "$work/skopeo-config.json") == "$(sc inspect -f '{{json .RootFS.Layers}}' gz:1)" ]] ||
		fail "skopeo sees another config: $(cat "$work/skopeo-config.json")"
	echo "ok: skopeo inspect docker-archive:"
else
	echo "skip: skopeo is not installed (scripts/setup.sh installs it)"
fi

# ---- podman load ----------------------------------------------------------------
if command -v podman >/dev/null; then
	# podman refuses a runroot path longer than 50 characters
	runroot=$(mktemp -d /tmp/snapctl-podman.XXXXXX)
	mkdir -p "$work/podman"
	podman_cmd=(podman --root "$work/podman" --runroot "$runroot" --storage-driver vfs
		--cgroup-manager cgroupfs --events-backend none)
	"${podman_cmd[@]}" load -i "$work/app.tar" >"$work/out" 2>&1 || fail "podman load: $(cat "$work/out")"
	[[ $("${podman_cmd[@]}" image inspect --format '{{.Id}}' me/app:2 2>&1) == "${app_id#sha256:}" ]] ||
		fail "podman loaded another image: $("${podman_cmd[@]}" images --no-trunc 2>&1)"
	echo "ok: podman load"
else
	echo "skip: podman is not installed (scripts/setup.sh installs it)"
fi
