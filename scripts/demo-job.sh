#!/usr/bin/env bash
# The main job, run by scripts/demo.sh inside a private mount namespace:
#   demo-job.sh SNAPCTL WORKDIR
# For each driver: a snapshot lifecycle (prepare, write, commit, child,
# delete in the child, diff of the trees, remove) and a short report.
set -euo pipefail
snapctl=$1
work=$2

drivers=(overlay btrfs vfs)
declare -A result

lifecycle() {
	local drv=$1 root=$work/$1 mnt=$work/$1-mnt
	local s=$snapctl
	s() { "$snapctl" --root "$root" --driver "$drv" -q "$@"; }
	mkdir -p "$mnt"
	local t0=$(date +%s%N)
	s snapshot prepare base-active >/dev/null
	s snapshot mount base-active "$mnt"
	mkdir -p "$mnt/etc" "$mnt/usr/share/doc/demo"
	echo "hello from $drv" >"$mnt/etc/motd"
	seq 1 1000 >"$mnt/usr/share/doc/demo/numbers"
	s snapshot unmount "$mnt"
	s snapshot commit base base-active
	s snapshot prepare child base >/dev/null
	s snapshot mount child "$mnt"
	rm -rf "$mnt/usr/share/doc"
	echo "changed on $drv" >>"$mnt/etc/motd"
	touch "$mnt/etc/new-file"
	s snapshot unmount "$mnt"
	local listing
	listing=$(s snapshot diff child | tar -tvf - | awk '{print $NF}' | sort | tr '\n' ' ')
	s snapshot commit child-committed child
	s snapshot tree
	s snapshot usage
	s snapshot rm child-committed
	s snapshot rm base
	local t1=$(date +%s%N)
	printf '  %-8s ok   %4d ms   layer: %s\n' "$drv" $(((t1 - t0) / 1000000)) "$listing"
}

echo "== snapshot lifecycle on each driver"
for drv in "${drivers[@]}"; do
	if out=$(lifecycle "$drv" 2>&1); then
		printf '%s\n' "$out"
	else
		printf '  %-8s FAILED or unavailable:\n%s\n' "$drv" "$(printf '%s\n' "$out" | tail -3 | sed 's/^/      /')"
	fi
done
