#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Import benchmark: snapctl import against containerd's `ctr images import`
# (overlayfs snapshotter) on the same OCI archives, end to end (content
# ingest + unpack), side by side, and against the floor of issue #20:
# `bsdtar -xpf` of the same gzip layers, one after the other into one
# directory, then `sync -f` of it.  Three images: busybox (from the host's
# busybox-static), a generated 20,000-file, 3-layer image, and a
# Debian-sized one (3 layers, 9.3k files of 0-16 KiB plus one large file
# each, 64/32/16 MiB: ~9.4k entries, ~190 MiB, as bench's import-dirty).
#
# usage: bench-import.sh SNAPCTL [RUNS] [DRIVERS]
# Prints one line per image and driver with the median wall time of RUNS
# runs (default 3), runs interleaved, each into a fresh root; warm page
# cache for all.  BENCH_DIR (default /var/tmp) is where the work goes (a
# dedicated filesystem, say).  Exit 77 (skip) without root, containerd or
# ctr.
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

command -v bsdtar >/dev/null || { echo "SKIP: bsdtar not installed (libarchive-tools)"; exit 77; }

W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/snapctl-bench-import.XXXXXX")
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

gen_debian_layer() { # DIR SEED FILES BIG_MIB: FILES files of 0-16 KiB and one of BIG_MIB
	python3 - "$1" "$2" "$3" "$4" <<'PY'
import os, sys, random
d, seed, count, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
for i in range(count):
    sub = os.path.join(d, "usr", "lib", "l%d" % seed, "d%02d" % (i % 31))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%05d" % i), "wb") as f:
        f.write(rnd.randbytes(rnd.randint(0, 16384)))
with open(os.path.join(d, "usr", "lib", "l%d" % seed, "big"), "wb") as f:
    for _ in range(big):
        f.write(rnd.randbytes(1 << 20))
PY
}

mk_archive() { # NAME OUT.tar DIR... : an OCI archive with gzip layers
	local name=$1 out=$2 lay=$W/layout-$1
	shift 2
	mkdir -p "$lay/blobs/sha256" "$W/layers-$name"
	local layers="" diffs="" hist="" dir d b
	for dir in "$@"; do
		tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir" -cf "$W/l.tar" .
		d=$(sha256sum "$W/l.tar" | cut -d' ' -f1)
		gzip -n -1 "$W/l.tar"
		b=$(sha256sum "$W/l.tar.gz" | cut -d' ' -f1)
		layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$b\",\"size\":$(stat -c %s "$W/l.tar.gz")}"
		cp "$W/l.tar.gz" "$W/layers-$name/$(ls "$W/layers-$name" | wc -l).tar.gz"
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
gen_debian_layer "$W/g1" 1 3100 64
gen_debian_layer "$W/g2" 2 3100 32
gen_debian_layer "$W/g3" 3 3100 16
mk_archive debian-sized "$W/debian-sized.tar" "$W/g1" "$W/g2" "$W/g3"
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

run_bsdtar() { # IMAGE -> seconds: its layers extracted in order, then sync -f
	local d=$W/bsdtar-run t0 t1 l
	mkdir "$d"
	t0=$(now)
	for l in $(ls "$W/layers-$1" | sort -n); do bsdtar -xpf "$W/layers-$1/$l" -C "$d"; done
	sync -f "$d"
	t1=$(now)
	rm -rf "$d"
	echo "$t1 - $t0" | bc
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf "%-12s %9s %-8s %10s %8s %12s %9s %9s\n" IMAGE SIZE DRIVER "snapctl(s)" "ctr(s)" "bsdtar+sync" "/ctr" "/bsdtar"
for img in busybox files20k debian-sized; do
	: >"$W/t-ctr"
	: >"$W/t-bsdtar"
	for d in $DRIVERS; do : >"$W/t-$d"; done
	for _ in $(seq "$RUNS"); do
		for d in $DRIVERS; do run_snapctl "$d" "$W/$img.tar" >>"$W/t-$d"; done
		run_ctr "$W/$img.tar" >>"$W/t-ctr"
		run_bsdtar "$img" >>"$W/t-bsdtar"
	done
	c=$(median <"$W/t-ctr")
	b=$(median <"$W/t-bsdtar")
	for d in $DRIVERS; do
		s=$(median <"$W/t-$d")
		printf "%-12s %8sK %-8s %10.3f %8.3f %12.3f %9.2f %9.2f\n" "$img" "$(($(stat -c %s "$W/$img.tar") / 1024))" "$d" \
			"$s" "$c" "$b" "$(echo "$s / $c" | bc -l)" "$(echo "$s / $b" | bc -l)"
	done
done
echo "(median of $RUNS runs each, interleaved, each into a fresh root or directory; ctr --snapshotter"
echo " overlayfs; bsdtar+sync: bsdtar -xpf of each layer in turn, then sync -f; issue #20's goals on the"
echo " Debian-sized image, overlay: <= 0.35 of ctr, <= 1.0 of bsdtar+sync; btrfs works on its own loopback"
echo " filesystem; filesystem of the work: $(stat -f -c %T "$W"))"
