#!/bin/bash
# SIGINT in the middle of snapctl fstest: exit 130, the work directory and
# its loop images removed, no loop device left bound to them.  The
# configuration runs the vfs-stall test plugin (tests/plugins/stall.c), which
# blocks in create, so the signal always arrives while a configuration runs.
# Usage: fstest-sigint.sh SNAPCTL PLUGIN_DIR
set -euo pipefail
snapctl=$1 plugins=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "SKIP: mkfs.ext4 not installed"; exit 77; }
work=$(mktemp -d)
marker=$(mktemp -u)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work" "$marker" "$work.err"' EXIT

SNAPCTL_TEST_STALL_MARKER=$marker "$snapctl" --plugin-dir "$plugins" fstest --quick --backing ext4 \
	--drivers vfs-stall --workdir "$work" >/dev/null 2>"$work.err" &
pid=$!
for _ in $(seq 1 600); do
	[ -e "$marker" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
[ -e "$marker" ] || { cat "$work.err"; echo "FAIL: the stalling configuration never started"; exit 1; }
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
pid=
cat "$work.err"
[ "$rc" = 130 ] || { echo "FAIL: expected exit 130, got $rc"; exit 1; }
left=$(find "$work" -mindepth 1 | head -5)
[ -z "$left" ] || { echo "FAIL: left behind: $left"; exit 1; }
if losetup -a 2>/dev/null | grep -F "$work/"; then
	echo "FAIL: loop device still bound to an image under $work"
	exit 1
fi
echo ok
