#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Import benchmark: snapctl import against containerd's `ctr images import`
# (overlayfs snapshotter) on the same OCI archives, end to end (content
# ingest + unpack), side by side.  Two images: busybox (from the host's
# busybox-static) and a generated 20,000-file, 3-layer image (gzip layers).
#
# usage: bench-import.sh SNAPCTL [RUNS] [DRIVERS]
# Prints one line per image and tool with the median wall time of RUNS runs
# (default 3), runs interleaved, each into a fresh root; warm page cache for
# both.  Exit 77 (skip) without root, containerd or ctr.
set -euo pipefail

SNAPCTL=$(realpath "$1")
RUNS=${2:-3}
DRIVERS=${3:-overlay btrfs}
if [ -n "${SNAPCTL_BENCH_FROM_MESON:-}" ] && [ -z "${SNAPCTL_BENCH:-}" ]; then
	echo "SKIP: takes minutes on a shared machine; run with SNAPCTL_BENCH=1"
	exit 77
fi
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v containerd >/dev/null && command -v ctr >/dev/null || { echo "SKIP: containerd/ctr not installed"; exit 77; }
command -v busybox >/dev/null || { echo "SKIP: busybox not installed"; exit 77; }

W=$(mktemp -d /var/tmp/snapctl-bench-import.XXXXXX)
cd_pid=
cleanup() {
	[ -n "$cd_pid" ] && kill "$cd_pid" 2>/dev/null && wait "$cd_pid" 2>/dev/null
	awk -v w="$W" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT

now() { date +%s.%N; }

# ---- images ---------------------------------------------------------------
gen_layer() { # DIR FIRST COUNT: COUNT files of 0.5-4 KiB in 100 directories
	python3 - "$1" "$2" "$3" <<'PY'
import os, sys, random
d, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(first)
for i in range(first, first + count):
    sub = os.path.join(d, "usr", "share", "d%03d" % (i % 100))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%06d" % i), "wb") as f:
        f.write(rnd.randbytes(rnd.randint(512, 4096)))
PY
}

mk_archive() { # NAME OUT.tar DIR... : an OCI archive with gzip layers
	local name=$1 out=$2 lay=$W/layout-$1
	shift 2
	mkdir -p "$lay/blobs/sha256"
	local layers="" diffs="" hist="" dir d b
	for dir in "$@"; do
		tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir" -cf "$W/l.tar" .
		d=$(sha256sum "$W/l.tar" | cut -d' ' -f1)
		gzip -n -1 "$W/l.tar"
		b=$(sha256sum "$W/l.tar.gz" | cut -d' ' -f1)
		layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$b\",\"size\":$(stat -c %s "$W/l.tar.gz")}"
		mv "$W/l.tar.gz" "$lay/blobs/sha256/$b"
		diffs="$diffs${diffs:+,}\"sha256:$d\""
		hist="$hist${hist:+,}{\"created_by\":\"layer $(basename "$dir")\"}"
	done
	printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' "$diffs" "$hist" >"$W/c.json"
	local c m
	c=$(sha256sum "$W/c.json" | cut -d' ' -f1)
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
		"$c" "$(stat -c %s "$W/c.json")" "$layers" >"$W/m.json"
	mv "$W/c.json" "$lay/blobs/sha256/$c"
	m=$(sha256sum "$W/m.json" | cut -d' ' -f1)
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"bench/%s:latest","org.opencontainers.image.ref.name":"latest"}}]}' \
		"$m" "$(stat -c %s "$W/m.json")" "$name" >"$lay/index.json"
	mv "$W/m.json" "$lay/blobs/sha256/$m"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
	tar -C "$lay" -cf "$out" oci-layout index.json blobs
}

mkdir -p "$W/bb/bin"
cp "$(command -v busybox)" "$W/bb/bin/busybox"
for a in sh ls cat; do ln -s busybox "$W/bb/bin/$a"; done
mk_archive busybox "$W/busybox.tar" "$W/bb"
gen_layer "$W/g1" 0 10000
gen_layer "$W/g2" 10000 6000
gen_layer "$W/g3" 16000 4000
mk_archive files20k "$W/files20k.tar" "$W/g1" "$W/g2" "$W/g3"
rm -rf "$W/g1" "$W/g2" "$W/g3" "$W"/layout-*

# ---- runners ---------------------------------------------------------------
start_containerd() { # DIR
	mkdir -p "$1"
	cat >"$1/config.toml" <<EOT
version = 2
root = "$1/root"
state = "$1/state"
[grpc]
  address = "$1/sock"
[ttrpc]
  address = "$1/sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  disable = true
EOT
	containerd --config "$1/config.toml" >"$1/log" 2>&1 &
	cd_pid=$!
	for _ in $(seq 100); do ctr --address "$1/sock" version >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "SKIP: containerd did not start: $(tail -3 "$1/log")"
	exit 77
}

stop_containerd() {
	kill "$cd_pid" 2>/dev/null && wait "$cd_pid" 2>/dev/null || true
	cd_pid=
}

run_ctr() { # ARCHIVE -> seconds
	local d=$W/ctr-run t0 t1
	start_containerd "$d"
	t0=$(now)
	ctr --address "$d/sock" images import --snapshotter overlayfs "$1" >/dev/null
	t1=$(now)
	stop_containerd
	awk -v w="$d" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$d"
	echo "$t1 - $t0" | bc
}

run_snapctl() { # DRIVER ARCHIVE -> seconds
	local r=$W/snapctl-run t0 t1
	# Create the root outside the timing (btrfs: its loopback filesystem),
	# as containerd is started outside it.
	"$SNAPCTL" -q --root "$r" --driver "$1" images >/dev/null
	t0=$(now)
	"$SNAPCTL" -q --root "$r" --driver "$1" import "$2" >/dev/null
	t1=$(now)
	awk -v w="$r" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$r"
	echo "$t1 - $t0" | bc
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf "%-10s %9s %-18s %10s %10s %8s\n" IMAGE SIZE SNAPCTL-DRIVER "snapctl(s)" "ctr(s)" ratio
for img in busybox files20k; do
	: >"$W/t-ctr"
	for d in $DRIVERS; do : >"$W/t-$d"; done
	for _ in $(seq "$RUNS"); do
		for d in $DRIVERS; do run_snapctl "$d" "$W/$img.tar" >>"$W/t-$d"; done
		run_ctr "$W/$img.tar" >>"$W/t-ctr"
	done
	c=$(median <"$W/t-ctr")
	for d in $DRIVERS; do
		s=$(median <"$W/t-$d")
		printf "%-10s %8sK %-18s %10.3f %10.3f %8.2f\n" "$img" "$(($(stat -c %s "$W/$img.tar") / 1024))" "$d" "$s" "$c" \
			"$(echo "$s / $c" | bc -l)"
	done
done
echo "(median of $RUNS runs each, interleaved, each into a fresh root; ctr --snapshotter overlayfs;"
echo " ratio = snapctl/ctr, target <= 0.5; the btrfs driver works on its own loopback filesystem)"
