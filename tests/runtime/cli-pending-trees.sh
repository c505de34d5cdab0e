#!/usr/bin/env bash
# Layer trees unpacked unsynced (--sync=blob, the default) and what happens
# to them after a reboot, faked with SNAPCTL_TEST_BOOT_ID:
#   cli-pending-trees.sh SNAPCTL DRIVER
# - import-rootfs records the layer in pending_trees (with the boot id);
#   --sync=full does not; a command of the same boot leaves it while it is
#   young, and one minutes later (the row aged by hand) syncs and drops it;
# - after the "reboot", a writer without the layer engine (snapshot
#   prepare) only warns; `check` finds a truncated file, applies the layer
#   again from its blob, and drops the row: the file is back;
# - an undamaged tree: check drops the row and rewrites nothing (inode
#   numbers and ctimes under the tree unchanged).
# Exit 77 (skip) without root or sqlite3.
set -uo pipefail
snapctl=$1
driver=$2

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root"
command -v sqlite3 >/dev/null || skip "sqlite3 (the CLI) not installed"
command -v strace >/dev/null || skip "strace not installed"

work=$(mktemp -d /var/tmp/snapctl-test-pending.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/tree/usr/bin" "$work/tree/etc"
for i in $(seq 1 20); do head -c $((i * 700)) /dev/urandom >"$work/tree/usr/bin/f$i"; done
echo hello >"$work/tree/etc/motd"
ln -s ../usr/bin/f1 "$work/tree/etc/link"

sql() { sqlite3 "$1/metadata.db" "$2"; }
pending() { sql "$1" "SELECT count(*) FROM pending_trees"; }
# The tree of the pending snapshot: ROOT/snapshots/ID/fs on vfs and overlay.
tree_of() { echo "$1/snapshots/$(sql "$1" "SELECT snapshot_id FROM pending_trees LIMIT 1")/fs"; }
state() { find "$1" -printf '%P %i %C@ %s\n' | sort; }

# ---- recorded, and kept within the boot --------------------------------
root=$work/root
"$snapctl" -q --root "$root" --driver "$driver" import-rootfs "$work/tree" p:1 >/dev/null ||
	fail "import-rootfs failed"
[[ $(pending "$root") == 1 ]] || fail "import-rootfs left $(pending "$root") pending rows, not 1"
boot=$(cat /proc/sys/kernel/random/boot_id)
[[ $(sql "$root" "SELECT boot_id FROM pending_trees") == "$boot" ]] || fail "the row does not name this boot"
"$snapctl" --root "$root" check >/dev/null 2>"$work/err0" || fail "check (same boot) failed: $(cat "$work/err0")"
[[ $(pending "$root") == 1 ]] || fail "check of the same boot dropped a young row"

full=$work/full
"$snapctl" -q --root "$full" --driver "$driver" --sync=full import-rootfs "$work/tree" p:1 >/dev/null ||
	fail "import-rootfs --sync=full failed"
[[ $(pending "$full") == 0 ]] || fail "--sync=full recorded a pending tree"

# ---- the same boot, minutes later: any writer syncs and drops the row --
old=$work/old
"$snapctl" -q --root "$old" --driver "$driver" import-rootfs "$work/tree" p:1 >/dev/null ||
	fail "import-rootfs (third root) failed"
sql "$old" "UPDATE pending_trees SET created_ns = 0" || fail "age the row"
# LeakSanitizer cannot run under ptrace (ASan builds).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -o "$work/t-old" -e trace=syncfs "$snapctl" -q --root "$old" snapshot prepare k >/dev/null ||
	fail "prepare (old row) failed"
[[ $(pending "$old") == 0 ]] || fail "a writer of the same boot did not drop a row older than the settle time"
grep -qE '^[0-9]+ +syncfs\(' "$work/t-old" || fail "the old row was dropped without a syncfs"

# ---- a reboot; a truncated file --------------------------------------
tree=$(tree_of "$root")
[[ -f $tree/usr/bin/f9 ]] || fail "no $tree/usr/bin/f9 (the test would prove nothing)"
truncate -s 5 "$tree/usr/bin/f9"
export SNAPCTL_TEST_BOOT_ID=00000000-0000-0000-0000-000000000001
layer=$(sql "$root" "SELECT s.key FROM pending_trees p JOIN snapshots s ON s.id = p.snapshot_id")
"$snapctl" --root "$root" snapshot prepare child "$layer" >/dev/null 2>"$work/err1" || fail "prepare failed"
grep -q "not verified yet" "$work/err1" || fail "prepare after the reboot did not warn: $(cat "$work/err1")"
[[ $(pending "$root") == 1 ]] || fail "prepare (no layer engine) dropped the row"
"$snapctl" --root "$root" check >"$work/out2" 2>"$work/err2" || fail "check failed: $(cat "$work/out2" "$work/err2")"
grep -q "unpacked again" "$work/err2" || fail "check did not say it unpacked the layer again: $(cat "$work/err2")"
cmp -s "$tree/usr/bin/f9" "$work/tree/usr/bin/f9" || fail "usr/bin/f9 is not restored"
[[ $(pending "$root") == 0 ]] || fail "the row is still there after the recovery"
"$snapctl" -q --root "$root" check >/dev/null || fail "check after the recovery is not clean"

# ---- a reboot, nothing damaged: the row goes, nothing is rewritten ----
root2=$work/root2
unset SNAPCTL_TEST_BOOT_ID
"$snapctl" -q --root "$root2" --driver "$driver" import-rootfs "$work/tree" p:1 >/dev/null ||
	fail "import-rootfs (second root) failed"
tree2=$(tree_of "$root2")
state "$tree2" >"$work/before"
SNAPCTL_TEST_BOOT_ID=00000000-0000-0000-0000-000000000002 "$snapctl" --root "$root2" check >/dev/null \
	2>"$work/err3" || fail "check (undamaged) failed: $(cat "$work/err3")"
grep -q "unpacked again" "$work/err3" && fail "an undamaged tree was unpacked again"
[[ $(pending "$root2") == 0 ]] || fail "the row of an undamaged tree is still there"
state "$tree2" >"$work/after"
diff -u "$work/before" "$work/after" >&2 || fail "the undamaged tree was rewritten"

# ---- the row goes with its snapshot -----------------------------------
"$snapctl" -q --root "$full" rmi p:1 >/dev/null || fail "rmi failed"
"$snapctl" -q --root "$root" import-rootfs "$work/tree/usr" p:2 >/dev/null || fail "import-rootfs p:2 failed"
[[ $(pending "$root") == 1 ]] || fail "import-rootfs of another tree left $(pending "$root") pending rows, not 1"
"$snapctl" -q --root "$root" snapshot rm child >/dev/null || fail "snapshot rm child failed"
"$snapctl" -q --root "$root" rmi p:1 >/dev/null && "$snapctl" -q --root "$root" rmi p:2 >/dev/null ||
	fail "rmi failed"
"$snapctl" -q --root "$root" gc >/dev/null || fail "gc failed"
[[ $(sql "$root" "SELECT count(*) FROM snapshots") == 0 ]] || fail "gc left snapshots"
[[ $(pending "$root") == 0 ]] || fail "a pending row outlived its snapshot"

echo "ok ($driver): pending trees recorded, kept within the boot, verified and restored after a reboot"
