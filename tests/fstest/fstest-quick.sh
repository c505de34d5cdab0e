#!/bin/bash
# snapctl fstest --quick passes on this kernel, its JSON validates against
# docs/fstest.schema.json, it ran >= 60 scenarios on every driver, and every
# rule that explained a difference is documented in docs/fstest.md.
# Usage: fstest-quick.sh SNAPCTL SCHEMA DOC
set -euo pipefail
snapctl=$1 schema=$2 doc=$3
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in mkfs.ext4 python3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
python3 -c 'import jsonschema' 2>/dev/null || { echo "SKIP: python3-jsonschema not installed"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

rc=0
"$snapctl" fstest --quick --json "$out/r.json" --svg "$out/r.svg" --png "$out/r.png" >"$out/stdout" || rc=$?
cat "$out/stdout"
[ "$rc" = 0 ] || { echo "FAIL: fstest --quick exited $rc"; exit 1; }
grep -q '^PASS: 0 unexpected differences' "$out/stdout"
grep -q '^snapctl fstest: Linux ' "$out/stdout"
grep -q '^probed: overlay ' "$out/stdout"
[ -s "$out/r.svg" ] && [ -s "$out/r.png" ]

python3 - "$out/r.json" "$schema" "$doc" <<'PY'
import json, sys, jsonschema
report = json.load(open(sys.argv[1]))
jsonschema.validate(report, json.load(open(sys.argv[2])))
assert report["result"] == "pass", report["result"]
assert len(report["scenarios"]) >= 60, len(report["scenarios"])
ran = {c["driver"] for c in report["configurations"] if c["status"] in ("ok", "reference")}
assert {"vfs", "overlay", "btrfs"} <= ran, ran
doc = open(sys.argv[3]).read()
for rule in report["rules"]:
    assert "`" + rule["id"] + "`" in doc, "rule %s is not in docs/fstest.md" % rule["id"]
print("ok: %d scenarios, %d configurations, %d expected differences"
      % (len(report["scenarios"]), len(report["configurations"]), len(report["differences"])))
PY
