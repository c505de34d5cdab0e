#!/usr/bin/env bash
# snapctl inspect as a docker user scripts it, on the vfs driver:
#   cli-inspect.sh SNAPCTL
# - an image: Id, RepoTags, Digest, Config, RootFS.Layers (diff IDs),
#   History, Size, read from the stored config and manifest;
# - a container: Image, Config (Env, Entrypoint, Cmd, WorkingDir, User as
#   run gave them), State, Driver, its snapshot and the mounts of it;
# - one array for several names; an unknown name exits 1 naming it, the
#   others still printed; --type; -f '{{.A.B}}' and '{{json .A}}', other
#   template actions a usage error (2).
# Exit 77 (skip) without root, busybox-static or jq.
set -uo pipefail
snapctl=$1

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (run, mounts)"
command -v jq >/dev/null || skip "jq is not installed"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q static || busybox=/bin/busybox
[[ -x $busybox ]] || skip "busybox-static is not installed"

work=$(mktemp -d /var/tmp/snapctl-test-inspect.XXXXXX)
trap 'rm -rf "$work"' EXIT
sc() { "$snapctl" -q --root "$work/root" --driver vfs "$@"; }

rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,src}
cp "$busybox" "$rootfs/bin/busybox"
for a in sh echo true; do ln -s busybox "$rootfs/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"

id=$(sc import-rootfs "$rootfs" busybox) || fail "import-rootfs busybox"
sc tag busybox mybox:v1 || fail "tag"

