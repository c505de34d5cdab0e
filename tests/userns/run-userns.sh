#!/usr/bin/env bash
# run --userns on one driver (docs/runtime.md, "User namespaces"):
#   run-userns.sh SNAPCTL PROBE DRIVER
# Inside --userns=0:100000:65536: the uid/gid maps, id 0, a file created
# owned by 100000 seen from the host through the container's mount and by 0
# on disk; commit equals the plain run's layer (diff ID); the isolation
# probe (mount, mknod, devices, keyctl, masks...) passes as without
# userns; --net host still gets a /sys; two concurrent `auto` runs get
# disjoint ranges, shown by --json ps and inspect; bad values exit 2/125.
# Exit 77 (skip) without root, busybox-static, the driver, user namespaces
# or idmapped mounts on the driver's filesystem.
set -uo pipefail
snapctl=$1
probe=$2
driver=$3

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (namespaces, mounts)"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q static || busybox=/bin/busybox
[[ -x $busybox ]] || skip "busybox-static is not installed"
[[ -x $probe ]] || skip "the probe was not built"
[[ -e /proc/self/ns/user ]] || skip "the kernel has no user namespaces"
[[ $(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1) != 0 ]] ||
	skip "user namespaces are disabled (user.max_user_namespaces = 0)"

work=$(mktemp -d /var/tmp/snapctl-test-userns.XXXXXX)
root=$work/root
bg=()
cleanup() {
	for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for id in $(sc ps -a -q --no-trunc 2>/dev/null); do sc rm "$id" >/dev/null 2>&1; done
	grep -F " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

sc_args=(-q --root "$root" --driver "$driver" --btrfs-size 1G)
sc() { "$snapctl" "${sc_args[@]}" "$@"; }
if ! out=$(sc info 2>&1); then
	skip "driver $driver is not available here: $(echo "$out" | tail -1)"
fi

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
mknod -m 666 "$rootfs/shipped/null" c 1 3
mknod -m 666 "$rootfs/shipped/mem" c 1 1
mknod -m 666 "$rootfs/shipped/loop0" b 7 0
sc import-rootfs "$rootfs" probe:test >/dev/null || fail "import-rootfs"

map=0:100000:65536
out=$(sc run --rm --userns=$map probe:test true 2>&1)
rc=$?
if [[ $rc -ne 0 ]] && grep -qiE "idmap|not supported|cannot be idmapped" <<<"$out"; then
	skip "no idmapped mounts for $driver here: $out"
fi
[[ $rc -eq 0 ]] || fail "run --userns=$map true: exit $rc: $out"

# ---- the maps and the ids inside -------------------------------------------
out=$(sc run --rm --userns=$map probe:test sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g')
want=$(printf '0 100000 65536\n0 100000 65536\n0\n0')
[[ $(tr -s ' ' <<<"$out" | sed 's/^ //') == "$want" ]] || fail "maps and ids inside: $out"

# ---- a file it creates: 100000 from the host through the mount, 0 on disk --
# The container touches the file, then waits in sleep; the host looks at
# it through init's root, then ends the run with SIGTERM (forwarded).
# (snapctl itself in the background, not a function's subshell: its child is init)
"$snapctl" "${sc_args[@]}" run --name owner --userns=$map probe:test sh -c 'echo made >/tmp/by-root; exec sleep 120' \
	>/dev/null 2>&1 &
runpid=$!
bg+=("$runpid")
seen=
for _ in $(seq 1 600); do
	init=$(pgrep -P "$runpid" | head -1)
	if [[ -n $init && -s /proc/$init/root/tmp/by-root ]]; then
		seen=$(stat -c '%u:%g' "/proc/$init/root/tmp/by-root")
		break
	fi
	sleep 0.1
done
[[ $seen == 100000:100000 ]] || fail "the container's file seen from the host: '$seen', want 100000:100000"
kill -TERM "$runpid"
wait "$runpid"
ondisk=$(find "$root" -xdev -name by-root -path '*tmp/by-root' -not -path "$root/containers/*" 2>/dev/null)
[[ -z $ondisk ]] && [[ $driver == btrfs ]] &&
	ondisk=$(find "$root" -name by-root -path '*tmp/by-root' -not -path "$root/containers/*" 2>/dev/null)
[[ $(wc -l <<<"$ondisk") -eq 1 && -n $ondisk ]] || fail "the file on disk: '$ondisk'"
[[ $(stat -c '%u:%g' "$ondisk") == 0:0 ]] || fail "on disk $ondisk is $(stat -c '%u:%g' "$ondisk"), want 0:0"
mode=$(sc inspect -f '{{.HostConfig.UsernsMode}}' owner)
[[ $mode == "$map" ]] || fail "inspect UsernsMode: '$mode'"

# ---- commit after --userns = commit of the plain run ------------------------
# Fixed times, so that only ownership could make the layers differ.
cmd='mkdir -p /data/sub && echo hi >/data/sub/f && chmod 640 /data/sub/f && ln -s f /data/sub/l &&
     touch -h -d "2020-01-02 03:04:05" /data/sub/l /data/sub/f /data/sub /data /tmp'
sc run --name plain probe:test sh -c "$cmd" || fail "plain run"
sc run --name mapped --userns=$map probe:test sh -c "$cmd" || fail "userns run"
sc commit plain img:plain >/dev/null || fail "commit plain"
sc commit mapped img:mapped >/dev/null || fail "commit mapped"
d_plain=$(sc inspect -f '{{json .RootFS.Layers}}' img:plain)
d_mapped=$(sc inspect -f '{{json .RootFS.Layers}}' img:mapped)
[[ -n $d_plain && $d_plain == "$d_mapped" ]] || fail "diff IDs differ: plain $d_plain, userns $d_mapped"
[[ $(sc diff plain) == "$(sc diff mapped)" ]] || fail "diff differs: $(sc diff plain) / $(sc diff mapped)"

# ---- the isolation probe: mounts, mknod, devices, keyctl... as without ------
out=$(sc run --rm --userns=$map -e PROBE_SECRET=s3cr3t-$$ probe:test /probe confined 2>&1)
rc=$?
grep -q "^FAIL" <<<"$out" || [[ $rc -ne 0 ]] && { echo "$out" >&2; fail "probe in a userns (exit $rc)"; }
grep -q "seccomp refuses: keyctl" <<<"$out" || fail "probe in a userns ran no seccomp checks: $out"
# without seccomp, the namespace alone: no mount of the host's, no device
out=$(sc run --rm --userns=$map --security-opt seccomp=unconfined probe:test sh -c \
	'mount -t tmpfs none /tmp 2>/dev/null && echo MOUNTED; mount -o remount,rw /sys 2>/dev/null && echo SYSRW;
	 mknod /tmp/n c 1 1 2>/dev/null && echo MKNOD; head -c1 /shipped/mem >/dev/null 2>&1 && echo MEM; echo done')
[[ $out == done ]] || fail "unconfined in a userns: $out"
# --net host: no sysfs of its own, the host's bound read-only
[[ -n $(sc run --rm --userns=$map --net host probe:test ls /sys/class/net) ]] || fail "--net host: no /sys/class/net"

# ---- auto: two at once get disjoint ranges ---------------------------------
for n in a1 a2; do
	"$snapctl" "${sc_args[@]}" run --name $n --userns=auto probe:test sh -c 'cat /proc/self/uid_map; exec sleep 120' \
		>"$work/$n.out" 2>&1 &
	bg+=("$!")
done
for n in a1 a2; do
	for _ in $(seq 1 600); do [[ -s $work/$n.out ]] && break; sleep 0.1; done
done
r1=$(awk '{print $2}' "$work/a1.out"); r2=$(awk '{print $2}' "$work/a2.out")
[[ -n $r1 && -n $r2 && $r1 != 0 && $r2 != 0 ]] || fail "auto maps: '$(cat "$work/a1.out")' '$(cat "$work/a2.out")'"
(( r1 + 65536 <= r2 || r2 + 65536 <= r1 )) || fail "auto ranges overlap: $r1 and $r2"
for n in a1 a2; do
	shown=$(sc --json ps | python3 -c '
import json, sys
print([c for c in map(json.loads, sys.stdin) if c["name"] == sys.argv[1]][0]["userns"])' $n)
	h=$([[ $n == a1 ]] && echo "$r1" || echo "$r2")
	[[ $shown == "0:$h:65536" ]] || fail "ps --json userns of $n: '$shown', want 0:$h:65536"
done
for p in "${bg[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
bg=()

# ---- errors ----------------------------------------------------------------
sc run --rm --userns=banana probe:test true 2>/dev/null; rc=$?
[[ $rc -eq 2 ]] || fail "--userns=banana: exit $rc, want 2"
for bad in 0:100000:0 1:100000:65536 0:0:65536 0:4294967000:65536; do
	sc run --rm --userns=$bad probe:test true 2>/dev/null; rc=$?
	[[ $rc -eq 125 ]] || fail "--userns=$bad: exit $rc, want 125"
done
[[ $(sc run --rm --userns=host probe:test cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //') == "0 0 4294967295" ]] ||
	fail "--userns=host is not the host's namespace"
echo "ok: run --userns on $driver"
