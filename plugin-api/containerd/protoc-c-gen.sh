#!/bin/sh
# Generate the protobuf-c sources of containerd's snapshots.v1 service and of
# every .proto it imports, flattened into OUTDIR.
#
# protoc-c names its outputs after the import paths
# (github.com/containerd/.../mount.pb-c.h) and includes them by those paths,
# while meson wants the outputs of a custom_target in one directory: so the
# files are generated into a staging tree, then copied flat with their
# `#include "dir/x.pb-c.h"` lines reduced to `#include "x.pb-c.h"`.  The
# basenames do not collide.
#
# usage: protoc-c-gen.sh PROTOC_C OUTDIR GOCODE_SRC PROTOBUF_INCLUDE
set -eu

protoc_c=$1
outdir=$2
gocode=$3
pbinc=$4

gogo="$gocode/github.com/gogo/protobuf"
stage="$outdir/protoc-c-stage"
rm -rf "$stage"
mkdir -p "$stage"

# The google/protobuf imports come from libprotobuf-dev, gogo.proto from
# golang-github-gogo-protobuf-dev, the containerd files from
# golang-github-containerd-containerd-dev.  gogo.proto is only imported
# `weak` (options for Go code generation) but protoc-c still includes its
# header, so it is generated too.
"$protoc_c" --c_out="$stage" -I"$gocode" -I"$gogo" -I"$pbinc" \
	github.com/containerd/containerd/api/services/snapshots/v1/snapshots.proto \
	github.com/containerd/containerd/api/types/mount.proto \
	gogoproto/gogo.proto \
	google/protobuf/descriptor.proto \
	google/protobuf/empty.proto \
	google/protobuf/field_mask.proto \
	google/protobuf/timestamp.proto 2>"$stage/protoc-c.log" || {
	cat "$stage/protoc-c.log" >&2
	exit 1
}

find "$stage" -name '*.pb-c.[ch]' | while read -r f; do
	sed -E 's|^#include "([^"]*/)?([^/"]+\.pb-c\.h)"|#include "\2"|' "$f" >"$outdir/$(basename "$f").tmp"
	mv "$outdir/$(basename "$f").tmp" "$outdir/$(basename "$f")"
done
rm -rf "$stage"
