#!/usr/bin/env bash
# What import and snapshot apply flush, under strace:
#   cli-durable.sh SNAPCTL
# Default (--sync=blob): the layer blob is fsynced, the unpacked tree is
# not (no syncfs of the snapshot's filesystem: it is recorded as pending,
# see cli-pending-trees.sh), and the last write to metadata.db-wal is
# followed by a sync of the -wal (the image row is durable on return).
# --sync=full: also one syncfs of the snapshot's filesystem.  snapshot
# apply (no blob to rebuild from) syncs its tree in both.  --sync=none:
# nothing.
# Exit 77 (skip) without root or strace.
set -uo pipefail
snapctl=$1

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (the vfs driver keeps owners)"
command -v strace >/dev/null || skip "strace not installed"

work=$(mktemp -d /var/tmp/snapctl-test-durable.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A tree with nested directories, empty and non-empty files, a symlink.
mkdir -p "$work/tree/etc/deep/er" "$work/tree/usr/bin"
for i in $(seq 1 40); do head -c $((i * 300)) /dev/urandom >"$work/tree/usr/bin/f$i"; done
: >"$work/tree/etc/empty"
echo x >"$work/tree/etc/deep/er/leaf"
ln -s ../usr/bin/f1 "$work/tree/etc/link"

traced() { # OUT ARGS...: snapctl under strace (-y: fds with their paths)
	local out=$1
	shift
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -y -o "$out" \
		-e trace=fsync,fdatasync,syncfs,pwrite64,write \
		"$snapctl" -q "$@" >/dev/null
}

# Files are fsynced by the fd of the file in the snapshot tree, named by
# strace as <.../snapshots/ID/.../etc/empty>.
synced() { grep -E '^[0-9]+ +f(data)?sync\(' "$1" | sed -E 's/^[^<]*<([^>]*)>.*/\1/'; }

check_full() { # TRACE WHAT: the layer is on disk (one syncfs on the tree's filesystem)
	grep -qE 'syncfs\([0-9]+<[^>]*/snapshots/' "$1" || fail "$2: no syncfs of the snapshot's filesystem"
}

check_wal_synced() { # TRACE WHAT
	local t=$1 what=$2 last_write last_sync
	last_write=$(grep -nE 'pwrite64\([0-9]+<[^>]*metadata\.db-wal>' "$t" | tail -1 | cut -d: -f1)
	last_sync=$(grep -nE 'f(data)?sync\([0-9]+<[^>]*metadata\.db-wal>' "$t" | tail -1 | cut -d: -f1)
	[[ -n $last_write ]] || fail "$what: no write to the -wal seen (the test would prove nothing)"
	[[ -n $last_sync ]] && ((last_sync > last_write)) ||
		fail "$what: the last -wal write (trace line $last_write) is not followed by a sync of the -wal"
}

check_blob_synced() { # TRACE WHAT: the blob's staging file, then the blob directory
	synced "$1" | grep -qE '/content/' || fail "$2: no fsync of the blob under ROOT/content"
}

# ---- import-rootfs (apply + image row), default: blob ------------------
root=$work/root
"$snapctl" -q --root "$root" --driver vfs images >/dev/null || fail "make the root"
traced "$work/t0" --root "$root" import-rootfs "$work/tree" dur:blob || fail "import-rootfs failed"
grep -qE 'syncfs\(' "$work/t0" && fail "import-rootfs (--sync=blob): syncfs called"
check_blob_synced "$work/t0" "import-rootfs (--sync=blob)"
check_wal_synced "$work/t0" "import-rootfs (--sync=blob)"

# ---- import-rootfs, full ----------------------------------------------
rootf=$work/rootf
"$snapctl" -q --root "$rootf" --driver vfs images >/dev/null || fail "make the --sync=full root"
traced "$work/t1" --root "$rootf" --sync=full import-rootfs "$work/tree" dur:full || fail "import-rootfs failed"
check_full "$work/t1" "import-rootfs --sync=full"
check_blob_synced "$work/t1" "import-rootfs --sync=full"
check_wal_synced "$work/t1" "import-rootfs --sync=full"

# ---- snapshot apply of the same layer, default: the tree is synced ------
tar -C "$work/tree" -cf "$work/layer.tar" . || fail "tar"
"$snapctl" -q --root "$root" snapshot prepare applied >/dev/null || fail "prepare"
traced "$work/t2" --root "$root" snapshot apply applied "$work/layer.tar" || fail "snapshot apply failed"
check_full "$work/t2" "snapshot apply"

# ---- --sync=none: nothing of the layer, no -wal sync -------------------
root2=$work/root2
"$snapctl" -q --root "$root2" --driver vfs images >/dev/null || fail "make the second root"
traced "$work/t3" --root "$root2" --sync=none import-rootfs "$work/tree" dur:none || fail "import-rootfs --sync=none failed"
grep -qE 'syncfs\(' "$work/t3" && fail "--sync=none: syncfs called"
if s=$(synced "$work/t3" | grep -E '/snapshots/|metadata\.db-wal|/content/'); then
	fail "--sync=none still flushed: $s"
fi
SNAPCTL_SYNC=none traced "$work/t4" --root "$root2" import-rootfs "$work/tree" dur:none2 ||
	fail "import-rootfs with SNAPCTL_SYNC=none failed"
grep -qE 'syncfs\(' "$work/t4" && fail "SNAPCTL_SYNC=none still flushed the layer"

# ---- a bad mode is a usage error ---------------------------------------
"$snapctl" --root "$root" --sync=sometimes images >/dev/null 2>&1
rc=$?
((rc == 2)) || fail "--sync=sometimes exited $rc, not 2"

echo "ok: import syncs the blob and the -wal (and the tree with --sync=full); apply syncs the tree; --sync=none syncs nothing"
