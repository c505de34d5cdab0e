#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Layer reuse cannot be poisoned through the CLI: a snapshot committed by a
# client under a layer's chain ID (the real layer plus planted files) is
# never reused by import, check reports it, and the proof label that marks
# the unpacker's own layers cannot be set, changed or removed by a client.
. "$(dirname "$0")/lib.sh"

mk_busybox_rootfs "$WORK/base"
mkdir -p "$WORK/top/etc" "$WORK/plant/etc"
echo top >"$WORK/top/etc/top"
echo planted >"$WORK/plant/etc/planted"
mk_tar "$WORK/base" "$WORK/base.tar"
mk_tar "$WORK/top" "$WORK/top.tar"
mk_tar "$WORK/plant" "$WORK/plant.tar"
mk_layout "$WORK/img" "gzip:$WORK/base.tar" "$WORK/top.tar" >/dev/null

diff1=sha256:$(sha256 "$WORK/base.tar")
diff2=sha256:$(sha256 "$WORK/top.tar")
chain1=$diff1
chain2=sha256:$(printf '%s %s' "$chain1" "$diff2" | sha256sum | cut -d' ' -f1)

# ---- the poisoning sequence: the real base layer plus a planted file,
# committed under the base layer's chain ID with the labels an unpack sets.
snapctl snapshot prepare evil >/dev/null 2>"$WORK/err" || {
	grep -qi "driver\|overlay\|not supported" "$WORK/err" && skip "driver $DRIVER unusable here: $(cat "$WORK/err")"
	fail "prepare: $(cat "$WORK/err")"
}
snapctl snapshot apply evil "$WORK/base.tar" >/dev/null
snapctl snapshot apply evil "$WORK/plant.tar" >/dev/null

# The proof label is the unpacker's alone: every way a client could set,
# change or remove it is refused, with exit 1 and a clear reason.
expect_fail "reserved" snapctl snapshot commit --label "snapctl.unpack.diff-id=$diff1" "$chain1" evil
expect_fail "reserved" snapctl snapshot prepare --label "snapctl.unpack.diff-id=$diff1" evil2
expect_fail "reserved" snapctl snapshot label evil "snapctl.unpack.diff-id=$diff1"
expect_fail "reserved" snapctl snapshot label evil "snapctl.unpack.x=1"
snapctl snapshot commit --label snapctl.image.layer=1 --label "snapctl.image.diff-id=$diff1" \
	"$chain1" evil >/dev/null

# check reports the chain-ID snapshot without proof, and cannot repair it.
rc=0
snapctl check >"$WORK/check" 2>&1 || rc=$?
[ $rc = 1 ] || fail "check exited $rc with a proof-less chain-ID snapshot: $(cat "$WORK/check")"
grep -Eq "unproven-layer +$chain1" "$WORK/check" || fail "check does not report $chain1: $(cat "$WORK/check")"
expect_fail "reserved" snapctl snapshot label "$chain1" "snapctl.unpack.diff-id="

# import refuses to reuse it and says what to do; nothing of the image
# is left behind (no image, no new snapshot).
before=$(snapctl snapshot ls | sort)
expect_fail "not made by snapctl's unpacker" snapctl import --name img:t "$WORK/img"
grep -q "snapshot rm $chain1" "$WORK/err" || fail "import does not say how to recover: $(cat "$WORK/err")"
snapctl images | grep -q "img:t" && fail "a failed import left an image"
[ "$(snapctl snapshot ls | sort)" = "$before" ] || fail "a failed import changed the snapshots"

# The planted top: the same with the second layer's chain ID, on the real
# (unpacked) base.
snapctl snapshot rm "$chain1" >/dev/null
LAYOUT1=$WORK/base-only
mk_layout "$LAYOUT1" "gzip:$WORK/base.tar" >/dev/null
snapctl import --name img:base "$LAYOUT1" >/dev/null
snapctl snapshot prepare evil "$chain1" >/dev/null
snapctl snapshot apply evil "$WORK/top.tar" >/dev/null
snapctl snapshot apply evil "$WORK/plant.tar" >/dev/null
snapctl snapshot commit "$chain2" evil >/dev/null
expect_fail "not made by snapctl's unpacker" snapctl import --name img:t "$WORK/img"

# Removed, the import unpacks the layer itself; what it reuses (the base
# it made) and what it makes carry the proof, and the planted file is in
# no tree of the image.
snapctl snapshot rm "$chain2" >/dev/null
out=$(snapctl import --json --name img:t "$WORK/img")
echo "$out" | grep -q '"new_layers": *1' || fail "import did not reuse its own base layer: $out"
for c in "$chain1" "$chain2"; do
	snapctl snapshot info "$c" | grep -q '"snapctl.unpack.diff-id"' || fail "$c has no proof label"
done
snapctl check >/dev/null || fail "check finds something after a clean import: $(snapctl check 2>&1)"
snapctl snapshot view look "$chain2" >/dev/null
mkdir -p "$WORK/mnt"
snapctl snapshot mount look "$WORK/mnt"
[ -e "$WORK/mnt/etc/top" ] || fail "the image's own file is missing from its tree"
[ -e "$WORK/mnt/etc/planted" ] && fail "the planted file is in the image's tree"
umount "$WORK/mnt"
snapctl snapshot rm look >/dev/null
if snapctl run --rm img:t /bin/ls /etc >"$WORK/run" 2>"$WORK/run.err"; then
	grep -q planted "$WORK/run" && fail "run shows the planted file"
	grep -q top "$WORK/run" || fail "run does not show the image's file: $(cat "$WORK/run")"
else
	echo "run not possible here ($(head -c 200 "$WORK/run.err")): checked through a mounted view only"
fi
# A re-import shares both proven layers.
out=$(snapctl import --json --name img:t2 "$WORK/img")
echo "$out" | grep -q '"new_layers": *0' || fail "re-import unpacked again: $out"
echo "poisoning refused on $DRIVER"
