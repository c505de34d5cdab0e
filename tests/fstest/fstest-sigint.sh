#!/bin/bash
# SIGINT in the middle of snapctl fstest: exit 130, the work directory and
# its loop images removed, no loop device left bound to them.
# Usage: fstest-sigint.sh SNAPCTL
set -euo pipefail
snapctl=$1
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "SKIP: mkfs.ext4 not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$snapctl" fstest --quick --backing ext4,tmpfs --workdir "$work" >/dev/null 2>"$work.err" &
pid=$!
# Wait until a configuration runs (its result files appear), then interrupt.
for _ in $(seq 1 300); do
	compgen -G "$work/snapctl-fstest.*/bk-ext4" >/dev/null && break
	sleep 0.1
done
sleep 1
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
cat "$work.err"; rm -f "$work.err"
[ "$rc" = 130 ] || { echo "FAIL: expected exit 130, got $rc"; exit 1; }
left=$(find "$work" -mindepth 1 | head -5)
[ -z "$left" ] || { echo "FAIL: left behind: $left"; exit 1; }
if losetup -a 2>/dev/null | grep -F "$work/"; then
	echo "FAIL: loop device still bound to an image under $work"
	exit 1
fi
echo ok
