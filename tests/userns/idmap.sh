#!/usr/bin/env bash
# Idmapped snapshots on one driver:  idmap.sh SNAPCTL DRIVER
# A snapshot prepared with containerd's uid/gidmapping labels shows its
# files owned by the mapped host ids, files written through it by a host id
# of the mapping land on disk with the container's id (the layers' ids on
# disk never change: no chown), its diff equals the diff of the same writes
# by root on an unmapped snapshot, the mount list carries containerd 2.x's
# uidmap=/gidmap= options, a mapped view is read-only and mapped, and bad
# label values are refused.  vfs also runs the chown fallback (label
# snapctl.idmap=chown).  Exit 77 without root, the driver or idmapped mounts.
set -uo pipefail
snapctl=$1
driver=$2

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (mounts, user namespaces)"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"

work=$(mktemp -d /var/tmp/snapctl-test-idmap.XXXXXX)
root=$work/root
mnt=$work/mnt
mkdir -p "$mnt"
# the mapped ids must reach the mount point
chmod 0755 "$work"
cleanup() {
	grep -F " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

sc() { "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G "$@"; }
if ! out=$(sc info 2>&1); then
	skip "driver $driver is not available here: $(echo "$out" | tail -1)"
fi
grep -qE '^  idmapped-mounts +yes' <<<"$out" ||
	skip "this kernel cannot idmap mounts: $(grep idmapped-mounts <<<"$out")"

U=containerd.io/snapshot/uidmapping
G=containerd.io/snapshot/gidmapping
MAP=(--label "$U=0:100000:65536" --label "$G=0:200000:65536")

# ---- two layers with varied owners -----------------------------------------
sc snapshot prepare a >/dev/null || fail "prepare a"
sc snapshot mount a "$mnt" || fail "mount a"
mkdir -p "$mnt/etc" "$mnt/home/u" "$mnt/tmp"
echo conf >"$mnt/etc/conf"
echo mine >"$mnt/home/u/file"
chown -R 1000:1000 "$mnt/home/u"
chown 5:6 "$mnt/etc/conf"
echo tool >"$mnt/etc/suid" && chmod 4755 "$mnt/etc/suid"
ln "$mnt/etc/conf" "$mnt/etc/conf.link"
chmod 1777 "$mnt/tmp"
sc snapshot unmount "$mnt" && sc snapshot commit l1 a || fail "commit l1"
sc snapshot prepare b l1 >/dev/null && sc snapshot mount b "$mnt" || fail "prepare b"
echo two >"$mnt/two"
sc snapshot unmount "$mnt" && sc snapshot commit l2 b || fail "commit l2"

ondisk() { find "$root/snapshots" -mindepth 1 -not -path "$root/snapshots/$1/*" -printf '%P %U:%G %m\n' 2>/dev/null | sort; }

# ---- a mapped active snapshot -----------------------------------------------
sc snapshot prepare "${MAP[@]}" c l2 >/dev/null || fail "mapped prepare"
newest() { find "$root/snapshots" -mindepth 1 -maxdepth 1 -name "[0-9]*" -printf "%f\n" | sort -n | tail -1; }
cid=$(newest)
before=$(ondisk "$cid")
list=$(sc snapshot mounts c) || fail "mounts c"
grep -q "uidmap=0:100000:65536" <<<"$list" && grep -q "gidmap=0:200000:65536" <<<"$list" ||
	fail "mount list lacks containerd's uidmap=/gidmap= options: $list"

sc snapshot mount c "$mnt" || fail "mount c"
own() { stat -c '%u:%g' "$mnt/$1"; }
[[ $(own etc/conf) == 100005:200006 ]] || fail "etc/conf shows $(own etc/conf), expected 100005:200006"
[[ $(own home/u/file) == 101000:201000 ]] || fail "home/u/file shows $(own home/u/file)"
[[ $(own two) == 100000:200000 ]] || fail "two shows $(own two)"
[[ $(stat -c %a "$mnt/etc/suid") == 4755 ]] || fail "etc/suid lost its set-uid bit"
# the container's root (host 100000) writes; a host id outside the mapping cannot
setpriv --reuid=100000 --regid=200000 --clear-groups sh -c "
	echo new >'$mnt/new' && mkdir '$mnt/etc/d' && echo more >>'$mnt/two' && rm '$mnt/etc/conf.link'" ||
	fail "the mapped root cannot write through the mapping"
setpriv --reuid=101000 --regid=201000 --clear-groups sh -c "echo u >>'$mnt/home/u/file'" ||
	fail "mapped uid 1000 cannot write its own file"
if setpriv --reuid=300000 --regid=300000 --clear-groups sh -c "echo x >'$mnt/tmp/outside'" 2>/dev/null; then
	fail "a host id outside the mapping could create a file"
fi
sc snapshot unmount "$mnt" || fail "unmount c"
[[ "$(ondisk "$cid")" == "$before" ]] || {
	diff <(echo "$before") <(ondisk "$cid") >&2
	fail "ids on disk outside the snapshot's own tree changed"
}

# the same writes by root on an unmapped snapshot: the same layer
sc snapshot prepare d l2 >/dev/null && sc snapshot mount d "$mnt" || fail "prepare d"
echo new >"$mnt/new" && mkdir "$mnt/etc/d" && echo more >>"$mnt/two" && rm "$mnt/etc/conf.link"
echo u >>"$mnt/home/u/file"
sc snapshot unmount "$mnt"
layer() { sc snapshot diff "$1" | tar -tvf - | awk '{print $1, $2, $3, $6}'; }
lc=$(layer c) && ld=$(layer d) || fail "diff"
[[ "$lc" == "$ld" ]] || { diff <(echo "$ld") <(echo "$lc") >&2; fail "the mapped snapshot's layer differs"; }
grep -q " 0/0 4 new$" <<<"$lc" || fail "new is not 0/0 in the layer: $lc"

# ---- a mapped view: mapped and read-only -------------------------------------
sc snapshot view "${MAP[@]}" v l2 >/dev/null && sc snapshot mount v "$mnt" || fail "mapped view"
[[ $(own etc/conf) == 100005:200006 ]] || fail "view: etc/conf shows $(own etc/conf)"
if setpriv --reuid=100000 --regid=200000 --clear-groups sh -c "echo x >'$mnt/x'" 2>/dev/null; then
	fail "a mapped view is writable"
fi
sc snapshot unmount "$mnt"

# ---- bad values are refused before anything is made -------------------------
for bad in "--label $U=0:100000:65536" "--label $U=0:100000 --label $G=0:1:1" \
	"--label $U=0:100000:0 --label $G=0:1:1" "--label $U=0:1:10,5:100:10 --label $G=0:1:1"; do
	# shellcheck disable=SC2086
	if err=$(sc snapshot prepare $bad bad l2 2>&1); then
		fail "prepare with '$bad' succeeded"
	fi
	grep -q "mapping" <<<"$err" || fail "no reason given for '$bad': $err"
done
sc snapshot info bad >/dev/null 2>&1 && fail "a refused prepare left a snapshot"

# ---- vfs: the chown fallback -------------------------------------------------
if [[ $driver == vfs ]]; then
	layers=$(ondisk none)
	err=$(sc -v snapshot prepare "${MAP[@]}" --label snapctl.idmap=chown e l2 2>&1 >/dev/null) ||
		fail "chown prepare: $err"
	grep -q "chowned .* entries" <<<"$err" || fail "the chown fallback's cost is not reported: $err"
	eid=$(newest)
	[[ $(stat -c '%u:%g' "$root/snapshots/$eid/fs/etc/conf") == 100005:200006 ]] ||
		fail "chown fallback: etc/conf is $(stat -c '%u:%g' "$root/snapshots/$eid/fs/etc/conf")"
	[[ $(stat -c %a "$root/snapshots/$eid/fs/etc/suid") == 4755 ]] || fail "chown fallback lost set-uid"
	grep -q uidmap <<<"$(sc snapshot mounts e)" && fail "a chowned snapshot must not be idmapped again"
	[[ "$(ondisk "$eid" | grep -v "^$eid ")" == "$layers" ]] || fail "the chown fallback touched the layers"
	sc snapshot rm e || fail "rm e"
fi
echo "PASS: idmapped snapshots on $driver"
