#!/usr/bin/env bash
# Install every build and test dependency of snapctl (Debian 12).
# Idempotent and quiet: packages already present are skipped by apt-get.
set -euo pipefail

packages=(
	# build
	build-essential meson ninja-build pkg-config git
	libmount-dev libbtrfsutil-dev libjansson-dev libsqlite3-dev
	libarchive-dev libssl-dev libcmocka-dev libseccomp-dev libcairo2-dev
	# layer compression: parallel gzip over zlib or ISA-L's igzip, zstd
	# with its workers
	zlib1g-dev libzstd-dev libisal-dev
	# containerd snapshots.v1 service
	libgrpc-dev protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
	libprotobuf-dev golang-go golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev
	golang-google-protobuf-dev
	# filesystems and test tools
	btrfs-progs xfsprogs e2fsprogs util-linux iproute2 kmod
	libarchive-tools tar zstd gzip busybox-static python3 python3-jsonschema jq strace
	# I/O workloads of `snapctl bench` (runtime/bench/wl-fio.c)
	fio
	# man pages and completion checks (tests/runtime/cli-install.sh)
	man-db zsh bash-completion
	# libFuzzer harnesses (tests/fuzz/run.sh): clang and its runtime
	# (libclang-rt is only a Recommends of clang, and recommends are off)
	clang libclang-rt-14-dev
	# peers for interop tests and benchmarks
	containerd runc podman skopeo umoci
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Kernel modules used by the drivers and the tests; built-in on most kernels.
modprobe -q overlay 2>/dev/null || true
modprobe -q btrfs 2>/dev/null || true
modprobe -q loop 2>/dev/null || true
