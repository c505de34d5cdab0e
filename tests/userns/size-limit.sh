#!/usr/bin/env bash
# Writable-layer size limits on one driver:  size-limit.sh SNAPCTL DRIVER
# btrfs (its loopback image): a snapshot prepared with snapctl.size, and a
# container run with --storage-opt size=, cannot write past the limit (the
# write fails with "Disk quota exceeded" inside, nothing lands outside the
# snapshot), `snapshot usage` shows the limit, removal frees the qgroup.
# overlay and vfs: where the root's filesystem has no project quotas (every
# filesystem here: this kernel has no XFS/ext4 quota support), the prepare
# and the run are refused with the filesystem named, and `info` says why;
# on an XFS loop mounted with prjquota the same limit checks run, skipping
# (77) with the kernel's reason when the mount fails.
set -uo pipefail
snapctl=$1
driver=$2

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (mounts, quotas)"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q static || busybox=/bin/busybox

work=$(mktemp -d /var/tmp/snapctl-test-size.XXXXXX)
root=$work/root
mnt=$work/mnt
mkdir -p "$mnt"
cleanup() {
	grep -F " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

sc() { "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G "$@"; }
if ! out=$(sc info 2>&1); then
	skip "driver $driver is not available here: $(echo "$out" | tail -1)"
fi
MiB=$((1024 * 1024))
LIMIT=$((16 * MiB))

# The limit checks on a root whose driver can enforce it.
check_limit() {
	sc snapshot prepare --label "snapctl.size=$LIMIT" a >/dev/null || fail "prepare with a limit"
	sc snapshot mount a "$mnt" || fail "mount a"
	if err=$(dd if=/dev/zero of="$mnt/big" bs=1M count=64 conv=fsync 2>&1); then
		fail "64 MiB written into a snapshot limited to 16 MiB"
	fi
	grep -qE "Disk quota exceeded|No space left" <<<"$err" || fail "the write failed otherwise: $err"
	# a small file still fits once the big one is gone
	rm -f "$mnt/big" && sync
	echo ok >"$mnt/small" || fail "no write possible after freeing the space"
	sc snapshot unmount "$mnt" || fail "unmount a"
	[[ $(sc snapshot usage a | awk '$1 == "a" {print $NF}') != - ]] ||
		fail "usage does not show the limit: $(sc snapshot usage a)"
	[[ $(sc --json snapshot usage a | grep -o '"limit": [0-9]*') == "\"limit\": $LIMIT" ]] ||
		fail "usage --json has no limit: $(sc --json snapshot usage a)"
	# nothing of the refused write anywhere outside the snapshot
	[[ -z $(find "$work" -path "$root" -prune -o -name big -print) ]] || fail "a file 'big' outside the root"
}

# ---- btrfs: qgroup limits on the loopback image ----------------------------
if [[ $driver == btrfs ]]; then
	grep -qE '^  size-limits +yes' <<<"$out" || fail "btrfs info: $(grep size-limits <<<"$out")"
	check_limit
	id=$(btrfs subvolume show "$root/snapshots/"*/fs 2>/dev/null | awk '/Subvolume ID:/ {print $3}' | head -1)
	[[ -n $id ]] || fail "no subvolume id for a"
	btrfs qgroup show -re "$root/snapshots" | grep -E "^0/$id " | grep -q "16.00MiB" ||
		fail "qgroup 0/$id has no 16 MiB limit: $(btrfs qgroup show -re "$root/snapshots")"
	sc snapshot rm a || fail "rm a"
	# the qgroup goes with the subvolume once the cleaner has dropped it,
	# which the kernel may finish a little after `subvolume sync` returns
	btrfs subvolume sync "$root/snapshots" >/dev/null
	for _ in $(seq 50); do
		btrfs qgroup show "$root/snapshots" | grep -E "^0/$id " >/dev/null || break
		sleep 0.1
	done
	btrfs qgroup show "$root/snapshots" | grep -E "^0/$id " >/dev/null &&
		fail "qgroup 0/$id left 5 s after the snapshot was removed: $(btrfs qgroup show "$root/snapshots")"

	# run --storage-opt size=: ENOSPC/EDQUOT inside the container
	if [[ -x $busybox ]]; then
		rootfs=$work/rootfs
		mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev}
		cp "$busybox" "$rootfs/bin/busybox"
		ln -s busybox "$rootfs/bin/sh" && ln -s busybox "$rootfs/bin/dd"
		sc import-rootfs "$rootfs" bb:test >/dev/null || fail "import-rootfs"
		out=$(sc run --rm --storage-opt size=16m bb:test sh -c \
			'dd if=/dev/zero of=/big bs=1M count=64 2>&1; echo rc=$?')
		grep -q "rc=0" <<<"$out" && fail "run --storage-opt size=16m wrote 64 MiB: $out"
		grep -qE "Disk quota exceeded|No space left" <<<"$out" || fail "run: $out"
		out=$(sc run --rm --storage-opt size=16m bb:test sh -c \
			'dd if=/dev/zero of=/f bs=1M count=4 2>&1; echo rc=$?')
		grep -q "rc=0" <<<"$out" || fail "run could not write 4 MiB under a 16 MiB limit: $out"
		sc run --rm --storage-opt size=banana bb:test true 2>/dev/null
		[[ $? -eq 2 ]] || fail "--storage-opt size=banana is not a usage error"
	fi
	echo "ok: btrfs qgroup limit"
	exit 0
fi

# ---- overlay, vfs: project quotas or a clear refusal -----------------------
if grep -qE '^  size-limits +no' <<<"$out"; then
	grep -qE '^  size-limits +no: .* is on [a-z0-9]+' <<<"$out" ||
		fail "info does not name the filesystem: $(grep size-limits <<<"$out")"
	if sc snapshot prepare --label "snapctl.size=$LIMIT" a 2>"$work/err" >/dev/null; then
		fail "a limit accepted on a root without project quotas"
	fi
	grep -qE "is on [a-z0-9]+.*prjquota" "$work/err" || fail "refusal without the reason: $(cat "$work/err")"
	sc snapshot ls | grep -q "^a " && fail "the refused snapshot was recorded"
fi

# An XFS root with project quotas, where the kernel has them.
command -v mkfs.xfs >/dev/null || skip "mkfs.xfs (xfsprogs) is not installed"
truncate -s 300M "$work/xfs.img"
mkfs.xfs -q "$work/xfs.img" || fail "mkfs.xfs"
mkdir -p "$work/xfs"
if ! why=$(mount -o loop,prjquota "$work/xfs.img" "$work/xfs" 2>&1); then
	reason=$(dmesg 2>/dev/null | grep -i -E "xfs.*quota" | tail -1)
	[[ -n $reason ]] && why="kernel: ${reason#*] }"
	skip "XFS with prjquota cannot be mounted here: $(head -1 <<<"$why")"
fi
root=$work/xfs/root
out=$(sc info) || fail "info on XFS"
grep -qE '^  size-limits +yes' <<<"$out" || fail "XFS prjquota: $(grep size-limits <<<"$out")"
check_limit
sc snapshot rm a || fail "rm a"
echo "ok: $driver project quota on XFS"
