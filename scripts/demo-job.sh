#!/usr/bin/env bash
# The main job, run by scripts/demo.sh inside a private mount namespace:
#   demo-job.sh SNAPCTL WORKDIR
# On each driver: build a busybox image from Debian's busybox-static, run a
# container that changes files, show `diff`, `commit -m -a` it, show the
# history, run the new image; then a short comparison of the drivers with
# `snapctl bench`.
set -euo pipefail
snapctl=$1
work=$2

drivers=(overlay btrfs vfs)

# A minimal busybox root filesystem: the static binary and its applets.
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,dev,etc,proc,sys,tmp,root,usr/share/doc/busybox}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
	[[ -e $rootfs/bin/$applet ]] || ln -s busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
echo "busybox documentation" >"$rootfs/usr/share/doc/busybox/README"
chmod 1777 "$rootfs/tmp"

ok=()
for drv in "${drivers[@]}"; do
	echo
	echo "=============== driver: $drv ==============="
	s() { "$snapctl" --root "$work/root-$drv" --driver "$drv" --btrfs-size 4G "$@"; }
	if ! s -q import-rootfs "$rootfs" busybox:latest >/dev/null; then
		echo "($drv: cannot run here, skipped)"
		continue
	fi
	echo "\$ snapctl --driver=$drv run --name demo busybox sh -c '...install a tool, delete the docs...'"
	s run --name demo --hostname demo-$drv busybox \
		sh -c 'echo "#!/bin/sh" > /bin/hello; echo "echo hello from \$(hostname)" >> /bin/hello; chmod +x /bin/hello; rm -rf /usr/share/doc; hello'
	echo "\$ snapctl diff demo"
	s diff demo
	echo "\$ snapctl commit -m 'add hello, drop docs' -a 'demo <demo@example.com>' demo busybox:hello"
	s commit -m "add hello, drop docs" -a "demo <demo@example.com>" demo busybox:hello
	echo "\$ snapctl history busybox:hello"
	s history busybox:hello
	echo "\$ snapctl run --rm busybox:hello sh -c 'hello; ls /usr/share'"
	s run --rm --hostname new-$drv busybox:hello sh -c 'hello; ls /usr/share'
	s rm demo
	s images
	s check
	ok+=("$drv")
done

echo
echo "=============== comparison: ${ok[*]} ==============="
if ((${#ok[@]})); then
	list=$(IFS=,; echo "${ok[*]}")
	"$snapctl" -q --btrfs-size 4G bench --drivers "$list" --scale tiny --runs 5 --workdir "$work" \
		--workload snapshot-ops --workload start --workload commit --workload copy-up
fi
