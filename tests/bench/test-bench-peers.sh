#!/usr/bin/env bash
# `snapctl bench --peers` on the I/O, shared-disk, commit-image,
# import-dirty and import-large workloads (and the start and commit ones the peers always
# had), tiny scale, one run:
# containerd's three snapshotters and podman's three storage drivers each
# give every figure snapctl's overlay gives, and the JSON validates.  Three
# minutes on a loaded two-core machine, so only with SNAPCTL_BENCH=1 (CI's
# budget); skips (77) where containerd or podman is not installed.  No
# timing assertions.
set -euo pipefail
snapctl=$1
schema=$2
if [ "${SNAPCTL_BENCH:-}" != 1 ]; then
	echo "SKIP: the peers' bench test runs with SNAPCTL_BENCH=1"
	exit 77
fi
for tool in containerd ctr runc podman mkfs.btrfs fio; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/setup.sh)"; exit 77; }
done
out=$(mktemp -d /var/tmp/snapctl-test-bench-peers.XXXXXX)
trap 'rm -rf "$out"' EXIT

"$snapctl" -q --btrfs-size 1G bench --scale tiny --runs 1 --warmup 0 --drivers overlay --peers \
	--workload fio --workload shared-disk --workload start --workload commit \
	--workload commit-image --workload import-dirty --workload import-large \
	--workdir "$out" --json "$out/p.json" >"$out/table.txt"

python3 - "$schema" "$out/p.json" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
peers = [d["name"] for d in doc["drivers"] if d["peer"]]
skipped = {d["name"]: d["skipped"] for d in doc["drivers"] if d.get("skipped")}
assert set(peers) == {"containerd-overlayfs", "containerd-native", "containerd-btrfs",
                      "podman-overlay", "podman-vfs", "podman-btrfs"}, peers
assert not skipped, f"peers skipped: {skipped}"
have = {}
for r in doc["results"]:
    have.setdefault((r["workload"], r["driver"]), set()).add(r["metric"])
for p in peers:
    # fio: every job's rate and latencies, as for snapctl's driver.
    assert have[("fio", p)] == have[("fio", "overlay")], (p, have.get(("fio", p)))
    shared = have[("shared-disk", p)]
    for m in ("import, quiet", "import, busy disk", "import slowdown (busy / quiet)",
              "commit container (1 file), quiet", "commit container (1 file), busy disk",
              "commit container (1 file) slowdown (busy / quiet)", "writer's throughput meanwhile"):
        assert m in shared, (p, m, shared)
    # What the peers did before this workload existed still works.
    assert "run --rm /bin/true" in have[("start", p)], p
    assert "commit container (1 file)" in have[("commit", p)], p
    # The issue's commit and dirty-neighbour import, on the same work.
    assert "commit (1,000 files, rm dir, append to log), gzip" in have[("commit-image", p)], p
    dirty = have[("import-dirty", p)]
    for m in ("Debian-sized import, quiet", "Debian-sized import, 64 MiB dirty"):
        assert m in dirty, (p, m, dirty)
        assert m in have[("import-dirty", "overlay")], m
    assert "large image import" in have[("import-large", p)], p
assert "large image import" in have[("import-large", "overlay")]
print(f"peers: {len(peers)} with fio, shared-disk, start, commit, commit-image, import-dirty and import-large figures")
PY
! grep -q "$out" /proc/self/mountinfo
