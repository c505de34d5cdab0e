#!/usr/bin/env bash
# A container's run configuration on one driver:
#   cli-run-config.sh SNAPCTL DRIVER
# --entrypoint (docker's merge with the image's Entrypoint and Cmd),
# --secret-env (its value reaches the command and is written nowhere),
# commit keeps Env, WorkingDir, User, Entrypoint and Cmd of the container
# over the base image's config with -c on top, -v bind mounts (resolved
# inside the rootfs, read-only recursively, nodev, bad specs refused), and
# the init layer: the mount points an image lacks stay out of diff and
# commit.
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

work=$(mktemp -d /var/tmp/snapctl-test-runcfg.XXXXXX)
root=$work/root
bgpid=
cleanup() {
	[[ -n $bgpid ]] && kill -KILL "$bgpid" 2>/dev/null && wait "$bgpid" 2>/dev/null
	grep -F " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

sc() { "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G "$@"; }
expect() { # expect WANT GOT WHAT
	[[ "$2" == "$1" ]] || fail "$3: want '$1', got '$2'"
}
if ! out=$(sc info 2>&1); then
	skip "driver $driver is not available here: $(echo "$out" | tail -1)"
fi

# ---- an image with an Entrypoint and a Cmd ----------------------------------
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,root,src}
cp "$busybox" "$rootfs/bin/busybox"
for a in $("$busybox" --list); do
	[[ $a == busybox ]] || ln -s busybox "$rootfs/bin/$a"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"
echo "root:x:0:" >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp" "$rootfs/src"
# no /proc, /sys, /dev; symlinks that point out of the image and into /proc
mkdir -p "$work/victim"
ln -s "$work/victim" "$rootfs/lnk"
ln -s /proc "$rootfs/p"
sc import-rootfs "$rootfs" bb:plain >/dev/null || fail "import-rootfs"
sc run --name mkep bb:plain true || fail "run for the entrypoint image"
sc commit -c 'ENTRYPOINT ["echo", "ep"]' -c 'CMD ["default", "args"]' -c 'ENV BASE=1' mkep bb:ep >/dev/null ||
	fail "commit of the entrypoint image"
sc rm mkep >/dev/null

# ---- --entrypoint -----------------------------------------------------------
expect "ep default args" "$(sc run --rm bb:ep)" "Entrypoint + Cmd"
expect "ep x y" "$(sc run --rm bb:ep x y)" "Entrypoint + the command's words"
expect "a b" "$(sc run --rm --entrypoint /bin/echo bb:ep a b)" "--entrypoint with arguments"
# docker: --entrypoint drops the image's Cmd
expect "" "$(sc run --rm --entrypoint /bin/echo bb:ep)" "--entrypoint without arguments"
expect "plain" "$(sc run --rm --entrypoint '' bb:ep echo plain)" "--entrypoint '' clears it"
sc run --rm --entrypoint '' bb:ep 2>"$work/err"
expect 125 $? "--entrypoint '' without a command"
grep -q 'no command specified' "$work/err" || fail "--entrypoint '' without a command: $(cat "$work/err")"
expect "ep" "$(sc run --rm --entrypoint=echo bb:ep ep)" "--entrypoint=CMD"

# ---- commit keeps the run configuration -------------------------------------
config_of() { # config_of IMAGE -> the image config's "config" object, sorted JSON
	sc export "$1" "$work/exp-$2" >/dev/null || fail "export $1"
	python3 - "$work/exp-$2" <<'PY'
import json, sys
d = sys.argv[1]
blob = lambda dg: f"{d}/blobs/{dg.replace(':', '/')}"
index = json.load(open(f"{d}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
print(json.dumps(json.load(open(blob(manifest["config"]["digest"])))["config"], sort_keys=True))
PY
}
sc run --name cfg -e A=1 -e BASE=2 -w /src -u 1000 bb:ep sh -c 'echo hi >/src/f' >/dev/null ||
	fail "run -e -w -u"
sc commit cfg bb:cfg >/dev/null || fail "commit cfg"
expect '{"Cmd": ["sh", "-c", "echo hi >/src/f"], "Entrypoint": ["echo", "ep"], "Env": ["BASE=2", "A=1"], "User": "1000", "WorkingDir": "/src"}' \
	"$(config_of bb:cfg cfg)" "commit keeps Env, WorkingDir, User, Entrypoint, Cmd"
expect "1000 /src 2 1" "$(sc run --rm --entrypoint '' bb:cfg sh -c 'echo $(id -u) $PWD $BASE $A')" \
	"the committed image runs with the container's configuration"
# -c applies on top of the container's configuration
sc commit -c 'ENV A=3' -c 'USER 0' -c 'CMD ["x"]' cfg bb:cfg2 >/dev/null || fail "commit -c"
expect '{"Cmd": ["x"], "Entrypoint": ["echo", "ep"], "Env": ["BASE=2", "A=3"], "User": "0", "WorkingDir": "/src"}' \
	"$(config_of bb:cfg2 cfg2)" "commit -c on top of the container's configuration"
# an Entrypoint cleared by run is gone from the committed image
sc run --name noep --entrypoint '' bb:ep true || fail "run --entrypoint ''"
sc commit noep bb:noep >/dev/null || fail "commit noep"
expect '{"Cmd": ["true"], "Env": ["BASE=1"], "User": "", "WorkingDir": ""}' "$(config_of bb:noep noep)" \
	"commit after --entrypoint ''"
sc rm cfg noep >/dev/null || fail "rm"

# ---- --secret-env -----------------------------------------------------------
secret=s3cr3t-$RANDOM-$RANDOM-value
from_env=env-$RANDOM-$RANDOM-value
evalue=plain-$RANDOM-$RANDOM-value
# a container that stays up until we have looked at /proc
fifo=$work/ready
mkfifo "$fifo" "$work/go"
SNAP_TEST_TOKEN=$from_env "$snapctl" -q --root "$root" --driver "$driver" --btrfs-size 1G \
	run -i --name sec --secret-env "SECRET=$secret" --secret-env SNAP_TEST_TOKEN -e "EV=$evalue" bb:plain \
	sh -c 'echo "$SECRET $SNAP_TEST_TOKEN $EV"
	       # (matched by the shell: a grep would carry the values in its argv)
	       seen=$(cat /proc/[0-9]*/cmdline /proc/1/environ 2>/dev/null | tr "\0" " ")
	       case $seen in *"$SECRET"* | *"$SNAP_TEST_TOKEN"*) echo shown ;; *) echo hidden ;; esac
	       read x || :' \
	<"$work/go" >"$fifo" &
bgpid=$!
exec 3>"$work/go"
{ read -r seen; read -r in_proc; } <"$fifo"
expect "$secret $from_env $evalue" "$seen" "--secret-env reaches the command"
expect hidden "$in_proc" "no /proc entry of the container but the command's environ shows a secret"
# snapctl's own command line: the value is overwritten once parsed
cmdline=$(tr '\0' ' ' <"/proc/$bgpid/cmdline")
[[ $cmdline == *"--secret-env SECRET=*"* ]] || fail "not snapctl's command line: $cmdline"
[[ $cmdline == *"$secret"* ]] && fail "the secret is on snapctl's command line: $cmdline"
exec 3>&-
wait "$bgpid"
expect 0 $? "the secret container's exit"
bgpid=
sc commit -m "with secrets" sec bb:sec >/dev/null || fail "commit sec"
sc export bb:sec "$work/sec.oci" >/dev/null || fail "export sec"
sc --json history bb:sec >"$work/history.json" || fail "history"
sc --json ps -a >"$work/ps.json" || fail "ps"
grep -rl -a -e "$secret" -e "$from_env" "$root" "$work/sec.oci" "$work/history.json" "$work/ps.json" &&
	fail "a secret was written (files above)"
# -e values: in the committed image's Env and nowhere else in the content store
hits=$(grep -rl -a -e "$evalue" "$root/content" | wc -l)
expect 1 "$hits" "-e value in the content store (only the committed config)"
grep -q -a -e "$evalue" "$work/history.json" && fail "-e value in the history"
sc rm sec >/dev/null || fail "rm sec"

# ---- the init layer -------------------------------------------------------
mounts_before=$(cat /proc/self/mountinfo)
host=$work/host
mkdir -p "$host/sub"
echo on-host >"$host/file"
sc run --name il -v "$host:/mnt/vol" -v "$host/file:/etc/vfile" bb:plain \
	sh -c 'echo x >/new; test -e /proc/self/status && test -e /dev/null && test -d /sys/class' ||
	fail "run on an image without /proc /sys /dev"
expect "A /new" "$(sc diff il)" "diff of a container whose image lacks its mount points"
id=$(sc ps -a -q --no-trunc) # il is the only container
[[ -n $id ]] || fail "no id for il"
sc snapshot info "container-$id" | grep -q "\"parent\": *\"container-$id-init\"" ||
	fail "il's snapshot is not on its init layer: $(sc snapshot info "container-$id")"
sc commit il bb:il >/dev/null || fail "commit il"
sc export bb:il "$work/il.oci" >/dev/null || fail "export il"
layer=$(python3 - "$work/il.oci" <<'PY'
import json, sys
d = sys.argv[1]
blob = lambda dg: f"{d}/blobs/{dg.replace(':', '/')}"
index = json.load(open(f"{d}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
assert len(manifest["layers"]) == 2, manifest["layers"]
print(blob(manifest["layers"][-1]["digest"]))
PY
) || fail "bb:il has not two layers"
expect "new" "$(tar -tzf "$layer" | sed 's,^\./,,; s,/$,,' | grep -v '^$' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"the committed layer holds the container's change only"
expect 2 "$(sc --json history bb:il | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" \
	"history of the committed image"
expect x "$(sc run --rm bb:il cat /new)" "the committed image runs (on an init layer of its own)"
# gc removes the snapshots of a container whose row is gone (a run killed
# between the two), init layer included
python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute("UPDATE containers SET id = ?2 WHERE id = ?1", (sys.argv[2], "f" * 64)); db.commit()' \
	"$root/metadata.db" "$id" || fail "hide il's row"
sc gc >/dev/null || fail "gc"
sc snapshot ls | grep -q "container-$id" && fail "gc left il's snapshots: $(sc snapshot ls)"
sc rm il >/dev/null || fail "rm il"
sc snapshot ls | grep -q container- && fail "rm left snapshots: $(sc snapshot ls)"
sc check >/dev/null || fail "check after rm: $(sc check 2>&1)"
# an image that has every mount point needs no init layer
mkdir "$work/full"
cp -a "$rootfs/." "$work/full/"
mkdir -p "$work/full"/{proc,sys,dev}
sc import-rootfs "$work/full" bb:full >/dev/null || fail "import bb:full"
sc run --name full bb:full touch /new || fail "run bb:full"
expect "A /new" "$(sc diff full)" "diff on bb:full"
sc snapshot ls | grep -q -- "-init " && fail "an init layer for an image that needs none: $(sc snapshot ls)"
sc rm full >/dev/null

# ---- -v ----------------------------------------------------------------------
mount -t tmpfs -o size=1m tmpfs "$host/sub" || fail "tmpfs on $host/sub"
echo sub >"$host/sub/s"
expect "on-host sub" "$(sc run --rm -v "$host:/data:ro" bb:plain sh -c 'echo $(cat /data/file /data/sub/s)')" "-v :ro reads"
sc run --rm -v "$host:/data:ro" bb:plain sh -c 'touch /data/x' 2>/dev/null && fail "-v :ro is writable"
sc run --rm -v "$host:/data:ro" bb:plain sh -c 'touch /data/sub/x' 2>/dev/null &&
	fail "-v :ro is not read-only below a mount inside it"
sc run --rm -v "$host:/data" bb:plain sh -c 'echo from-ctr >/data/w' || fail "-v rw write"
expect from-ctr "$(cat "$host/w")" "-v write reaches the host"
expect on-host "$(sc run --rm --volume "$host/file:/f:rw" bb:plain cat /f)" "file volume"
# nodev, even where the host's mount allows devices
out=$(sc run --rm -v "$host/sub:/d" bb:plain sh -c 'grep " /d " /proc/self/mountinfo; mknod /d/null c 1 3 && echo 2>/dev/null >/d/null && echo opened')
[[ $out == *nodev* && $out != *opened* ]] || fail "volume is not nodev: $out"
# the target is resolved inside the rootfs: an absolute symlink of the image
# pointing at a host path stays in the image
expect on-host "$(sc run --rm -v "$host:/lnk/m" bb:plain cat /lnk/m/file)" "target through the image's symlink"
expect on-host "$(sc run --rm -v "$host:/lnk" bb:plain cat /lnk/file)" "target an image's dangling symlink"
[[ -z $(ls -A "$work/victim") ]] || fail "a mount point was made outside the rootfs: $(ls -A "$work/victim")"
# bad specs: 125 and a message
bad() { # bad WHAT ARGS...
	local what=$1
	shift
	sc run --rm "$@" bb:plain true 2>"$work/err"
	expect 125 $? "$what"
	[[ -s $work/err ]] || fail "$what: no message"
}
bad "relative host path" -v rel:/x
bad "missing host path" -v "$work/nope:/x"
grep -q "$work/nope" "$work/err" || fail "missing host path not named: $(cat "$work/err")"
bad "relative target" -v "$host:x"
bad "target /" -v "$host:/"
bad "target /proc" -v "$host:/proc/x"
bad "target through a symlink into /proc" -v "$host:/p/x"
bad "unknown option" -v "$host:/x:shared"
bad "no target" -v "$host"
bad "duplicate target" -v "$host:/x" -v "$host/sub:/x/"
umount "$host/sub"
[[ "$(cat /proc/self/mountinfo)" == "$mounts_before" ]] || fail "mount table changed"
[[ -z $(sc ps -a -q) ]] || fail "containers left: $(sc ps -a)"
echo "ok: run configuration on $driver"
