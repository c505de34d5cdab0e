#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `snapctl verify` against `snapctl import` of the same Debian-sized image
# (3 gzip layers, 20,000 files of 0.5-4 KiB, as GNU tar writes them, so not
# in canonical form: verify re-derives each diff ID and then compares the
# tree with the layer blob entry by entry), on each driver.  Prints the
# median of RUNS runs (default 3) of each, each run into a fresh root, and
# the load average.  Minutes on a shared machine: only with SNAPCTL_BENCH=1.
# Usage: bench-verify.sh SNAPCTL [RUNS] [DRIVERS]
if [ -n "${SNAPCTL_BENCH_FROM_MESON:-}" ] && [ -z "${SNAPCTL_BENCH:-}" ]; then
	echo "SKIP: takes minutes on a shared machine; run with SNAPCTL_BENCH=1"
	exit 77
fi
. "$(dirname "$0")/../images/lib.sh" "$1" vfs
RUNS=${2:-3}
DRIVERS=${3:-vfs overlay btrfs}

for l in 1 2 3; do
	python3 - "$WORK/g$l" "$l" <<'PY'
import os, random, sys
d, layer = sys.argv[1], int(sys.argv[2])
first, count = {1: (0, 10000), 2: (10000, 6000), 3: (16000, 4000)}[layer]
rnd = random.Random(first)
for i in range(first, first + count):
    sub = os.path.join(d, "usr", "share", "d%03d" % (i % 100))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%06d" % i), "wb") as f:
        f.write(rnd.randbytes(rnd.randint(512, 4096)))
PY
	mk_tar "$WORK/g$l" "$WORK/l$l.tar"
	rm -rf "$WORK/g$l"
done
mk_layout "$WORK/img" "gzip:$WORK/l1.tar" "gzip:$WORK/l2.tar" "gzip:$WORK/l3.tar" >/dev/null

# "median [min-max]" of the numbers on stdin (with SPREAD=0, the median)
stats() {
	sort -n | awk -v spread="${SPREAD:-1}" '{v[NR] = $1} END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		if (spread) printf "%.2f [%.2f-%.2f]", m, v[1], v[NR]; else printf "%.2f", m }'
}
now() { date +%s.%N; }
for DRIVER in $DRIVERS; do
	imp=() ver=()
	for run in $(seq "$RUNS"); do
		ROOT=$WORK/root-$DRIVER-$run
		if ! snapctl images >/dev/null 2>&1; then
			echo "$DRIVER: unavailable here, skipped"
			continue 2
		fi
		t0=$(now)
		snapctl -q import "$WORK/img" >/dev/null
		t1=$(now)
		snapctl verify --all >"$WORK/out" || fail "$DRIVER: verify failed: $(tail -5 "$WORK/out")"
		t2=$(now)
		imp+=("$(echo "$t1 - $t0" | bc)")
		ver+=("$(echo "$t2 - $t1" | bc)")
		awk -v w="$ROOT" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m"; done
		rm -rf "$ROOT"
	done
	printf '%-8s import %s s   verify %s s   verify/import %s   (median [min-max] of %s; load %s)\n' \
		"$DRIVER" "$(printf '%s\n' "${imp[@]}" | stats)" "$(printf '%s\n' "${ver[@]}" | stats)" \
		"$(paste -d' ' <(printf '%s\n' "${ver[@]}") <(printf '%s\n' "${imp[@]}") |
			awk '{print $1 / $2}' | SPREAD=0 stats)" \
		"$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
done
