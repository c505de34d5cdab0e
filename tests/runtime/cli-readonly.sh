#!/usr/bin/env bash
# Commands that only read write nothing under ROOT:
#   cli-readonly.sh SNAPCTL [DRIVER]   (default vfs)
# snapshot info/ls/tree/usage/mounts, images, ps and history run on a root
# with snapshots, an image and unreplayed -wal frames; afterwards every file
# under ROOT (metadata.db, its -wal and -shm included) has the size, mtime
# and ctime it had before, and strace (when installed) saw no write,
# pwrite, truncate, sync, mkdir, unlink, rename, chown, chmod, xattr or
# times call.  A reader that checkpointed the WAL on close, rebuilt the
# -shm, made a missing directory or let sqlite fchown the -wal and -shm
# (it does as root, on every open) fails here.
# Exit 77 (skip) without root.
set -uo pipefail
snapctl=$1
driver=${2:-vfs}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (the vfs driver keeps owners)"
[[ $driver != overlay ]] || grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
	skip "the kernel has no overlay filesystem"

work=$(mktemp -d /var/tmp/snapctl-test-ro.XXXXXX)
root=$work/root
trap 'rm -rf "$work"' EXIT

sc() { "$snapctl" -q --root "$root" --driver "$driver" "$@"; }

# A root with committed, active and view snapshots and a one-layer image.
mkdir -p "$work/tree/etc"
echo hello >"$work/tree/etc/motd"
sc import-rootfs "$work/tree" ro:test >/dev/null || fail "import-rootfs"
sc snapshot prepare --label a=b base-a >/dev/null || fail "prepare base-a"
sc snapshot commit base base-a || fail "commit base"
sc snapshot prepare work base >/dev/null || fail "prepare work"
sc snapshot view v base >/dev/null || fail "view v"
[[ -s $root/metadata.db-wal ]] || fail "no -wal after the writers: the test would prove nothing"

state() { find "$root" -printf '%p %s %T@ %C@\n' | sort; }
before=$(state)

readers=(
	"snapshot info base"
	"snapshot ls"
	"snapshot ls --filter kind==active"
	"snapshot tree"
	"snapshot usage"
	"snapshot usage work"
	"snapshot mounts work"
	"images"
	"ps -a"
	"history ro:test"
)
have_strace=0
command -v strace >/dev/null && have_strace=1
for cmd in "${readers[@]}"; do
	# shellcheck disable=SC2086 # word splitting of the command is meant
	if ((have_strace)); then
		# LeakSanitizer cannot run under ptrace (the ASan build): leaks
		# are checked by every other test, writes are what this one checks.
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -o "$work/trace" \
			-e trace=write,pwrite64,pwritev,pwritev2,ftruncate,truncate,fsync,fdatasync,syncfs,sync_file_range,mkdir,mkdirat,unlink,unlinkat,rmdir,rename,renameat,renameat2,chown,fchown,lchown,fchownat,chmod,fchmod,fchmodat,setxattr,lsetxattr,fsetxattr,removexattr,fremovexattr,utimensat,link,linkat,symlink,symlinkat \
			"$snapctl" -q --root "$root" $cmd >/dev/null || fail "'$cmd' failed"
		# Writes to stdout/stderr are the command's answer.
		bad=$(grep -vE '^[0-9]+ +(write|pwrite64)\([12],|^[0-9]+ +\+\+\+|^[0-9]+ +---' "$work/trace")
		[[ -z $bad ]] || fail "'$cmd' wrote: $bad"
	else
		sc $cmd >/dev/null || fail "'$cmd' failed"
	fi
done

after=$(state)
[[ $before == "$after" ]] || {
	diff <(echo "$before") <(echo "$after") >&2
	fail "a read-only command changed files under the root"
}

# A writer after the readers still works, and the readers see its row.
sc snapshot commit c2 work || fail "commit after the readers"
sc snapshot info c2 >/dev/null || fail "info of the new snapshot"
((have_strace)) || echo "note: strace is not installed; checked sizes and mtimes only"
echo "ok: ${#readers[@]} read-only commands wrote nothing on $driver"
