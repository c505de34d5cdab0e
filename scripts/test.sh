#!/usr/bin/env bash
# Set up everything snapctl needs, build it and run every test.
#   scripts/test.sh              normal build (build/)
#   scripts/test.sh --sanitize   ASan+UBSan build (build-asan/), then every
#                                libFuzzer harness for FUZZ_SECONDS each
#                                (default 25: under 2 min for all four; a crash
#                                fails the run and prints its input's path)
# Tests run in a private mount namespace, so nothing they mount survives them.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
	echo "scripts/test.sh: run as root (the tests mount filesystems and use loop devices)" >&2
	exit 1
fi

scripts/setup.sh

builddir=build
setup_opts=(-Dwerror=true)
test_opts=(--print-errorlogs --num-processes 2)
if [[ ${1:-} == --sanitize ]]; then
	builddir=build-asan
	setup_opts+=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug)
	test_opts+=(--timeout-multiplier 4)
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
	shift
fi

if [[ ! -f $builddir/build.ninja ]]; then
	meson setup "$builddir" "${setup_opts[@]}" >/dev/null
fi
ninja -C "$builddir" >/dev/null

unshare --mount --propagation private -- meson test -C "$builddir" "${test_opts[@]}" "$@"
if [[ $builddir == build-asan ]]; then
	tests/fuzz/run.sh "${FUZZ_SECONDS:-25}"
fi
