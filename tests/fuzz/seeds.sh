#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Seed corpus of one harness into OUTDIR, from the project's own tests:
#   layer-apply        the hostile layer corpus (tests/hostile/gen-corpus.py)
#   oci-docs           tests/fuzz/seeds/oci-docs (manifest, config, times)
#   image-index        valid index.json / manifest.json for the harness' layout
#   snapshots-request  one valid request per method
# plus the inputs of crashes once found (tests/fuzz/regressions/NAME).
# Usage: seeds.sh NAME HARNESS GEN_CORPUS OUTDIR
set -euo pipefail
NAME=$1 BIN=$(realpath "$2") GEN=$3 OUT=$4
HERE=$(dirname "$(realpath "$0")")
mkdir -p "$OUT"
case $NAME in
layer-apply)
	python3 "$GEN" "$OUT" >/dev/null
	rm -f "$OUT/expected.tsv" ;;
oci-docs) cp "$HERE/seeds/oci-docs/"* "$OUT/" ;;
image-index | snapshots-request) SNAPCTL_FUZZ_SEEDS=$OUT "$BIN" >/dev/null ;;
*) echo "seeds.sh: unknown harness $NAME" >&2; exit 2 ;;
esac
for f in "$HERE/regressions/$NAME"/*; do
	[ -f "$f" ] && cp "$f" "$OUT/"
done
exit 0
