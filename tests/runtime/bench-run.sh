#!/usr/bin/env bash
# Container start+exit latency, side by side (a benchmark, not a test):
#   bench-run.sh SNAPCTL [DRIVER] [RUNS]
# Wall time of `snapctl run --rm IMAGE /bin/true` against `ctr run --rm` and
# `podman run --rm` on the same busybox image, interleaved run by run so that
# every tool sees the same machine load; prints median, min and max in ms.
# All three use the host network (snapctl's default; --net-host for ctr,
# --network host for podman) so no tool pays for network setup the others
# skip.  containerd is started privately for the run; podman gets its own
# storage root.  Tools that are missing are reported and left out.
set -uo pipefail
snapctl=$1
driver=${2:-overlay}
runs=${3:-20}

[[ $(id -u) -eq 0 ]] || { echo "bench-run.sh: needs root" >&2; exit 1; }
busybox=/bin/busybox
[[ -x $busybox ]] || { echo "bench-run.sh: needs busybox-static" >&2; exit 1; }

work=$(mktemp -d /var/tmp/snapctl-bench-run.XXXXXX)
ctrd_pid=
cleanup() {
	[[ -n $ctrd_pid ]] && kill "$ctrd_pid" 2>/dev/null && wait "$ctrd_pid" 2>/dev/null
	podman --root "$work/podman/root" --runroot "$work/podman/run" rmi -af >/dev/null 2>&1
	grep -F " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

# ---- one image, three stores --------------------------------------------
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,sys,dev}
cp "$busybox" "$rootfs/bin/busybox"
for a in $("$busybox" --list); do [[ $a == busybox ]] || ln -s busybox "$rootfs/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"
echo "root:x:0:" >"$rootfs/etc/group"

sc() { "$snapctl" -q --root "$work/snapctl" --driver "$driver" "$@"; }
sc import-rootfs "$rootfs" bench/busybox:latest >/dev/null || { echo "snapctl import-rootfs failed" >&2; exit 1; }
sc export bench/busybox:latest "$work/busybox.tar" || { echo "snapctl export failed" >&2; exit 1; }

tools=(snapctl)
declare -A cmd

cmd[snapctl]="sc run --rm bench/busybox:latest /bin/true"

if command -v containerd >/dev/null && command -v ctr >/dev/null; then
	sock=$work/containerd/containerd.sock
	mkdir -p "$work/containerd"
	cat >"$work/containerd/config.toml" <<EOF
version = 2
root = "$work/containerd/root"
state = "$work/containerd/state"
[grpc]
  address = "$sock"
EOF
	containerd --config "$work/containerd/config.toml" >"$work/containerd/log" 2>&1 &
	ctrd_pid=$!
	for _ in $(seq 100); do [[ -S $sock ]] && ctr -a "$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
	if ctr -a "$sock" -n bench images import --base-name docker.io/bench/busybox "$work/busybox.tar" >/dev/null 2>&1 ||
		ctr -a "$sock" -n bench images import "$work/busybox.tar" >/dev/null 2>&1; then
		ref=$(ctr -a "$sock" -n bench images ls -q | head -1)
		tools+=(ctr)
		cmd[ctr]="ctr -a $sock -n bench run --rm --net-host $ref bench-\$i /bin/true"
	else
		echo "ctr: image import failed, left out ($(tail -1 "$work/containerd/log"))"
	fi
else
	echo "ctr/containerd: not installed, left out"
fi

if command -v podman >/dev/null; then
	pm="podman --root $work/podman/root --runroot $work/podman/run --storage-driver overlay"
	if $pm load -i "$work/busybox.tar" >/dev/null 2>&1; then
		ref=$($pm images -q | head -1)
		tools+=(podman)
		# podman asks for nofile=1048576 and nproc=32768 by default, which a
		# root without CAP_SYS_RESOURCE (this sandbox) may not set; lowering
		# a limit is always allowed.
		cmd[podman]="$pm run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 $ref /bin/true"
	else
		echo "podman: image load failed, left out"
	fi
else
	echo "podman: not installed, left out"
fi

# ---- interleaved runs -----------------------------------------------------
declare -A samples
for tool in "${tools[@]}"; do
	i=warmup
	eval "${cmd[$tool]}" >/dev/null 2>&1 || { echo "$tool: warm-up run failed: ${cmd[$tool]}" >&2; exit 1; }
done
for ((i = 1; i <= runs; i++)); do
	for tool in "${tools[@]}"; do
		t0=$(date +%s%N)
		eval "${cmd[$tool]}" >/dev/null 2>&1 || echo "$tool: run $i failed" >&2
		t1=$(date +%s%N)
		samples[$tool]+="$(((t1 - t0) / 1000)) "
	done
done

echo "container start+exit (/bin/true), $runs runs each, interleaved; snapctl driver: $driver; kernel $(uname -r)"
printf '%-10s %10s %10s %10s\n' TOOL "MEDIAN ms" "MIN ms" "MAX ms"
for tool in "${tools[@]}"; do
	python3 - "$tool" ${samples[$tool]} <<'PY'
import statistics, sys
tool, us = sys.argv[1], [int(x) for x in sys.argv[2:]]
print(f"{tool:<10} {statistics.median(us)/1000:10.1f} {min(us)/1000:10.1f} {max(us)/1000:10.1f}")
PY
done
