# SPDX-License-Identifier: Apache-2.0
# Helpers for the image tests: a private root per test, hand-made OCI
# layouts (so every field can be made wrong on purpose), and checks.
# Usage: . lib.sh SNAPCTL [DRIVER]

set -euo pipefail

SNAPCTL_BIN=$(realpath "$1")
DRIVER=${2:-vfs}
WORK=$(mktemp -d /tmp/snapctl-images.XXXXXX)
ROOT=$WORK/root

cleanup() {
	local rc=$?
	# Unmount anything a driver left under the work dir, deepest first.
	if [ -d "$WORK" ]; then
		awk -v w="$WORK" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || skip "needs root (snapshots keep file owners)"

snapctl() {
	"$SNAPCTL_BIN" --root "$ROOT" --driver "$DRIVER" "$@"
}

sha256() {
	sha256sum "$1" | cut -d' ' -f1
}

size_of() {
	stat -c %s "$1"
}

# A deterministic layer tar from a directory.
mk_tar() { # DIR OUT
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf "$2" .
}

# A busybox root filesystem from the host's static busybox.
mk_busybox_rootfs() { # DIR
	local bb
	bb=$(command -v busybox) || skip "busybox (busybox-static) is not installed"
	file -L "$bb" 2>/dev/null | grep -q "statically linked" ||
		ldd "$bb" 2>&1 | grep -q "not a dynamic" || skip "busybox is not static"
	mkdir -p "$1/bin" "$1/etc" "$1/tmp"
	cp "$bb" "$1/bin/busybox"
	for a in sh ls cat echo; do ln -sf busybox "$1/bin/$a"; done
	echo "root:x:0:0:root:/root:/bin/sh" >"$1/etc/passwd"
}

# mk_layout DIR [options] LAYER.tar...: an OCI image layout with the
# given layers (plain tars; `gzip:`/`zstd:` prefixes compress them).
#   ARCH=amd64 OS=linux   platform of the config
#   LAYER_MT=...          force every layer's media type
#   REF=tag               org.opencontainers.image.ref.name
#   INDEX_PLATFORM=os/arch  a platform on the index entry
mk_layout() {
	local dir=$1
	shift
	mkdir -p "$dir/blobs/sha256"
	local layers="" diffs="" hist="" l kind src blob mt d
	for l in "$@"; do
		kind=plain src=$l
		case $l in gzip:*) kind=gzip src=${l#gzip:} ;; zstd:*) kind=zstd src=${l#zstd:} ;; esac
		d=$(sha256 "$src")
		case $kind in
		plain) cp "$src" "$dir/blob.tmp"; mt=application/vnd.oci.image.layer.v1.tar ;;
		gzip) gzip -n -c "$src" >"$dir/blob.tmp"; mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
		zstd) zstd -q -c "$src" >"$dir/blob.tmp"; mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
		esac
		mt=${LAYER_MT:-$mt}
		blob=$(sha256 "$dir/blob.tmp")
		mv "$dir/blob.tmp" "$dir/blobs/sha256/$blob"
		layers="$layers${layers:+,}{\"mediaType\":\"$mt\",\"digest\":\"sha256:$blob\",\"size\":$(size_of "$dir/blobs/sha256/$blob")}"
		diffs="$diffs${diffs:+,}\"sha256:$d\""
		hist="$hist${hist:+,}{\"created\":\"2024-01-02T03:04:05Z\",\"created_by\":\"/bin/sh -c #(nop) ADD file:$(basename "$src") in /\"}"
	done
	printf '{"created":"2024-01-02T03:04:05Z","architecture":"%s","os":"%s","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
		"${ARCH:-amd64}" "${OS:-linux}" "$diffs" "$hist" >"$dir/config.tmp"
	local c
	c=$(sha256 "$dir/config.tmp")
	mv "$dir/config.tmp" "$dir/blobs/sha256/$c"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
		"$c" "$(size_of "$dir/blobs/sha256/$c")" "$layers" >"$dir/manifest.tmp"
	local m
	m=$(sha256 "$dir/manifest.tmp")
	mv "$dir/manifest.tmp" "$dir/blobs/sha256/$m"
	local platform="" annot=""
	if [ -n "${INDEX_PLATFORM:-}" ]; then
		platform=",\"platform\":{\"os\":\"${INDEX_PLATFORM%/*}\",\"architecture\":\"${INDEX_PLATFORM#*/}\"}"
	fi
	[ -n "${REF:-}" ] && annot=",\"annotations\":{\"org.opencontainers.image.ref.name\":\"$REF\"}"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s%s%s}]}' \
		"$m" "$(size_of "$dir/blobs/sha256/$m")" "$platform" "$annot" >"$dir/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	# Digests for the caller: manifest, config.
	echo "sha256:$m sha256:$c"
}

# Everything that makes up the store's state, for "unchanged" checks.
store_state() {
	{
		snapctl --json images 2>/dev/null || echo "[]"
		[ -d "$ROOT/content" ] && find "$ROOT/content" -type f | sort
		[ -d "$ROOT/snapshots" ] && find "$ROOT/snapshots" -mindepth 1 -maxdepth 1 | sort
	} | sed 's/"created": "[^"]*"//'
}

# expect_fail PATTERN CMD...: CMD exits 1 and says PATTERN on stderr.
expect_fail() {
	local pattern=$1 rc=0
	shift
	"$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	[ $rc = 1 ] || fail "'$*' exited $rc, expected 1 (stderr: $(cat "$WORK/err"))"
	grep -q -- "$pattern" "$WORK/err" || fail "'$*': stderr lacks '$pattern': $(cat "$WORK/err")"
}
