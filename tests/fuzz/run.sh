#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzz every harness for a fixed budget under ASan+UBSan with libFuzzer:
# configure a clang build dir (-Dfuzz=true), build the harnesses only, seed
# each corpus from the tests (seeds.sh), run, and report libFuzzer's figures
# (executions per second, cov: edges, ft: features).  A crash fails the run
# and leaves its input under BUILDDIR/fuzz-artifacts/: add it to
# tests/fuzz/regressions/NAME/ with the fix, so every build replays it.
#
# Usage: tests/fuzz/run.sh [SECONDS_PER_HARNESS]   (default 25, env FUZZ_SECONDS)
#        FUZZ_BUILDDIR=build-fuzz  FUZZ_HARNESSES="layer-apply oci-docs ..."
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-${FUZZ_SECONDS:-25}}
B=${FUZZ_BUILDDIR:-build-fuzz}
HARNESSES=${FUZZ_HARNESSES:-layer-apply oci-docs image-index snapshots-request}
[ "$(id -u)" = 0 ] || { echo "tests/fuzz/run.sh: run as root (the applier sets owners, makes devices, mounts a tmpfs)" >&2; exit 1; }
command -v clang >/dev/null || { echo "tests/fuzz/run.sh: clang is missing (scripts/setup.sh installs it)" >&2; exit 1; }

# -Werror stays with the gcc builds (CI's gate): clang warns differently,
# e.g. about variables that exist only for their cleanup attribute.
if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debugoptimized -Dwerror=false >/dev/null
fi
if ! ninja -C "$B" $(for h in $HARNESSES; do echo "tests/fuzz/fuzz-$h"; done) >"$B/fuzz-build.log" 2>&1; then
	grep -E "error|FAILED" -A3 "$B/fuzz-build.log" | head -40 >&2
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$B/fuzz-artifacts"
failed=0
printf '%-18s %8s %10s %8s %8s %s\n' harness runs exec/s cov ft result
for h in $HARNESSES; do
	corpus=$B/fuzz-corpus/$h
	seeds=$(mktemp -d /tmp/snapctl-fuzz-seeds.XXXXXX)
	tests/fuzz/seeds.sh "$h" "$B/tests/fuzz/fuzz-$h" tests/hostile/gen-corpus.py "$seeds"
	mkdir -p "$corpus"
	log=$B/fuzz-artifacts/$h.log
	rc=0
	# Every harness runs in a mount namespace of its own (its scratch
	# tmpfs); -max_len keeps a decompression bomb inside that tmpfs.
	unshare --mount --propagation private -- "$B/tests/fuzz/fuzz-$h" \
		-max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$B/fuzz-artifacts/$h-" \
		"$corpus" "$seeds" >"$log" 2>&1 || rc=$?
	rm -rf "$seeds"
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	if [ $rc = 0 ]; then res=ok; else res="CRASH (exit $rc): see $log"; failed=1; fi
	printf '%-18s %8s %10s %8s %8s %s\n' "$h" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$res"
	if [ $rc != 0 ]; then
		grep -E "^fuzz:|ERROR:|SUMMARY:|Test unit written|^    #[0-9] " "$log" | head -20 >&2
	fi
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $failed
