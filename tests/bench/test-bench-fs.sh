#!/usr/bin/env bash
# snapctl bench --fs TYPE[:SIZE]: the roots are on a filesystem made for the
# run (JSON work_filesystem), nothing of it is left afterwards (no image,
# no loop device, no work directory), and bad values are usage errors.
set -euo pipefail
snapctl=$1
schema=$2
out=$(mktemp -d /var/tmp/snapctl-test-bench-fs.XXXXXX)
trap 'rm -rf "$out"' EXIT

loops_of() { losetup -a 2>/dev/null | grep -c "$out" || true; }

for spec in ext4:2G btrfs:2G; do
	type=${spec%%:*}
	"$snapctl" --btrfs-size 1G bench --fs "$spec" --scale tiny --runs 1 --warmup 0 \
		--drivers overlay,btrfs,vfs --workload snapshot-process --workdir "$out/w" \
		--json "$out/$type.json" >"$out/$type.txt" 2>"$out/$type.err"
	grep -q "the roots are on a fresh $type" "$out/$type.err" || {
		echo "no notice of the $type filesystem:"; cat "$out/$type.err"; exit 1; }
	python3 - "$schema" "$out/$type.json" "$type" <<'PY'
import json, sys, jsonschema
schema, doc, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
jsonschema.validate(doc, schema)
fs = doc["work_filesystem"]
assert fs["type"] == want and fs["made_for_run"] is True, fs
assert fs["image_bytes"] == 2 << 30, fs
assert isinstance(fs["loop_direct_io"], bool), fs
ran = {r["driver"] for r in doc["results"]}
assert ran, "no results"
print(f"{want}: {fs}, drivers {sorted(ran)}")
PY
	left=$(find "$out/w" -mindepth 1 2>/dev/null | head -5)
	[ -z "$left" ] || { echo "left in the workdir after --fs $spec: $left"; exit 1; }
	[ "$(loops_of)" = 0 ] || { echo "loop devices left after --fs $spec:"; losetup -a | grep "$out"; exit 1; }
done

# Killed mid-run: the filesystem goes with the bench's mount namespace, its
# loop device with it (autoclear) and the image was unlinked once mounted.
"$snapctl" bench --fs ext4:2G --scale tiny --runs 50 --warmup 0 --drivers vfs --workload import-dirty \
	--workdir "$out/w" >/dev/null 2>"$out/kill.err" &
pid=$!
for _ in $(seq 600); do grep -q "the roots are on" "$out/kill.err" && break; sleep 0.05; done
grep -q "the roots are on" "$out/kill.err" || { echo "the killed run never made its filesystem:"; cat "$out/kill.err"; exit 1; }
# Killed while a neighbour runs (a fork of the bench: the same executable).
neighbour() {
	local c
	for c in $(pgrep -P "$pid"); do
		[ "$(readlink /proc/"$c"/exe 2>/dev/null)" = "$(readlink /proc/"$pid"/exe)" ] && return 0
	done
	return 1
}
for _ in $(seq 600); do neighbour && break; sleep 0.05; done
neighbour || { echo "no neighbour ran within 30 s"; exit 1; }
kill -KILL "$pid"
wait "$pid" || true
for _ in $(seq 100); do [ "$(loops_of)" = 0 ] && break; sleep 0.05; done
[ "$(loops_of)" = 0 ] || { echo "loop device left by a killed run (a process of the run still alive?):"; losetup -a | grep "$out"; pgrep -af snapctl-bench; exit 1; }
img=$(find "$out/w" -name fs.img | head -1)
[ -z "$img" ] || { echo "image left by a killed run: $img"; exit 1; }
rm -rf "$out/w"

# -q: no notice.
"$snapctl" -q bench --fs ext4:1G --scale tiny --runs 1 --warmup 0 --drivers vfs --workload snapshot-process \
	--workdir "$out/w" >/dev/null 2>"$out/quiet.err"
! grep -q "the roots are on" "$out/quiet.err" || { echo "-q printed the notice:"; cat "$out/quiet.err"; exit 1; }

# Without --fs the report names the workdir's own filesystem.
"$snapctl" -q bench --scale tiny --runs 1 --warmup 0 --drivers vfs --workload snapshot-process \
	--workdir "$out/w" --json "$out/plain.json" >/dev/null
python3 -c '
import json, sys
fs = json.load(open(sys.argv[1]))["work_filesystem"]
assert fs["made_for_run"] is False and "image_bytes" not in fs, fs' "$out/plain.json"

# Usage errors: exit 2, before anything is made.
for bad in zfs ext4:12 ext4:lots; do
	rc=0
	"$snapctl" bench --fs "$bad" --workdir "$out/w" >/dev/null 2>"$out/bad.err" || rc=$?
	[ "$rc" = 2 ] || { echo "--fs $bad: exit $rc, want 2"; cat "$out/bad.err"; exit 1; }
	grep -q -- "--fs" "$out/bad.err" || { echo "--fs $bad: message does not name --fs:"; cat "$out/bad.err"; exit 1; }
done
echo "bench --fs: ok"
