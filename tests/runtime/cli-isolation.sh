#!/usr/bin/env bash
# The container's isolation on one driver (docs/runtime.md):
#   cli-isolation.sh SNAPCTL PROBE DRIVER
# PROBE (isolation-probe.c, static) runs inside `snapctl run` in a busybox
# image that also ships device nodes, and asserts devices, seccomp, cgroup,
# network, masked paths, keyring and pid 1; then the inverse with
# --security-opt seccomp=unconfined, -u 65534, --net host, a fork limit
# with --pids-limit 64, the cgroup shown by ps and removed at the end, and
# commit of a container that swaps a file for a FIFO and a device node in
# a loop (frozen, and with --pause=false): commit never hangs and never
# holds device bytes.
# Exit 77 (skip) without root, busybox-static or the driver.
set -uo pipefail
snapctl=$1
probe=$2
driver=$3

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (namespaces, mounts, cgroups)"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q static || busybox=/bin/busybox
[[ -x $busybox ]] || skip "busybox-static is not installed"
[[ -x $probe ]] || skip "the probe was not built"

work=$(mktemp -d /var/tmp/snapctl-test-iso.XXXXXX)
root=$work/root
bg=()
cleanup() {
	for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	# a container whose snapctl was killed leaves its cgroup: rm removes it
	for id in $(sc ps -a -q --no-trunc 2>/dev/null); do sc rm "$id" >/dev/null 2>&1; done
	grep -F " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

sc() { "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G "$@"; }
if ! out=$(sc info 2>&1); then
	skip "driver $driver is not available here: $(echo "$out" | tail -1)"
fi

# ---- a busybox image with the probe and device nodes ----------------------
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,shipped}
cp "$busybox" "$rootfs/bin/busybox"
for a in $("$busybox" --list); do
	[[ $a == busybox ]] || ln -s busybox "$rootfs/bin/$a"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"
echo "root:x:0:" >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
cp "$probe" "$rootfs/probe"
# what a hostile image could ship: the host's null, its memory, a loop disk
mknod -m 666 "$rootfs/shipped/null" c 1 3
mknod -m 666 "$rootfs/shipped/mem" c 1 1
mknod -m 666 "$rootfs/shipped/loop0" b 7 0
sc import-rootfs "$rootfs" probe:test >/dev/null || fail "import-rootfs"

# ---- every item, default flags, as root and as nobody ----------------------
for user in 0 65534; do
	out=$(sc run --rm -u $user -e PROBE_SECRET=s3cr3t-$$ probe:test /probe confined 2>&1)
	rc=$?
	grep -q "^FAIL" <<<"$out" || [[ $rc -ne 0 ]] && { echo "$out" >&2; fail "probe as uid $user (exit $rc)"; }
	grep -q "seccomp refuses: keyctl" <<<"$out" || fail "probe as uid $user ran no seccomp checks: $out"
done

# ---- pid 1's command line without CAP_SYS_RESOURCE (hosts that withhold it,
# and containers in their own user namespace): PR_SET_MM_MAP needs no
# capability, so it is still the command's argv byte for byte, not
# snapctl's padded or cut
out=$(setpriv --bounding-set -sys_resource -- "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G \
	run --rm -e PROBE_SECRET=s3cr3t-$$ probe:test /probe confined 2>&1)
rc=$?
grep -q "^FAIL" <<<"$out" || [[ $rc -ne 0 ]] && { echo "$out" >&2; fail "probe without CAP_SYS_RESOURCE (exit $rc)"; }

# ---- the inverse: no seccomp filter, everything else still there -----------
out=$(sc run --rm --security-opt seccomp=unconfined -e PROBE_SECRET=s3cr3t-$$ probe:test /probe unconfined 2>&1)
rc=$?
grep -q "^FAIL" <<<"$out" || [[ $rc -ne 0 ]] && { echo "$out" >&2; fail "probe unconfined (exit $rc)"; }
# a fresh session keyring, not ours (keyctl is allowed without the filter)
inside=$(sed -n 's/^keyring //p' <<<"$out")
host=$("$probe" keyring)
[[ -n $inside && $inside -gt 0 && $inside != "$host" ]] || fail "session keyring: inside '$inside', host '$host'"

# ---- --net host shares the host's interfaces --------------------------------
expect_if=$(ls /sys/class/net | sort | tr '\n' ' ')
got_if=$(sc run --rm --net host probe:test ls /sys/class/net | sort | tr '\n' ' ')
[[ $got_if == "$expect_if" ]] || fail "--net host: want '$expect_if', got '$got_if'"
[[ $(sc run --rm --net none probe:test ls /sys/class/net) == lo ]] || fail "--net none (the old name)"

# ---- fork limit ----------------------------------------------------------------
read -r n why < <(sc run --rm --pids-limit 64 probe:test /probe forks)
[[ $n -ge 40 && $n -lt 64 && $why == "Resource temporarily unavailable" ]] ||
	fail "--pids-limit 64: $n forks ($why)"

# ---- ps and info show the cgroup; it is gone once the container ends ------
fifo=$work/ready
mkfifo "$fifo"
"$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G \
	run --name sleeper probe:test sh -c 'echo ready; exec sleep 60' >"$fifo" &
pid=$!
bg+=("$pid")
read -r line <"$fifo"
[[ $line == ready ]] || fail "sleeper did not start"
id=$(sc ps -q --no-trunc)
cg=$(sc --json ps | python3 -c '
import json, sys
print([c for c in map(json.loads, sys.stdin) if c["name"] == "sleeper"][0]["cgroup"])') ||
	fail "ps --json has no cgroup"
[[ $cg == */snapctl/$id ]] || fail "ps cgroup: $cg"
cg_exists() {
	for d in /sys/fs/cgroup/*/snapctl/"$1" /sys/fs/cgroup/snapctl/"$1"; do
		[[ -d $d ]] && return 0
	done
	return 1
}
cg_exists "$id" || fail "no cgroup directory for $id"
info=$(sc info)
grep -q "^Isolation:" <<<"$info" && grep -q "seccomp" <<<"$info" && grep -q "cgroup v" <<<"$info" &&
	grep -q "devices" <<<"$info" || fail "info shows no isolation: $info"
kill -TERM "$pid"
wait "$pid"
[[ $? -eq 143 ]] || fail "sleeper did not end on SIGTERM"
cg_exists "$id" && fail "cgroup of $id left behind"
sc rm sleeper >/dev/null || fail "rm sleeper"

# ---- cgroup v2, where this host has a v1 layout with a unified hierarchy:
# mounted over /sys/fs/cgroup in a mount namespace of its own, snapctl sees
# a v2 host (no controllers delegated to it, but join, freeze and removal)
if [[ $(stat -f -c %T /sys/fs/cgroup) != cgroup2fs ]] && grep -q " cgroup2 " /proc/self/mountinfo; then
	out=$(unshare -m --propagation private bash -c '
		mount -t cgroup2 none /sys/fs/cgroup || exit 77
		"$@" run --rm probe:test grep "^0::" /proc/self/cgroup' _ "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G)
	rc=$?
	if [[ $rc -ne 77 ]]; then
		[[ $rc -eq 0 && $out == "0::/snapctl/"* ]] || fail "cgroup v2: exit $rc, /proc/self/cgroup: $out"
		v2id=${out#0::/snapctl/}
		[[ ! -d /sys/fs/cgroup/unified/snapctl/$v2id ]] || fail "cgroup v2: $v2id left behind"
	fi
fi

# ---- commit while the container swaps a file for a FIFO and a device -----
"$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G \
	run --name swapper probe:test sh -c 'echo ready; while :; do
		echo data >/swap.tmp; mv -f /swap.tmp /swap; rm -f /swap; mkfifo /swap; rm -f /swap
		mknod /swap c 1 9; rm -f /swap; mknod /swap c 1 5; rm -f /swap; done' >"$fifo" &
pid=$!
bg+=("$pid")
read -r line <"$fifo"
[[ $line == ready ]] || fail "swapper did not start"
layer_check() { # the /swap entry of image $1's top layer: absent, "data" (or empty), a FIFO or a char node
	sc export "$1" "$work/$1.oci" >/dev/null || fail "export $1"
	python3 - "$work/$1.oci" <<'PY' || fail "layer of $1 holds device bytes"
import json, sys, tarfile
d = sys.argv[1]
blob = lambda dg: f"{d}/blobs/{dg.replace(':', '/')}"
index = json.load(open(f"{d}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
with tarfile.open(blob(manifest["layers"][-1]["digest"])) as t:
    for m in t.getmembers():
        if m.name.lstrip("./") in ("swap", "swap.tmp"):
            if m.isreg():
                # empty when the freeze caught the shell between the
                # create and the write of /swap.tmp; never other bytes
                data = t.extractfile(m).read()
                assert data in (b"data\n", b""), (m.name, data[:32])
            else:
                assert m.isfifo() or m.ischr(), (m.name, m.type)
PY
	rm -rf "$work/$1.oci"
}
ok_paused=0
for i in 1 2 3; do
	timeout 120 "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G \
		commit swapper "swap:p$i" >/dev/null 2>"$work/err" || fail "commit (paused) $i: $(cat "$work/err")"
	layer_check "swap:p$i"
	ok_paused=$((ok_paused + 1))
done
# unpaused: it may fail, naming the path that changed under it, never hang
for i in 1 2 3 4 5; do
	timeout 120 "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G \
		commit --pause=false swapper "swap:u$i" >/dev/null 2>"$work/err"
	rc=$?
	[[ $rc -ne 124 ]] || fail "commit --pause=false hung"
	if [[ $rc -eq 0 ]]; then
		layer_check "swap:u$i"
	else
		grep -q "swap" "$work/err" || fail "commit --pause=false failed without naming the path: $(cat "$work/err")"
	fi
done
kill -TERM "$pid"
wait "$pid"
sc rm swapper >/dev/null || fail "rm swapper"
echo "ok: isolation on $driver ($ok_paused paused commits)"
