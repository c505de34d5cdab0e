#!/usr/bin/env bash
# Set up everything and run snapctl's main job: on each driver that can run
# here, build a busybox image, run a container in it, change it, commit the
# change with a message, show the history and the diff, then compare the
# drivers on the same snapshot work.  Everything happens under a temporary
# root in a private mount namespace and is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
	echo "scripts/demo.sh: run as root (snapctl mounts filesystems)" >&2
	exit 1
fi
if [[ -z ${SNAPCTL_DEMO_NS:-} ]]; then
	scripts/setup.sh
	[[ -f build/build.ninja ]] || meson setup build >/dev/null
	ninja -C build >/dev/null
	SNAPCTL_DEMO_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

snapctl=$PWD/build/runtime/snapctl
work=$(mktemp -d /var/tmp/snapctl-demo.XXXXXX)
cleanup() {
	# Unmount anything left below the work dir (deepest first), then remove it.
	awk -v w="$work" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

"$PWD/scripts/demo-job.sh" "$snapctl" "$work"
