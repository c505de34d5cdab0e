#!/usr/bin/env bash
# End to end with a real containerd using snapctl as its proxy snapshotter:
# its own root, state and sockets under a temporary directory, runc from
# Debian, a busybox OCI image built here from busybox-static with umoci.
#
#   e2e-containerd.sh SNAPCTL [DRIVER]
#
# Checks: the image unpacks into snapctl; `ctr run --rm --snapshotter
# snapctl` prints what the container says; a second container does not see
# the first one's writes; removing the image removes snapctl's snapshots;
# snapctl exits cleanly on SIGTERM.  Exit 77 (skip) with the reason when a
# tool is missing or containers cannot run here.
set -euo pipefail

snapctl=$(realpath "$1")
driver=${2:-vfs}

skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root"
for t in containerd ctr runc containerd-shim-runc-v2 umoci; do
	command -v "$t" >/dev/null || skip "$t is not installed"
done
busybox=$(command -v busybox || true)
[[ -x /bin/busybox ]] && busybox=/bin/busybox
[[ -n $busybox ]] || skip "busybox is not installed (busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then
	skip "$busybox is dynamically linked; the image needs busybox-static"
fi

tmp=$(mktemp -d /tmp/snapctl-e2e.XXXXXX)
snap_pid=
ctrd_pid=
cleanup() {
	local rc=$?
	if ((rc != 0 && rc != 77)); then
		echo "--- containerd log (tail)"; tail -n 40 "$tmp/containerd.log" 2>/dev/null || true
		echo "--- snapctl serve log"; cat "$tmp/serve.log" 2>/dev/null || true
	fi
	[[ -n $ctrd_pid ]] && kill "$ctrd_pid" 2>/dev/null && wait "$ctrd_pid" 2>/dev/null
	[[ -n $snap_pid ]] && kill "$snap_pid" 2>/dev/null && wait "$snap_pid" 2>/dev/null
	findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT

probe_out=$("$snapctl" --root "$tmp/probe" --driver "$driver" snapshot ls 2>&1) ||
	skip "driver $driver not usable here: $probe_out"
findmnt -rn -o TARGET | grep -F "$tmp/probe/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
rm -rf "$tmp/probe"

wait_socket() { # PATH PID WHAT
	for _ in $(seq 1 300); do
		[[ -S $1 ]] && return 0
		kill -0 "$2" 2>/dev/null || { echo "$3 exited before listening" >&2; return 1; }
		sleep 0.1
	done
	echo "$3 did not listen on $1" >&2
	return 1
}

# ---- snapctl serve
"$snapctl" --root "$tmp/snapctl" --driver "$driver" serve --address "$tmp/snapctl.sock" \
	>"$tmp/serve.log" 2>&1 &
snap_pid=$!
wait_socket "$tmp/snapctl.sock" "$snap_pid" "snapctl serve"

# ---- containerd with the proxy plugin (the config snippet we ship, with
# this test's socket), nothing else it does not need.
cat >"$tmp/containerd.toml" <<EOF
version = 2
root = "$tmp/containerd/root"
state = "$tmp/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$tmp/containerd.sock"
[ttrpc]
  address = "$tmp/containerd.sock.ttrpc"
[debug]
  address = "$tmp/containerd-debug.sock"

[proxy_plugins]
  [proxy_plugins.snapctl]
    type = "snapshot"
    address = "$tmp/snapctl.sock"
EOF
containerd --config "$tmp/containerd.toml" >"$tmp/containerd.log" 2>&1 &
ctrd_pid=$!
wait_socket "$tmp/containerd.sock" "$ctrd_pid" "containerd"

ctr() { command ctr --address "$tmp/containerd.sock" --namespace snapctl-e2e "$@"; }
ctr plugins ls | grep -E 'io\.containerd\.snapshotter\.v1 +snapctl +- +ok' >/dev/null || {
	ctr plugins ls >&2
	echo "containerd did not load the snapctl proxy plugin" >&2
	exit 1
}

# ---- a busybox OCI image: one layer with busybox and its applet links.
rootfs=$tmp/rootfs
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc"
cp "$busybox" "$rootfs/bin/busybox"
for applet in sh echo cat ls test true; do
	ln -s busybox "$rootfs/bin/$applet"
done
umoci init --layout "$tmp/oci" >/dev/null
umoci new --image "$tmp/oci:latest" >/dev/null
umoci insert --image "$tmp/oci:latest" "$rootfs" / >/dev/null
umoci config --image "$tmp/oci:latest" --config.cmd /bin/sh \
	--config.env PATH=/bin --os linux --architecture "$(go env GOARCH 2>/dev/null || echo amd64)" >/dev/null
tar -C "$tmp/oci" -cf "$tmp/busybox.tar" .

image=snapctl.test/busybox:latest
ctr images import --snapshotter snapctl --base-name snapctl.test/busybox "$tmp/busybox.tar" >/dev/null
ctr images ls -q | grep -qx "$image" || { ctr images ls >&2; echo "import did not name $image" >&2; exit 1; }

# containerd's snapshots live in its namespace (the header it sends).
snapctl_keys() { SNAPCTL_NAMESPACE=snapctl-e2e "$snapctl" --root "$tmp/snapctl" --driver "$driver" snapshot ls | tail -n +2; }
n_layers=$(snapctl_keys | wc -l)
if ((n_layers < 1)); then
	echo "the image's layer is not in snapctl after unpack" >&2
	exit 1
fi
echo "unpacked: $n_layers snapshot(s) in snapctl"

# ---- containers
out=$(ctr run --rm --snapshotter snapctl "$image" e2e-1 \
	sh -c 'echo hello from snapctl; echo written >/tmp/marker; cat /tmp/marker')
expected=$'hello from snapctl\nwritten'
if [[ $out != "$expected" ]]; then
	printf 'first container printed:\n%s\nexpected:\n%s\n' "$out" "$expected" >&2
	exit 1
fi
echo "first container: ok"

out=$(ctr run --rm --snapshotter snapctl "$image" e2e-2 \
	sh -c 'if test -e /tmp/marker; then echo leaked; else echo clean; fi')
if [[ $out != clean ]]; then
	echo "second container sees the first one's write: $out" >&2
	exit 1
fi
echo "second container: ok"

# containerd removes backend snapshots from its garbage collector, after
# the call that deleted them returned: wait (generously) for the count.
wait_count() { # N WHAT
	for _ in $(seq 1 300); do
		(($(snapctl_keys | wc -l) == $1)) && return 0
		sleep 0.1
	done
	snapctl_keys >&2
	echo "$2" >&2
	return 1
}

# Both containers were --rm: only the image's layers remain.
wait_count "$n_layers" "containers' snapshots were not removed"

# ---- removing the image: containerd's garbage collector removes the
# layers through the proxy (Remove, without a namespace header).
ctr images rm --sync "$image" >/dev/null
wait_count 0 "snapshots left in snapctl after removing the image"
echo "image removed: snapctl has no snapshots left"

kill "$ctrd_pid"
wait "$ctrd_pid" || true
ctrd_pid=
kill -TERM "$snap_pid"
rc=0
wait "$snap_pid" || rc=$?
snap_pid=
if ((rc != 0)); then
	echo "snapctl serve exited with $rc after SIGTERM" >&2
	exit 1
fi
[[ ! -e $tmp/snapctl.sock ]] || { echo "socket left behind" >&2; exit 1; }
echo "1 passed, 0 failed"
