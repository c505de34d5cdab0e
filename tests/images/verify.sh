#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# snapctl verify on one driver: a canonical layer verifies by its diff ID
# re-derived from disk; a layer that was not in canonical form (GNU tar,
# gzip, a whiteout, implied parents, an ustar mtime) verifies entry by entry
# against its blob; a file edited, added or deleted under a committed
# snapshot's directory is drift named by path (exit 1); a corrupt blob is
# named too.  Usage: verify.sh SNAPCTL DRIVER
. "$(dirname "$0")/lib.sh"

out=$WORK/out
mkdir -p "$WORK/a/etc" "$WORK/a/usr/bin" "$WORK/b/usr/bin"
echo "root:x:0:0::/root:/bin/sh" >"$WORK/a/etc/passwd"
echo keep >"$WORK/a/etc/keep"
echo gone >"$WORK/a/etc/gone"
printf 'sh\n' >"$WORK/a/usr/bin/sh"
ln -s sh "$WORK/a/usr/bin/ash"
touch -d @1600000000 "$WORK/a/usr/bin/sh"
# Layer 2 as builders write it: no directory entries (implied parents),
# a whiteout, second-resolution mtimes (ustar), gzip.
echo tool >"$WORK/b/usr/bin/tool"
touch "$WORK/b/usr/bin/.wh.ash"
mk_tar "$WORK/a" "$WORK/l1.tar"
tar --format=ustar --owner=0 --group=0 --numeric-owner -C "$WORK/b" -cf "$WORK/l2.tar" \
	usr/bin/tool usr/bin/.wh.ash

if ! snapctl import-rootfs "$WORK/a" base:1 >"$out" 2>&1; then
	grep -qiE "not supported|unavailable|cannot|no such device" "$out" &&
		skip "driver $DRIVER unavailable here: $(cat "$out")"
	fail "import-rootfs: $(cat "$out")"
fi
# A layer in canonical form: the snapshot's own diff, as commit writes it.
snapctl snapshot diff -o "$WORK/canon.tar" "$(snapctl snapshot ls | awk 'NR > 1 {print $1; exit}')"
mk_layout "$WORK/canon" "$WORK/canon.tar" >/dev/null
snapctl import --name canon:1 "$WORK/canon" >/dev/null
snapctl rmi base:1 >/dev/null
mk_layout "$WORK/img" "$WORK/l1.tar" "gzip:$WORK/l2.tar" >/dev/null
snapctl import --name two:1 "$WORK/img" >/dev/null

# ---- intact ----
snapctl verify canon:1 two:1 >"$out" || fail "verify of intact images failed: $(cat "$out")"
grep -q "diff ID re-derived from disk matches" "$out" || fail "canonical layer not verified by diff ID: $(cat "$out")"
grep -q "entry by entry" "$out" || fail "gzip layer not verified against its blob: $(cat "$out")"
snapctl verify --all --json >"$out" || fail "verify --all: $(cat "$out")"
[ "$(jq .failed "$out")" = 0 ] || fail "verify --all --json: $(cat "$out")"
[ "$(jq '[.items[] | select(.kind == "layer")] | length' "$out")" = 3 ] || fail "layers in --json: $(cat "$out")"

# ---- usage ----
set +e
snapctl verify >/dev/null 2>&1; rc=$?
[ $rc = 2 ] || fail "verify without IMAGE: exit $rc, wanted 2"
snapctl verify no-such:image >/dev/null 2>&1; rc=$?
[ $rc = 1 ] || fail "verify of a missing image: exit $rc, wanted 1"
set -e

# ---- drift under a committed snapshot's directory ----
# The directory of the committed snapshot holding this file (btrfs: a
# read-only subvolume, made writable for the edit).
snapdirs_of() { # RELPATH CONTENT
	local f
	for f in $(find "$ROOT" -path "*/$1" -type f 2>/dev/null); do
		[ "$(cat "$f")" = "$2" ] && echo "${f%/$1}"
	done
	return 0
}
writable() { # DIR ON|OFF
	[ "$DRIVER" = btrfs ] || return 0
	btrfs property set -ts "$1" ro "$([ "$2" = on ] && echo false || echo true)"
}
n=0
for d in $(snapdirs_of etc/passwd "root:x:0:0::/root:/bin/sh"); do
	writable "$d" on
	echo "evil::0:0::/:/bin/sh" >"$d/etc/passwd"
	writable "$d" off
	n=$((n + 1))
done
[ $n -ge 1 ] || fail "no snapshot dir holds etc/passwd"
d2=$(snapdirs_of usr/bin/tool tool)
[ -n "$d2" ] || fail "no snapshot dir holds usr/bin/tool"
set +e
snapctl verify canon:1 >"$out"; rc=$?
set -e
[ $rc = 1 ] || fail "verify after an edit: exit $rc, wanted 1: $(cat "$out")"
grep -q "etc/passwd:" "$out" || fail "the edited path is not named: $(cat "$out")"

writable "$d2" on
echo extra >"$d2/usr/bin/extra"
touch -r "$d2/usr/bin/tool" "$d2/usr/bin/tool" # same metadata: only the add
writable "$d2" off
set +e
snapctl verify --json two:1 >"$out"; rc=$?
set -e
[ $rc = 1 ] || fail "verify after an added file: exit $rc: $(cat "$out")"
jq -e '.items[] | select(.kind == "layer" and .ok == false) | .drift[] | select(.path == "usr/bin/extra")' \
	"$out" >/dev/null || fail "added path not named: $(cat "$out")"
# The gzip layer's content edited: named with "content differs".
writable "$d2" on
rm "$d2/usr/bin/extra"
printf 'TOOL\n' >"$d2/usr/bin/tool"
writable "$d2" off
set +e
snapctl verify two:1 >"$out"; rc=$?
set -e
[ $rc = 1 ] && grep -q "usr/bin/tool: content differs" "$out" || fail "content edit: exit $rc: $(cat "$out")"

# ---- a corrupt blob ----
blob=$ROOT/content/sha256/$(gzip -n -c "$WORK/l2.tar" | sha256sum | cut -d" " -f1)
[ -f "$blob" ] || fail "layer blob not in the content store"
printf 'X' | dd of="$blob" bs=1 seek=20 conv=notrunc status=none
set +e
snapctl verify two:1 >"$out"; rc=$?
set -e
[ $rc = 1 ] && grep -q "corrupt: its" "$out" || fail "corrupt blob: exit $rc: $(cat "$out")"

# ---- a corrupt config: run and history take the config as stored (it was
# hashed as it was written), verify and export re-hash it and refuse ----
id=$(snapctl images -q --no-trunc two:1)
cfg=$ROOT/content/sha256/${id#sha256:}
[ -f "$cfg" ] || fail "config blob $id not in the content store"
sed -i 's/"architecture"/"architecturE"/' "$cfg"
set +e
snapctl verify two:1 >"$out"; rc=$?
set -e
[ $rc = 1 ] && grep -q "${id#sha256:}" "$out" || fail "corrupt config: verify exit $rc: $(cat "$out")"
set +e
snapctl export two:1 "$WORK/two-oci" >"$out" 2>&1; rc=$?
set -e
[ $rc = 1 ] && grep -q "corrupt in the content store" "$out" ||
	fail "corrupt config: export exit $rc: $(cat "$out")"
[ ! -e "$WORK/two-oci" ] || fail "corrupt config: export left $WORK/two-oci behind"
echo "verify on $DRIVER: ok"
