#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Layer engine benchmark (a script, not a timed test).
#   1. apply of a generated gzip layer (FILES files of 0-16 KiB + BIG files
#      of 64 MiB) vs `bsdtar -xpf` of the same layer into an empty directory
#      on the same filesystem, alternating, median of RUNS runs each;
#   2. generic diff of a DIFF_FILES-file tree with 100 changes.
# Usage: layer-bench.sh LAYER_TOOL [WORKDIR]
# Env: FILES (20000), BIG (3), RUNS (5), DIFF_FILES (50000)
set -euo pipefail
TOOL=$(realpath "$1")
BASE=${2:-/var/tmp}
FILES=${FILES:-20000} BIG=${BIG:-3} RUNS=${RUNS:-5} DIFF_FILES=${DIFF_FILES:-50000}
W=$(mktemp -d "$BASE/layer-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

python3 - "$W/src" "$FILES" "$BIG" <<'PY'
import os, random, sys
root, n, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
blob = rnd.randbytes(1 << 20)
for i in range(n):
    d = os.path.join(root, f"d{i % 200:03d}", f"s{i % 7}")
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(0, 16384)
    off = rnd.randint(0, len(blob) - size)
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        f.write(blob[off:off + size])
os.makedirs(os.path.join(root, "big"), exist_ok=True)
for i in range(big):
    with open(os.path.join(root, "big", f"b{i}"), "wb") as f:
        for k in range(64):
            f.write(blob[: 1 << 20] if k % 2 else bytes(1 << 20))
PY
tar -C "$W/src" -czf "$W/layer.tar.gz" .
echo "layer: $FILES files 0-16 KiB + $BIG x 64 MiB, $(du -h "$W/layer.tar.gz" | cut -f1) gzip, fs $(stat -f -c %T "$W")"

now() { date +%s.%N; }
declare -a T_SNAP T_BSD
for r in $(seq "$RUNS"); do
	sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
	mkdir "$W/a$r"; t0=$(now); "$TOOL" apply "$W/a$r" "$W/layer.tar.gz" > /dev/null; t1=$(now)
	T_SNAP+=("$(echo "$t1 - $t0" | bc)")
	sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
	mkdir "$W/b$r"; t0=$(now); bsdtar -xpf "$W/layer.tar.gz" -C "$W/b$r"; sync -f "$W/b$r"; t1=$(now)
	T_BSD+=("$(echo "$t1 - $t0" | bc)")
	rm -rf "$W/a$r" "$W/b$r"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(median "${T_SNAP[@]}") mb=$(median "${T_BSD[@]}")
echo "apply (snapctl, incl. syncfs): runs ${T_SNAP[*]}  median ${ms}s"
echo "bsdtar -xpf (+ sync -f):       runs ${T_BSD[*]}  median ${mb}s"
echo "ratio snapctl/bsdtar: $(echo "scale=2; $ms / $mb" | bc)"

# generic diff
python3 - "$W/old" "$DIFF_FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i % 500:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}"), "w") as f:
        f.write("x" * (i % 100))
PY
cp -a "$W/old" "$W/new"
for i in $(seq 0 49); do echo changed > "$W/new/d$(printf %03d $i)/f$i"; done
for i in $(seq 50 74); do rm -f "$W/new/d$(printf %03d $i)/f$i"; done
for i in $(seq 75 99); do echo new > "$W/new/d$(printf %03d $i)/added$i"; done
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
t0=$(now); "$TOOL" diff "$W/old" "$W/new" "$W/diff.tar" > /dev/null; t1=$(now)
cold=$(echo "$t1 - $t0" | bc)
t0=$(now); "$TOOL" diff "$W/old" "$W/new" "$W/diff.tar" > /dev/null; t1=$(now)
warm=$(echo "$t1 - $t0" | bc)
echo "generic diff, $DIFF_FILES files, 100 changes: cold cache ${cold}s, warm ${warm}s, $(tar -tf "$W/diff.tar" | wc -l) tar entries"
