#!/bin/bash
# On xfs the committed layer of an ACL scenario holds the ACL once, as
# system.posix_acl_*, never as xfs' trusted.SGI_ACL_FILE / _DEFAULT
# (docs/fstest.md, finding 5): fstest on ext4 and xfs, vfs and overlay, of
# the ACL scenarios passes (the xfs-acl-xattrs rule covers what processes
# see, not the layer), and the diff observations on xfs name no SGI xattr.
# Usage: fstest-xfs-acl.sh SNAPCTL
set -euo pipefail
snapctl=$1
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in mkfs.ext4 mkfs.xfs python3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

rc=0
"$snapctl" fstest --drivers vfs,overlay --backing ext4,xfs --feature-sets default --mount-path fsopen \
	--scenario 'meta/acl-*' --json "$out/r.json" >"$out/stdout" || rc=$?
cat "$out/stdout"
python3 - "$out/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
xfs = [c for c in r["configurations"] if c["backing"] == "xfs"]
if not xfs or all(c["status"] == "skipped" for c in xfs):
    print("SKIP: no xfs configuration ran: %s" % [c.get("reason") for c in xfs])
    sys.exit(77)
bad = [d for d in r["differences"] if d["observation"].startswith("diff ") and "SGI_ACL" in d["value"]]
assert not bad, "SGI ACL xattrs in a layer: %s" % bad
assert r["result"] == "pass", [d for d in r["differences"] if not d["expected"]]
print("ok: %d configurations" % len(r["configurations"]))
PY
