#!/usr/bin/env bash
# Build a Go program of tests/serve/go offline (GOPATH mode against
# Debian's /usr/share/gocode: containerd 1.6 and its dependencies) into a
# temporary directory and run it against `snapctl serve` with one driver.
#
#   run-go.sh suite SNAPCTL DRIVER [test binary flags]   the tests
#   run-go.sh bench SNAPCTL DRIVER [-json FILE] ...      the benchmark
#
# Exit 77 (skip) with the reason when it cannot run here.
set -euo pipefail

mode=$1
snapctl=$(realpath "$2")
driver=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
gocode=/usr/share/gocode

skip() { echo "SKIP: $*"; exit 77; }

[[ $(id -u) -eq 0 ]] || skip "needs root (the suite mounts the snapshots)"
command -v go >/dev/null || skip "go is not installed (golang-go)"
[[ -d $gocode/src/github.com/containerd/containerd/snapshots/testsuite ]] ||
	skip "containerd's Go sources are missing (golang-github-containerd-containerd-dev)"

tmp=$(mktemp -d /tmp/snapctl-serve-go.XXXXXX)
# Mounts under a directory, deepest first (the btrfs driver keeps its
# loopback filesystem mounted on ROOT/snapshots after the process exits).
umount_under() {
	findmnt -rn -o TARGET | grep -F "$1/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}
cleanup() {
	umount_under "$tmp"
	rm -rf "$tmp"
}
trap cleanup EXIT

# The driver must exist in this build and be usable on this machine; a
# driver that is not there (yet) or whose probe fails is a skip, with the
# reason, except vfs, which works everywhere.
if ! probe=$("$snapctl" --root "$tmp/probe" --driver "$driver" snapshot ls 2>&1); then
	[[ $driver == vfs ]] && { echo "snapctl --driver vfs fails: $probe" >&2; exit 1; }
	skip "driver $driver not usable here: $probe"
fi
umount_under "$tmp/probe"
rm -rf "$tmp/probe"

mkdir -p "$tmp/gopath/src"
cp -r "$here/go" "$tmp/gopath/src/snapctl-serve"
export GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local
export GOPATH="$tmp/gopath:$gocode"
export GOCACHE=${GOCACHE:-$tmp/gocache}
export HOME=${HOME:-$tmp}
if [[ $mode == bench ]]; then
	go build -o "$tmp/serve.bin" snapctl-serve/bench
else
	go test -c -o "$tmp/serve.bin" snapctl-serve/suite
fi

# The suite makes its temporary roots under TMPDIR: keep them in $tmp so the
# trap removes them whatever happens.
export TMPDIR=$tmp
export SNAPCTL=$snapctl SNAPCTL_TEST_DRIVER=$driver
cd "$tmp"
if [[ $mode == bench ]]; then
	"$tmp/serve.bin" "$@"
else
	"$tmp/serve.bin" -test.v -test.parallel 4 -test.timeout 20m "$@"
fi
