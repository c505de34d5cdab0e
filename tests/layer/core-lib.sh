# SPDX-License-Identifier: Apache-2.0
# Shared set-up of the core-*.sh tests, sourced with their arguments:
#   . core-lib.sh NAME DRIVER LAYER_TOOL TREECMP
# Sets DRIVER, TOOL, CMP, W (a work dir removed on exit with every mount
# below it and those in M), R (the root) and lt (layer-tool core on R);
# skips (77) without root or when the driver cannot prepare a snapshot.
DRIVER=$2
TOOL=$(realpath "$3")
CMP=$(realpath "$4")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mounts)"; exit 77; }
W=$(mktemp -d "/tmp/layer-$1.XXXXXX")
M=()
cleanup() {
	for m in "${M[@]}"; do umount -l "$m" 2>/dev/null || true; done
	# a btrfs root may hold a loop mount of its own
	for m in $(awk -v w="$W" '$2 ~ "^"w {print $2}' /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
R=$W/root
lt() { "$TOOL" core "$R" "$DRIVER" "$@"; }
if ! out=$(lt prepare probe 2>&1); then
	echo "SKIP: driver $DRIVER unavailable here: $out"; exit 77
fi
lt rm probe
