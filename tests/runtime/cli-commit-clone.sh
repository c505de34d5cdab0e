#!/usr/bin/env bash
# commit on btrfs keeps a clone of the container as the new layer's snapshot
# (core/image/image-commit-clone.c) only when applying the layer would give
# the clone back:
#   cli-commit-clone.sh SNAPCTL
# The kept clone: the layer's subvolume is a snapshot of the container's
# (writable) subvolume, `verify` re-derives its diff ID, the layer is the
# container's diff, a container of the new image sees the changes.  The
# fallbacks (the layer is applied into a snapshot of the image's top, a
# read-only subvolume): a hard link to a file of the image, a chmod of /,
# an xattr a layer never carries.  Exit 77 (skip) without root, busybox-static,
# btrfs-progs, python3 or btrfs.
set -uo pipefail
snapctl=$1

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (namespaces, mounts, btrfs ioctls)"
busybox=/bin/busybox
[[ -x $busybox ]] || skip "busybox-static is not installed"
command -v btrfs >/dev/null || skip "btrfs-progs is not installed"
command -v python3 >/dev/null || skip "python3 is not installed (sets an xattr)"

work=$(mktemp -d /var/tmp/snapctl-test-clone.XXXXXX)
root=$work/root
cleanup() {
	grep -F " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

sc() { "$snapctl" -q --root "$root" --driver btrfs --btrfs-size 1G "$@"; }
out=$(sc info 2>&1) || skip "the btrfs driver is not available here: $(echo "$out" | tail -1)"

# An image with the runtime's mount points, as distribution images have
# them: the container's snapshot is then right on the image's top layer.
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,srv/old}
cp "$busybox" "$rootfs/bin/busybox"
for a in sh ln chmod mkdir rm echo stat cat ls; do ln -s busybox "$rootfs/bin/$a"; done
for i in 1 2 3; do echo "old $i" >"$rootfs/srv/old/f$i"; done
seq 1 20000 >"$rootfs/srv/log"
sc import-rootfs "$rootfs" base:1 >/dev/null || fail "import-rootfs"

subvols() { btrfs subvolume list -o "$root/snapshots" | awk '{print $NF}' | sort; }
# "clone" when the newest subvolume made since $1 (a subvols listing) was
# snapshotted from a writable subvolume (a container), "applied" when from a
# read-only one (the image's top).
layer_origin() {
	local new path puuid flags
	new=$(comm -13 "$1" <(subvols) | tail -1)
	[[ -n $new ]] || { echo "none"; return; }
	path=$root/snapshots/${new#snapshots/}
	[[ -d $path ]] || path=$(findmnt -rn -o TARGET -T "$root/snapshots")/$new
	puuid=$(btrfs subvolume show "$path" | awk '/Parent UUID:/ {print $3}')
	for s in $(subvols); do
		p=$(findmnt -rn -o TARGET -T "$root/snapshots")/$s
		if btrfs subvolume show "$p" | grep -q "^\s*UUID:\s*$puuid"; then
			flags=$(btrfs subvolume show "$p" | awk '/Flags:/ {print $2}')
			[[ $flags == readonly ]] && echo applied || echo clone
			return
		fi
	done
	echo "unknown"
}

commit_case() { # NAME SCRIPT EXPECT [HOST-STEP]
	local name=$1 script=$2 expect=$3 host=${4:-}
	sc run --name "$name" base:1 /bin/sh -c "$script" || fail "$name: run"
	[[ -n $host ]] && eval "$host"
	subvols >"$work/before"
	sc commit "$name" "img-$name:1" >/dev/null || fail "$name: commit"
	got=$(layer_origin "$work/before")
	[[ $got == "$expect" ]] || fail "$name: the layer's snapshot was $got, expected $expect"
	sc verify "img-$name:1" >"$work/verify" 2>&1 || { cat "$work/verify" >&2; fail "$name: verify"; }
	echo "ok: $name ($got)"
}

# ---- the clone kept ----------------------------------------------------------
commit_case plain 'mkdir /new && echo hello >/new/f && rm -rf /srv/old && echo more >>/srv/log' clone
# the layer is the container's diff, byte for byte (the generic walk's too)
key=$(sc snapshot ls | awk '$NF == "active" {print $1}')
want=$(sc inspect img-plain:1 | tr -d ' \n' | grep -o '"Layers":\[[^]]*\]' | grep -o 'sha256:[0-9a-f]*' | tail -1)
for how in "" --generic; do
	have=$(sc snapshot diff $how "$key" | sha256sum | awk '{print "sha256:" $1}')
	[[ $have == "$want" ]] || fail "plain: layer diff ID $want, the container's diff ${how:-(fast)} hashes to $have"
done
got=$(sc run --rm img-plain:1 /bin/sh -c 'cat /new/f; ls /srv; tail -1 /srv/log')
[[ $got == $'hello\nlog\nmore' ]] || fail "plain: a container of the new image sees '$got'"

# ---- the fallbacks -------------------------------------------------------------
commit_case hardlink 'ln /bin/busybox /bb' applied
got=$(sc run --rm img-hardlink:1 /bin/sh -c 'stat -c %h /bb')
[[ $got == 1 ]] || fail "hardlink: /bb has $got links in the new image, 1 expected (a copy)"

commit_case rootmode 'chmod 700 / && echo x >/x' applied
got=$(sc run --rm img-rootmode:1 /bin/sh -c 'stat -c %a /')
[[ $got == 755 ]] || fail "rootmode: / is $got in the new image, the image's 755 expected"

# an xattr no layer carries, set from the host on the container's file
commit_case xattr 'echo y >/y' applied \
	'f=$(find "$root/snapshots" -maxdepth 3 -name y -path "*/fs/y" | head -1); python3 -c "import os, sys; os.setxattr(sys.argv[1], \"user.overlay.x\", b\"1\")" "$f" || fail "set an xattr on $f"'

echo "PASS"
