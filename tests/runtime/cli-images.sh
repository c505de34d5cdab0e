#!/usr/bin/env bash
# Names and the image commands a docker user reaches for, on the vfs driver:
#   cli-images.sh SNAPCTL
# docker's name normalisation everywhere a name is accepted, short names
# shown; tag; images -q and images REPOSITORY; re-committing a tag leaves a
# dangling image that image prune removes; --json on rm and rmi.
# Exit 77 (skip) without root or busybox-static.
set -uo pipefail
snapctl=$1

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (run, mounts)"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q static || busybox=/bin/busybox
[[ -x $busybox ]] || skip "busybox-static is not installed"

work=$(mktemp -d /var/tmp/snapctl-test-images.XXXXXX)
trap 'rm -rf "$work"' EXIT
sc() { "$snapctl" -q --root "$work/root" --driver vfs "$@"; }

rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp}
cp "$busybox" "$rootfs/bin/busybox"
for a in sh echo cat ls true; do ln -s busybox "$rootfs/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"

# ---- names -----------------------------------------------------------------
id=$(sc import-rootfs "$rootfs" busybox) || fail "import-rootfs busybox"
for n in busybox busybox:latest library/busybox docker.io/library/busybox:latest \
	index.docker.io/library/busybox; do
	sc run --rm "$n" true || fail "run $n: the name does not resolve"
	sc history -q "$n" >/dev/null || fail "history $n"
done
sc images | grep -q "^busybox:latest " || fail "images does not show busybox:latest: $(sc images)"
sc images | grep -q "docker.io" && fail "images shows the long name: $(sc images)"
[[ $(sc --json images | jq -r '.[0].reference') == docker.io/library/busybox:latest ]] ||
	fail "images --json: reference is not the normalised name"
sc import-rootfs "$rootfs" imported/bb:dk >/dev/null || fail "import-rootfs imported/bb:dk"
sc run --rm docker.io/imported/bb:dk true || fail "run docker.io/imported/bb:dk"
sc run --rm imported/bb:dk true || fail "run imported/bb:dk"
sc images | grep -q "^imported/bb:dk " || fail "images does not show imported/bb:dk"
sc import-rootfs "$rootfs" localhost:5000/team/app:1 >/dev/null || fail "import-rootfs with a registry"
sc images | grep -q "^localhost:5000/team/app:1 " || fail "a registry name is not shown whole"
if sc import-rootfs "$rootfs" BadName:1 2>"$work/err"; then fail "an upper-case name was accepted"; fi
grep -q "must be lowercase" "$work/err" || fail "upper-case name: $(cat "$work/err")"

# ---- tag, images REPOSITORY, images -q -------------------------------------
sc tag busybox mybox:v1 || fail "tag busybox mybox:v1"
sc tag "${id:7:12}" docker.io/library/mybox:v2 || fail "tag by ID prefix"
[[ $(sc images mybox | tail -n +2 | wc -l) -eq 2 ]] || fail "images mybox: $(sc images mybox)"
[[ $(sc images mybox:v1 | tail -n +2 | wc -l) -eq 1 ]] || fail "images mybox:v1: $(sc images mybox:v1)"
[[ $(sc images -q | sort -u | wc -l) -eq $(sc images -q | wc -l) ]] || fail "images -q repeats IDs"
sc images -q | grep -qx "${id:7:12}" || fail "images -q lacks ${id:7:12}: $(sc images -q)"
[[ $(sc images -q --no-trunc mybox) == "$id" ]] || fail "images -q --no-trunc mybox"
sc tag nosuch:1 x:1 2>/dev/null && fail "tag of a missing image succeeded"

# ---- re-commit a tag: dangling image, prune --------------------------------
sc run --name c1 busybox sh -c 'echo 1 >/tmp/one' || fail "run c1"
first=$(sc commit c1 app:1) || fail "commit c1 app:1"
sc run --name c2 busybox sh -c 'echo 2 >/tmp/two' || fail "run c2"
second=$(sc commit c2 app:1) || fail "commit c2 app:1 again"
[[ $first != "$second" ]] || fail "two commits made one image"
sc images | grep -q "^<none>:<none> *${first:7:12}" || fail "the first app:1 is not dangling: $(sc images)"
# a container on the dangling image keeps it
sc run --name c3 "$first" true || fail "run on the dangling image"
sc image prune | grep -q "No images to remove" || fail "prune removed an image a container uses"
sc rm c3 >/dev/null
out=$(sc image prune) || fail "image prune"
grep -q "deleted: $first" <<<"$out" || fail "image prune did not delete $first: $out"
sc images | grep -q "<none>" && fail "a dangling image is left: $(sc images)"
sc run --rm app:1 cat /tmp/two >/dev/null || fail "app:1 lost its content"

# ---- --json on rm and rmi --------------------------------------------------
json=$(sc --json rm c1 c2) || fail "rm --json"
[[ $(jq -r '.[].name' <<<"$json" | sort | tr '\n' ' ') == "c1 c2 " ]] || fail "rm --json: $json"
jq -e '.[0].id | length == 64' <<<"$json" >/dev/null || fail "rm --json lacks the ID: $json"
json=$(sc --json rmi mybox:v1 app:1) || fail "rmi --json"
jq -e '.[0].untagged == ["mybox:v1"] and .[0].deleted == null' <<<"$json" >/dev/null ||
	fail "rmi --json of one tag of several: $json"
jq -e '.[1].untagged == ["app:1"] and (.[1].deleted | startswith("sha256:"))' <<<"$json" >/dev/null ||
	fail "rmi --json of the last tag: $json"
out=$(sc image prune -a) || fail "image prune -a"
[[ $(sc images -q | wc -l) -eq 0 ]] || fail "image prune -a left images: $(sc images)"
echo "ok"