# ---- an image ------------------------------------------------------------------
sc inspect busybox >"$work/img.json" || fail "inspect busybox exited $?"
jq -e 'type == "array" and length == 1' "$work/img.json" >/dev/null || fail "not a one-object array: $(cat "$work/img.json")"
img() { jq -r ".[0]$1" "$work/img.json"; }
[[ $(img .Id) == "$id" ]] || fail "Id $(img .Id), import said $id"
[[ $(img '.RepoTags | sort | join(",")') == "busybox:latest,mybox:v1" ]] || fail "RepoTags: $(img .RepoTags)"
[[ $(img .RootFS.Type) == layers ]] || fail "RootFS.Type: $(img .RootFS.Type)"
# the layers are the config's diff IDs, the digest the manifest's
diff_id=$(img '.RootFS.Layers[0]')
[[ $diff_id == sha256:* && $(img '.RootFS.Layers | length') == 1 ]] || fail "RootFS.Layers: $(img .RootFS.Layers)"
blob=$work/root/content/sha256
[[ -f $blob/${id#sha256:} ]] || fail "no config blob for $id"
[[ $(jq -r '.rootfs.diff_ids[0]' "$blob/${id#sha256:}") == "$diff_id" ]] || fail "Layers are not the config's diff IDs"
digest=$(img .Digest)
[[ -f $blob/${digest#sha256:} ]] || fail "Digest $digest is no stored blob"
[[ $(jq -r '.config.digest' "$blob/${digest#sha256:}") == "$id" ]] || fail "Digest $digest is not the image's manifest"
[[ $(img '.History[0].created_by') == "snapctl import-rootfs" ]] || fail "History: $(img .History)"
size=$(img .Size)
[[ $size -gt $(stat -c %s "$busybox") ]] || fail "Size $size is smaller than busybox"
[[ $(img .Os) == linux ]] || fail "Os: $(img .Os)"
echo "ok: an image"

# ---- a container ------------------------------------------------------------------
rc=0
sc run --name c1 -e A=1 -e B=two -w /src -u 0 --entrypoint /bin/sh busybox -c 'exit 3' || rc=$?
[[ $rc -eq 3 ]] || fail "run c1 exited $rc"
sc inspect c1 >"$work/ctr.json" || fail "inspect c1 exited $?"
ctr() { jq -r ".[0]$1" "$work/ctr.json"; }
[[ $(ctr .Name) == c1 && $(ctr .Id) == $(sc ps -a -q --no-trunc) ]] || fail "Name/Id: $(ctr .Name) $(ctr .Id)"
[[ $(ctr .Image) == "$id" && $(ctr .ImageName) == busybox ]] || fail "Image: $(ctr .Image) $(ctr .ImageName)"
[[ $(ctr '.Config.Env | join(",")') == "A=1,B=two" ]] || fail "Config.Env: $(ctr .Config.Env)"
[[ $(ctr .Config.WorkingDir) == /src ]] || fail "Config.WorkingDir: $(ctr .Config.WorkingDir)"
[[ $(ctr .Config.User) == 0 ]] || fail "Config.User: $(ctr .Config.User)"
[[ $(ctr '.Config.Entrypoint | join(" ")') == /bin/sh ]] || fail "Config.Entrypoint: $(ctr .Config.Entrypoint)"
[[ $(ctr '.Config.Cmd | join(" ")') == "-c exit 3" ]] || fail "Config.Cmd: $(ctr .Config.Cmd)"
[[ $(ctr .State.Status) == exited && $(ctr .State.Running) == false && $(ctr .State.ExitCode) == 3 ]] ||
	fail "State: $(ctr .State)"
[[ $(ctr .Driver) == vfs ]] || fail "Driver: $(ctr .Driver)"
key=$(ctr .Snapshot.Key)
sc snapshot ls | grep -q "^$key " || fail "Snapshot.Key $key is not a snapshot: $(sc snapshot ls)"
[[ $(ctr .Snapshot.Parent) == $(sc snapshot info "$key" | jq -r .parent) ]] || fail "Snapshot.Parent: $(ctr .Snapshot.Parent)"
src=$(ctr '.Snapshot.Mounts[0].Source')
[[ -x $src/bin/busybox ]] || fail "Snapshot.Mounts[0].Source $src is not the container's root"
echo "ok: a container"

# ---- several names, unknown ones, --type -------------------------------------------
rc=0
sc inspect c1 nosuchthing busybox >"$work/out" 2>"$work/err" || rc=$?
[[ $rc -eq 1 ]] || fail "inspect with an unknown name exited $rc"
grep -q "nosuchthing" "$work/err" || fail "the unknown name is not named: $(cat "$work/err")"
[[ $(jq -r '[.[] | .Name // .Id] | join(",")' "$work/out") == "c1,$id" ]] || fail "the others: $(cat "$work/out")"
rc=0
sc inspect nosuchthing >"$work/out" 2>"$work/err" || rc=$?
[[ $rc -eq 1 && $(jq -c . "$work/out") == "[]" ]] || fail "only an unknown name: $rc $(cat "$work/out")"
rc=0
sc inspect --type image c1 >/dev/null 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "--type image c1 exited $rc"
[[ $(sc inspect --type container c1 | jq -r '.[0].Name') == c1 ]] || fail "--type container c1"
rc=0
sc inspect --type volume c1 >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "--type volume exited $rc, expected 2"
echo "ok: several names, unknown ones, --type"

# ---- --format ---------------------------------------------------------------------
[[ $(sc inspect -f '{{.Config.WorkingDir}}' c1) == /src ]] || fail "-f .Config.WorkingDir"
[[ $(sc inspect -f '{{.Config.Env}}' c1) == "[A=1 B=two]" ]] || fail "-f .Config.Env: $(sc inspect -f '{{.Config.Env}}' c1)"
[[ $(sc inspect --format '{{json .RootFS.Layers}}' busybox) == "[\"$diff_id\"]" ]] || fail "--format json"
[[ $(sc inspect -f 'id={{ .Id }} code={{.State.ExitCode}}' c1 busybox) == "id=$(ctr .Id) code=3
id=$id code=<no value>" ]] || fail "-f over two objects: $(sc inspect -f 'id={{ .Id }} code={{.State.ExitCode}}' c1 busybox)"
rc=0
sc inspect -f '{{range .Config.Env}}{{.}}{{end}}' c1 >/dev/null 2>"$work/err" || rc=$?
[[ $rc -eq 2 ]] || fail "an unsupported template action exited $rc, expected 2"
grep -q "unsupported template action" "$work/err" || fail "unsupported action: $(cat "$work/err")"
echo "ok: --format"
