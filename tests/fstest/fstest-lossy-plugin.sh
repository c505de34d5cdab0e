#!/bin/bash
# A driver plugin whose copy loses user.* xattrs (tests/plugins/lossy-xattr.c)
# makes snapctl fstest exit 1 and name the scenarios whose xattrs it lost.
# Usage: fstest-lossy-plugin.sh SNAPCTL PLUGIN_DIR
set -euo pipefail
snapctl=$1 plugins=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "SKIP: mkfs.ext4 not installed"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

rc=0
"$snapctl" --plugin-dir "$plugins" fstest --quick --drivers vfs,vfs-lossy-xattr --scenario 'meta/*' >"$out" || rc=$?
cat "$out"
[ "$rc" = 1 ] || { echo "FAIL: expected exit 1, got $rc"; exit 1; }
grep -q '^FAIL: ' "$out"
# The unexpected difference names the configuration and the scenario: the
# lower file's xattr is gone in the copy, so removing it fails.
grep -E "^vfs-lossy-xattr/ext4 +meta/xattr-remove +step 01 rmxattr f user.k +ret +0 +ENODATA" "$out" >/dev/null ||
	{ echo "FAIL: meta/xattr-remove not reported as an unexpected difference"; exit 1; }
# The plugin's own configuration diverges; vfs is the reference.
grep -E '^vfs-lossy-xattr/ext4 +DIVERGES' "$out" >/dev/null
grep -E '^vfs/ext4 +reference' "$out" >/dev/null
echo ok
