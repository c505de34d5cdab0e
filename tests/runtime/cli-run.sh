#!/usr/bin/env bash
# snapctl run / ps / diff / commit / rm end to end on one driver:
#   cli-run.sh SNAPCTL DRIVER
# The seed's two stories on a busybox image built here from busybox-static,
# then exit codes, signals, --rm on failure, -e, -w, --hostname, --net none,
# a missing command, and no mount left behind in our namespace.
# Exit 77 (skip) without root, busybox-static or the driver.
set -uo pipefail
snapctl=$1
driver=$2

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (namespaces, mounts)"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q static || busybox=/bin/busybox
[[ -x $busybox ]] || skip "busybox-static is not installed"

work=$(mktemp -d /var/tmp/snapctl-test-run.XXXXXX)
root=$work/root
cleanup() {
	# the btrfs driver's loopback (and anything a failed case left)
	grep -F " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

sc() { "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G "$@"; }

help=$("$snapctl" --help 2>&1)
for c in run ps diff commit rm import-rootfs history export; do
	grep -qE "^  $c " <<<"$help" || skip "snapctl has no '$c' command yet"
done
if ! out=$(sc info 2>&1); then
	skip "driver $driver is not available here: $(echo "$out" | tail -1)"
fi

# ---- a busybox image -------------------------------------------------------
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,sys,dev,usr/share/doc/busybox}
cp "$busybox" "$rootfs/bin/busybox"
for a in $("$busybox" --list); do
	[[ $a == busybox ]] || ln -s busybox "$rootfs/bin/$a"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"
echo "root:x:0:" >"$rootfs/etc/group"
echo "busybox docs" >"$rootfs/usr/share/doc/busybox/README"
# a sibling, so that deleting doc/ is a whiteout of it rather than an
# opaque usr/share/
mkdir -p "$rootfs/usr/share/misc"
echo "magic" >"$rootfs/usr/share/misc/magic"
chmod 1777 "$rootfs/tmp"
sc import-rootfs "$rootfs" busybox:test >/dev/null || fail "import-rootfs"

mounts_before=$(cat /proc/self/mountinfo)
check_no_leak() {
	[[ "$(cat /proc/self/mountinfo)" == "$mounts_before" ]] || {
		diff <(echo "$mounts_before") /proc/self/mountinfo >&2
		fail "mount table changed ($1)"
	}
}
expect() { # expect WANT GOT WHAT
	[[ "$2" == "$1" ]] || fail "$3: want '$1', got '$2'"
}

# ---- seed story 1: write a file, commit -m -a, history, run the new image --
sc run --name story1 busybox:test sh -c 'echo hello > /hello.txt' || fail "story 1 run"
diff1=$(sc diff story1) || fail "story 1 diff"
grep -qx "A /hello.txt" <<<"$diff1" || fail "story 1 diff: $diff1"
sc commit -m "add file" -a "tester" -c 'ENV GREETING=hi' -c 'WORKDIR /srv' story1 busybox:file >/dev/null ||
	fail "story 1 commit"
top=$(sc history busybox:file | sed -n 2p)
[[ $top == *"add file"* ]] || fail "story 1: history's top entry lacks the comment: $top"
sc --json history busybox:file | python3 -c '
import json, sys
top = json.load(sys.stdin)[0]
assert top["comment"] == "add file" and top["author"] == "tester", top
assert top["created_by"] == "sh -c echo hello > /hello.txt", top
' || fail "story 1: history's top entry in JSON"
expect hello "$(sc run --rm busybox:file cat /hello.txt)" "story 1: the new image has the file"
expect "hi /srv" "$(sc run --rm busybox:file sh -c 'echo $GREETING $PWD')" "story 1: commit -c ENV, WORKDIR"
# a CMD given at commit runs when `run` gets no command
sc commit -c 'CMD ["cat", "/hello.txt"]' story1 busybox:cmd >/dev/null || fail "commit -c CMD"
expect hello "$(sc run --rm busybox:cmd)" "commit -c CMD"
check_no_leak "story 1"

# ---- seed story 2: delete a directory, commit, the new image lacks it ------
sc run --name story2 busybox:test rm -rf /usr/share/doc || fail "story 2 run"
diff2=$(sc diff story2) || fail "story 2 diff"
grep -qx "D /usr/share/doc" <<<"$diff2" && grep -qx "C /usr/share" <<<"$diff2" &&
	! grep -q "^A " <<<"$diff2" || fail "story 2 diff: $diff2"
sc commit -m "no docs" story2 busybox:nodoc >/dev/null || fail "story 2 commit"
expect gone "$(sc run --rm busybox:nodoc sh -c 'test -e /usr/share/doc && echo present || echo gone')" \
	"story 2: the new image lacks the directory"
sc export busybox:nodoc "$work/nodoc.oci" || fail "story 2 export"
layer=$(python3 - "$work/nodoc.oci" <<'PY'
import json, sys
d = sys.argv[1]
blob = lambda dg: f"{d}/blobs/{dg.replace(':', '/')}"
index = json.load(open(f"{d}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
print(blob(manifest["layers"][-1]["digest"]))
PY
) || fail "story 2: read the exported manifest"
tar -tf "$layer" | grep -x 'usr/share/.wh.doc' >/dev/null || fail "story 2: the layer has no whiteout: $(tar -tf "$layer")"
check_no_leak "story 2"

# ---- ps and rm ---------------------------------------------------------------
ps=$(sc ps -a)
[[ $ps == *story1* && $ps == *story2* && $ps == *"Exited (0)"* ]] || fail "ps -a: $ps"
[[ $(sc ps | wc -l) -eq 1 ]] || fail "ps lists exited containers: $(sc ps)"
sc rm story1 story2 >/dev/null || fail "rm"
[[ -z $(sc ps -a -q) ]] || fail "rm left containers: $(sc ps -a)"
sc snapshot ls | grep -q '^container-' && fail "rm left snapshots: $(sc snapshot ls)"

# ---- exit codes, signals, --rm on failure -----------------------------------
snapshots_before=$(sc snapshot ls)
sc run --rm busybox:test sh -c 'exit 3'
expect 3 $? "exit code"
sc run --rm busybox:test sh -c 'kill -TERM $$'
expect 143 $? "killed by SIGTERM"
sc run --rm busybox:test sh -c 'kill -KILL $$'
expect 137 $? "killed by SIGKILL"
# a signal to snapctl reaches the command (forwarded through init)
fifo=$work/ready
mkfifo "$fifo"
# (snapctl itself in the background, not a subshell running the sc function)
"$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G \
	run --rm busybox:test sh -c 'echo ready; exec sleep 60' >"$fifo" &
pid=$!
read -r line <"$fifo"
expect ready "$line" "container start"
kill -TERM "$pid"
wait "$pid"
expect 143 $? "SIGTERM forwarded"
sc run --rm busybox:test no-such-command 2>"$work/err"
expect 125 $? "missing command"
grep -q 'executable file not found' "$work/err" || fail "missing command: $(cat "$work/err")"
sc run --rm no-such-image:latest true 2>/dev/null
expect 125 $? "missing image"
[[ -z $(sc ps -a -q) ]] || fail "--rm left containers: $(sc ps -a)"
expect "$snapshots_before" "$(sc snapshot ls)" "--rm left snapshots"
check_no_leak "exit codes"

# ---- -e, -w, --hostname, --net none -----------------------------------------
expect "bar baz" "$(sc run --rm -e FOO='bar baz' busybox:test sh -c 'echo $FOO')" "-e"
expect /srv/work "$(sc run --rm -w /srv/work busybox:test pwd)" "-w"
expect box1 "$(sc run --rm --hostname box1 busybox:test hostname)" "--hostname"
expect lo "$(sc run --rm --net none busybox:test ls /sys/class/net)" "--net none"
check_no_leak "options"

# without --rm a failed start is kept, like docker's "Created"
sc run --name failed busybox:test no-such-command 2>/dev/null
expect 125 $? "missing command (kept)"
sc rm failed >/dev/null || fail "rm of a container that never started"
check_no_leak "end"
echo "ok: run, ps, diff, commit, rm on $driver"
