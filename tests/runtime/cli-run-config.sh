#!/usr/bin/env bash
# A container's run configuration on one driver:
#   cli-run-config.sh SNAPCTL DRIVER
# --entrypoint (docker's merge with the image's Entrypoint and Cmd),
# --secret-env (its value reaches the command and is written nowhere),
# commit keeps Env, WorkingDir, User, Entrypoint and Cmd of the container
# over the base image's config with -c on top.
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
echo "ok: run configuration on $driver"
