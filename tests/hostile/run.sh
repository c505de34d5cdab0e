#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Apply every layer of the hostile corpus onto a fresh base tree and check
# the expected outcome: "ok" cases pass their checks, "fail" cases exit 1
# and leave the tree exactly as it was, "enospc" (a decompression bomb) is
# applied on a small tmpfs and must fail with the tree intact.  No case may
# write outside the tree or leave an undo directory behind.
#
# Usage: run.sh DRIVER LAYER_TOOL TREECMP GEN_CORPUS
#   DRIVER "dir": plain directories through layer-tool (the engine itself);
#   other drivers plug in through apply_with_<driver> below.
# Set NO_OPENAT2_WRAPPER=/path/to/no-openat2 to run everything with openat2
# failing with ENOSYS (the fd-walking fallback).
set -euo pipefail
DRIVER=$1
TOOL=$(realpath "$2")
CMP=$(realpath "$3")
GEN=$(realpath "$4")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (device nodes, owners, tmpfs)"; exit 77; }
W=$(mktemp -d /tmp/hostile.XXXXXX)
cleanup() {
	mountpoint -q "$W/small" 2>/dev/null && umount "$W/small"
	rm -rf "$W"
}
trap cleanup EXIT
python3 "$GEN" "$W/corpus" > /dev/null
WRAP=${NO_OPENAT2_WRAPPER:-}

mk_base() {
	local d=$1
	mkdir -p "$d/etc" "$d/dir/sub" "$d/dir2/x"
	echo root > "$d/etc/passwd"
	echo f > "$d/dir/file"
	echo deep > "$d/dir/sub/deep"
	echo y > "$d/dir2/x/y"
	ln -s etc/passwd "$d/plink"
	touch -d '2020-02-02 02:02:02.5' "$d/etc" "$d/dir" "$d/dir/sub" "$d/dir2" "$d"
}

apply_with_dir() { # TREE FILE -> exit status, stderr message
	$WRAP "$TOOL" apply "$1" "$2" > /dev/null
}

check() { # TREE CHECK
	local t=$1 c=$2 kind=${2%%:*} rest=${2#*:} p v
	p=${rest%%=*}
	v=${rest#*=}
	case $kind in
	exists) [ -e "$t/$p" ] || [ -L "$t/$p" ] ;;
	absent) if [[ $p == /* ]]; then [ ! -e "$p" ]; else [ ! -e "$t/$p" ] && [ ! -L "$t/$p" ]; fi ;;
	dir) [ -d "$t/$p" ] && [ ! -L "$t/$p" ] ;;
	file) [ -f "$t/$p" ] && [ ! -L "$t/$p" ] ;;
	link) [ -L "$t/$p" ] ;;
	content) [ "$(cat "$t/$p")" = "$v" ] ;;
	mode) [ "$(stat -c %a "$t/$p")" = "$v" ] ;;
	noxattr) python3 -c 'import os,sys; sys.exit(sys.argv[2] in os.listxattr(sys.argv[1], follow_symlinks=False))' "$t/$p" "$v" ;;
	*) echo "unknown check $c"; return 1 ;;
	esac
}

mkdir -p "$W/outside" "$W/small"
echo sentinel > "$W/outside/sentinel"
pass=0 failed=0 skipped=0
while IFS=$'\t' read -r name file outcome checks; do
	base=$W/tree
	if [ "$outcome" = enospc ]; then
		if ! mount -t tmpfs -o size=24m tmpfs "$W/small" 2>/dev/null; then
			echo "SKIP $name: cannot mount a small tmpfs"; skipped=$((skipped + 1)); continue
		fi
		base=$W/small/tree
	fi
	rm -rf "$base"; mkdir -p "$base"; mk_base "$base"
	before=$(python3 "$CMP" --dump "$base")
	set +e
	msg=$(apply_with_"$DRIVER" "$base" "$W/corpus/$file" 2>&1)
	rc=$?
	set -e
	bad=""
	case $outcome in
	ok)
		[ $rc = 0 ] || bad="exit $rc: $msg"
		for c in $checks; do
			check "$base" "$c" || bad="$bad check $c failed;"
		done ;;
	fail|enospc)
		[ $rc = 1 ] || bad="exit $rc, wanted 1"
		[ -n "$msg" ] || bad="$bad no error message;"
		if [ "$outcome" = enospc ] && ! grep -q "No space left" <<<"$msg"; then
			bad="$bad not ENOSPC: $msg;"
		fi
		after=$(python3 "$CMP" --dump "$base")
		[ "$before" = "$after" ] || bad="$bad tree changed: $(diff <(echo "$before") <(echo "$after") | head -5)" ;;
	esac
	[ "$(ls -A "$W/outside")" = sentinel ] && [ "$(cat "$W/outside/sentinel")" = sentinel ] ||
		bad="$bad wrote outside the tree;"
	if ls -A "$base" | grep -q '^\.snapctl-apply-'; then bad="$bad undo directory left;"; fi
	if [ "$outcome" = enospc ]; then umount "$W/small"; fi
	if [ -n "$bad" ]; then
		echo "FAIL $name ($outcome): $bad"
		failed=$((failed + 1))
	else
		echo "ok   $name ($outcome)${msg:+: ${msg//$'\n'/ }}"
		pass=$((pass + 1))
	fi
done < "$W/corpus/expected.tsv"
echo "hostile corpus ($DRIVER${WRAP:+, no openat2}): $pass passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
