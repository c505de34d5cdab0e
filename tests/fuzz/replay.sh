#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run a harness built with replay.c over its seed corpus and the inputs of
# crashes once found: every build (gcc, ASan) keeps them passing.
# Usage: replay.sh NAME HARNESS GEN_CORPUS
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the applier sets owners and makes device nodes)"; exit 77; }
W=$(mktemp -d /tmp/snapctl-fuzz-replay.XXXXXX)
trap 'rm -rf "$W"' EXIT
"$(dirname "$0")/seeds.sh" "$1" "$2" "$3" "$W/corpus"
# The harness mounts its scratch tmpfs in a mount namespace of its own.
# Not exec'd: the trap above removes the corpus after it.
"$2" "$W/corpus"
