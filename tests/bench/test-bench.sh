#!/usr/bin/env bash
# Every bench workload in a tiny configuration on every driver that runs
# here; the JSON must validate against docs/bench-schema.json and the charts
# must be real SVG and PNG files.  No timing assertions.
set -euo pipefail
snapctl=$1
schema=$2
out=$(mktemp -d /var/tmp/snapctl-test-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

"$snapctl" -q --btrfs-size 1G bench --scale tiny --runs 2 --warmup 0 --drivers overlay,btrfs,vfs \
	--workdir "$out" --json "$out/r.json" --svg "$out/r.svg" --png "$out/r.png" >"$out/table.txt"

# The start workload needs `run` and `import-rootfs` in this build.
has_run=0
"$snapctl" --help | grep -q '^  run ' && "$snapctl" --help | grep -q '^  import-rootfs ' && has_run=1

python3 - "$schema" "$out/r.json" "$has_run" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
ran = {d["name"] for d in doc["drivers"] if not d.get("skipped")}
assert ran, "no driver ran"
workloads = {r["workload"] for r in doc["results"]}
want = {"snapshot-ops", "unpack", "commit", "copy-up", "deep-chains", "sharing", "read", "snapshot-process"}
if sys.argv[3] == "1":
    want.add("start")
missing = want - workloads
assert not missing, f"workloads without results: {sorted(missing)}"
# A workload that failed on one driver (a child snapctl that crashed, say)
# leaves that driver out of its results.
for w in want:
    have = {r["driver"] for r in doc["results"] if r["workload"] == w}
    assert have == ran, f"{w}: results for {sorted(have)}, drivers {sorted(ran)}"
for r in doc["results"]:
    assert len(r["samples"]) >= 1 and r["min"] <= r["median"] <= r["max"], r
print(f"bench JSON valid: {len(doc['results'])} results, drivers {sorted(ran)}")
PY
# A saved run drawn again: same results, valid JSON, a PNG.
"$snapctl" -q bench --from-json "$out/r.json" --json "$out/r2.json" --png "$out/r2.png" >"$out/table2.txt"
python3 - "$schema" "$out/r.json" "$out/r2.json" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
a, b = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
jsonschema.validate(b, schema)
key = lambda d: [(r["workload"], r["metric"], r["driver"], r["samples"]) for r in d["results"]]
assert key(a) == key(b), "--from-json changed the results"
PY
head -c 8 "$out/r2.png" | od -An -tx1 | grep -q '89 50 4e 47' || { echo "replot: not a PNG"; exit 1; }
head -c 5 "$out/r.svg" | grep -q '<?xml' || { echo "not an SVG"; exit 1; }
head -c 8 "$out/r.png" | od -An -tx1 | grep -q '89 50 4e 47' || { echo "not a PNG"; exit 1; }
grep -q WORKLOAD "$out/table.txt"
# Nothing of the bench is left mounted.
! grep -q "$out" /proc/self/mountinfo
