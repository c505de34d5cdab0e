#!/usr/bin/env bash
# Every bench workload in a tiny configuration on every driver that runs
# here; the JSON must validate against docs/bench-schema.json and the charts
# must be real SVG and PNG files.  No timing assertions.
set -euo pipefail
snapctl=$1
schema=$2
out=$(mktemp -d /var/tmp/snapctl-test-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

# Two runs each for the snapshot workloads; one for the I/O and curve
# workloads, whose tiny runs are still the longest (fio starts each job).
old=(snapshot-ops unpack start commit copy-up deep-chains sharing read snapshot-process idmap)
"$snapctl" -q --btrfs-size 1G bench --scale tiny --runs 2 --warmup 0 --drivers overlay,btrfs,vfs \
	"${old[@]/#/--workload=}" --workdir "$out" --json "$out/r.json" --svg "$out/r.svg" --png "$out/r.png" \
	>"$out/table.txt"
new=(fio curve-depth curve-commit curve-import curve-snapshots shared-disk import-dirty import-large commit-image)
"$snapctl" -q --btrfs-size 1G bench --scale tiny --runs 1 --warmup 0 --drivers overlay,btrfs,vfs \
	"${new[@]/#/--workload=}" --workdir "$out" --json "$out/new.json" --curves "$out/curves" \
	>"$out/table-new.txt"

# The start workload needs `run` and `import-rootfs` in this build.
has_run=0
"$snapctl" --help | grep '^  run ' >/dev/null && "$snapctl" --help | grep '^  import-rootfs ' >/dev/null && has_run=1

python3 - "$schema" "$out/r.json" "$has_run" "$out/new.json" "$out/curves" <<'PY'
import os
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
new = json.load(open(sys.argv[4]))
jsonschema.validate(doc, schema)
jsonschema.validate(new, schema)
assert [d["name"] for d in new["drivers"] if d.get("reference")] == ["backing-fs"], new["drivers"]
assert not [d for d in doc["drivers"] if d.get("reference")], "backing-fs without an I/O workload"
doc["drivers"] += [d for d in new["drivers"] if d.get("reference")]
doc["results"] += new["results"]
ran = {d["name"] for d in doc["drivers"] if not d.get("skipped") and not d.get("reference")}
refs = {d["name"] for d in doc["drivers"] if d.get("reference")}
assert ran, "no driver ran"
workloads = {r["workload"] for r in doc["results"]}
want = {"snapshot-ops", "unpack", "commit", "copy-up", "deep-chains", "sharing", "read", "snapshot-process",
        "fio", "curve-depth", "curve-commit", "curve-import", "curve-snapshots", "shared-disk",
        "import-dirty", "import-large"}
# Only the I/O workloads run on the bare backing filesystem as well.
reference_workloads = {"fio"}
assert refs == {"backing-fs"}, refs
if sys.argv[3] == "1":
    want |= {"start", "commit-image"}
missing = want - workloads
assert not missing, f"workloads without results: {sorted(missing)}"
# A workload that failed on one driver (a child snapctl that crashed, say)
# leaves that driver out of its results.
for w in want:
    have = {r["driver"] for r in doc["results"] if r["workload"] == w}
    expect = ran | refs if w in reference_workloads else ran
    assert have == expect, f"{w}: results for {sorted(have)}, drivers {sorted(expect)}"
for r in doc["results"]:
    assert len(r["samples"]) >= 1 and r["min"] <= r["median"] <= r["max"], r
    assert r["load_average"] is not None and r["load_average"] >= 0, r
assert doc["load_average"]["start"] is not None, doc["load_average"]
# fio: every job on every driver and the backing filesystem, with its
# throughput and both latency percentiles (fio's JSON parsed, not guessed).
jobs = {"seq write": "MB/s", "seq read": "MB/s", "rand read 4k": "IOPS", "rand write 4k (lower file)": "IOPS",
        "fsync write 4k": "IOPS", "file create": "IOPS", "file unlink": "IOPS"}
fio = {(r["metric"], r["driver"]): r for r in doc["results"] if r["workload"] == "fio"}
for d in ran | refs:
    for job, unit in jobs.items():
        rate = fio[(f"{job}, bandwidth" if unit == "MB/s" else f"{job}, IOPS", d)]
        assert rate["unit"] == unit and rate["min"] > 0, rate
        suffix = " (fsync)" if job == "fsync write 4k" else ""
        p50 = fio[(f"{job}, p50 latency{suffix}", d)]
        p99 = fio[(f"{job}, p99 latency{suffix}", d)]
        assert p50["unit"] == "us" and 0 < p50["median"] <= p99["median"], (p50, p99)
    assert fio[("rand write 4k (lower file), copy-up at open", d)]["unit"] == "ms"
# Cost curves: every point of every curve is a result with its x; each
# curve has a point per x of the scale and a slope; one SVG and one PNG per
# (workload, metric).
curves = {}
for c in new["curves"]:
    curves.setdefault((c["workload"], c["metric"]), {})[c["driver"]] = c
want_curves = {("curve-depth", "prepare"): 4, ("curve-depth", "mount"): 4, ("curve-depth", "umount"): 4,
               ("curve-commit", "diff+commit, 10 changes"): 3, ("curve-commit", "diff, 10 changes"): 3,
               ("curve-commit", "diff+commit, base of 100 files"): 3,
               ("curve-import", "import"): 3, ("curve-snapshots", "snapshot ls"): 3,
               ("curve-snapshots", "snapshot usage"): 3}
# Shared disk: quiet and busy figures and their ratio for every driver.
shared = {(r["metric"], r["driver"]): r for r in new["results"] if r["workload"] == "shared-disk"}
for d in ran:
    for op in ("import", "diff+commit"):
        quiet, busy = shared[(f"{op}, quiet", d)], shared[(f"{op}, busy disk", d)]
        ratio = shared[(f"{op} slowdown (busy / quiet)", d)]
        assert ratio["unit"] == "ratio" and ratio["samples"][0] > 0, ratio
        assert abs(ratio["samples"][0] - busy["samples"][0] / quiet["samples"][0]) < 1e-6, (quiet, busy, ratio)
    assert shared[("writer's throughput meanwhile", d)]["min"] > 0
for key, points in want_curves.items():
    assert key in curves, f"no curve {key}: {sorted(curves)}"
    assert set(curves[key]) == ran, (key, sorted(curves[key]))
    for c in curves[key].values():
        xs = [p["x"] for p in c["points"]]
        assert len(xs) == points and xs == sorted(xs), c
        assert isinstance(c["loglog_slope"], float), c
        pts = [r for r in new["results"] if (r["workload"], r["metric"], r["driver"]) == (key[0], key[1], c["driver"])]
        assert sorted(r["x"] for r in pts) == xs, (c, pts)
    slug = "".join(ch if ch.isalnum() else "-" for ch in f"{key[0]}-{key[1]}")
    while "--" in slug:
        slug = slug.replace("--", "-")
    for ext in ("svg", "png"):
        f = os.path.join(sys.argv[5], f"{slug.strip('-')}.{ext}")
        assert os.path.getsize(f) > 1000, f
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
