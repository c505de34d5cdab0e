#!/usr/bin/env bash
# Errors a user meets first say what, where and why, and leave nothing half
# made (issue #16):
#   cli-errors.sh SNAPCTL
# - a writer on a root on a read-only mount names the root and the errno
#   text, not sqlite's "attempt to write a readonly database";
# - --driver btrfs --btrfs-size banana is a usage error (2) with nothing created (no
#   metadata.db, no btrfs.lock, not even the root directory);
# - bench --drivers foo is a usage error (2) naming the unknown driver.
# Exit 77 (skip) without root (the read-only bind mount).
set -uo pipefail
snapctl=$1

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (a read-only bind mount)"
work=$(mktemp -d /var/tmp/snapctl-test-errors.XXXXXX)
cleanup() {
	umount "$work/ro" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# ---- --btrfs-size banana: refused before anything is made ------------------
for root in "$work/fresh" "$work/empty"; do
	[[ $root == */empty ]] && mkdir "$root"
	rc=0
	"$snapctl" --root "$root" --driver btrfs --btrfs-size banana images >"$work/out" 2>"$work/err" || rc=$?
	[[ $rc -eq 2 ]] || fail "--btrfs-size banana on $root exited $rc, expected 2 (a usage error)"
	grep -q "invalid btrfs image size 'banana'" "$work/err" || fail "--btrfs-size banana: $(cat "$work/err")"
	if [[ $root == */fresh ]]; then
		[[ -e $root ]] && fail "--btrfs-size banana left the root $root: $(ls -A "$root")"
	else
		[[ -z $(ls -A "$root") ]] || fail "--btrfs-size banana left a half-made root: $(ls -A "$root")"
	fi
done
echo "ok: --btrfs-size banana creates nothing"

# ---- a writer on a read-only root ------------------------------------------
mkdir -p "$work/tree/bin" "$work/ro"
echo hi >"$work/tree/bin/file"
"$snapctl" -q --root "$work/ro" --driver vfs import-rootfs "$work/tree" img:1 >/dev/null || fail "import-rootfs"
mount --bind "$work/ro" "$work/ro" || fail "bind mount"
mount -o remount,bind,ro "$work/ro" || fail "remount read-only"
real_root=$(realpath "$work/ro")
for cmd in "run --rm img:1 /bin/true" "tag img:1 img:2" "rmi img:1" "gc"; do
	rc=0
	# shellcheck disable=SC2086
	"$snapctl" --root "$work/ro" --driver vfs $cmd >"$work/out" 2>"$work/err" || rc=$?
	[[ $rc -ne 0 ]] || fail "$cmd on a read-only root succeeded"
	grep -q "readonly database" "$work/err" && fail "$cmd: sqlite's text: $(cat "$work/err")"
	grep -q "root $real_root is not writable: Read-only file system" "$work/err" ||
		fail "$cmd: the error does not say what and where: $(cat "$work/err")"
done
# Readers still work on it.
"$snapctl" --root "$work/ro" --driver vfs images | grep -q "^img:1 " || fail "images on a read-only root"
echo "ok: writers on a read-only root say so"

# ---- bench --drivers foo: a usage error ------------------------------------
rc=0
"$snapctl" bench --drivers vfs,foo --scale tiny >"$work/out" 2>"$work/err" || rc=$?
[[ $rc -eq 2 ]] || fail "bench --drivers vfs,foo exited $rc, expected 2: $(cat "$work/err")"
grep -q "unknown driver 'foo'" "$work/err" || fail "bench --drivers foo: $(cat "$work/err")"
grep -q "available: " "$work/err" || fail "bench --drivers foo does not list the drivers: $(cat "$work/err")"
[[ -s $work/out ]] && fail "bench --drivers foo printed a table: $(cat "$work/out")"
echo "ok: bench --drivers foo exits 2"
