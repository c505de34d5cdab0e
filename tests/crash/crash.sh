#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Seeded SIGKILL crash test of the CLI (design invariant 6): each trial
# starts an operation, kills its whole process group with SIGKILL at a
# random instant within the operation's measured duration, then runs
# `check --repair` and `gc`, and asserts that the root is in exactly the
# state before the operation or exactly the state an uninterrupted run
# leaves; when it is the former, the operation runs again and must then
# leave the latter.  The state compared is the fingerprint below: every
# snapshot (key, parent, kind, labels) with the hash of its tree (its
# canonical diff against its parent, byte-identical across drivers), the
# images (tags, layers, sizes; not their creation time), the content
# store, the containers, and a clean `check`.
#
#   crash.sh SNAPCTL DRIVER [OP...]      OP: import apply commit snapcommit rm
#                                        (default: see below)
#
#   SNAPCTL_CRASH_TRIALS   trials per operation (default 1: the CI run)
#   SNAPCTL_CRASH_DIRS     directories of 150 files in the base layer (default 3)
#   SNAPCTL_CRASH_SEED     first seed (default: from the clock); trial i
#                          of the run uses seed+i, printed on failure, and
#                          SNAPCTL_CRASH_SEED=S SNAPCTL_CRASH_TRIALS=1
#                          replays that trial's kill instant
#
# Exit 77 (skip) with the reason when the driver or root is unavailable.
set -euo pipefail

SNAPCTL_BIN=$(realpath "$1")
DRIVER=$2
shift 2
TRIALS=${SNAPCTL_CRASH_TRIALS:-1}
SEED=${SNAPCTL_CRASH_SEED:-$(( $(date +%s%N) % 1000000 ))}
ALL_OPS="import apply commit snapcommit rm"
if [ $# -gt 0 ]; then
	OPS=$*
elif [ -n "${SNAPCTL_CRASH_TRIALS:-}" ]; then
	OPS=$ALL_OPS
else
	# The CI run (a minute or so per driver): apply, whose rollback is
	# the subtle part, and one other operation picked by the seed, so
	# that successive runs cover them all; SNAPCTL_CRASH_TRIALS=N runs
	# every operation N times.
	others=(import commit snapcommit rm)
	OPS="apply ${others[$((SEED % 4))]}"
fi

WORK=$(mktemp -d /tmp/snapctl-crash.XXXXXX)
ROOT=$WORK/root
cleanup() {
	local rc=$?
	if [ -d "$WORK" ]; then
		awk -v w="$WORK" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (snapshots keep file owners, drivers mount)"

snapctl() { "$SNAPCTL_BIN" --root "$ROOT" --driver "$DRIVER" "$@"; }
TRIAL_DESC=""
fail() {
	echo "FAIL [$DRIVER $TRIAL_DESC]: $*" >&2
	echo "replay: SNAPCTL_CRASH_SEED=${CUR_SEED:-$SEED} SNAPCTL_CRASH_TRIALS=1 SNAPCTL_CRASH_DIRS=${SNAPCTL_CRASH_DIRS:-3} $0 $SNAPCTL_BIN $DRIVER ${CUR_OP:-}" >&2
	exit 1
}

# ---- inputs: a base layer big enough that a kill lands inside its apply
# (thousands of entries), and a second layer that replaces, deletes (plain
# and opaque whiteouts) and adds, so an apply has something to undo.
mk_tar() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf "$2" .; }
mkdir -p "$WORK/base/bin" "$WORK/base/etc" "$WORK/base/opq/keep"
bb=$(command -v busybox || true)
if [ -n "$bb" ]; then
	cp "$bb" "$WORK/base/bin/busybox"
	for a in sh ls cat echo mkdir touch; do ln -sf busybox "$WORK/base/bin/$a"; done
fi
echo "root:x:0:0:root:/root:/bin/sh" >"$WORK/base/etc/passwd"
for d in $(seq 1 "${SNAPCTL_CRASH_DIRS:-3}"); do
	mkdir -p "$WORK/base/d$d"
	for f in $(seq 1 150); do echo "base $d $f" >"$WORK/base/d$d/f$f"; done
done
echo old >"$WORK/base/opq/keep/file"
mk_tar "$WORK/base" "$WORK/base.tar"
mkdir -p "$WORK/top/etc" "$WORK/top/d1" "$WORK/top/opq"
echo replaced >"$WORK/top/etc/passwd"
for d in $(seq 2 6); do : >"$WORK/top/.wh.d$d"; done
for f in $(seq 1 75); do : >"$WORK/top/d1/.wh.f$f"; done
: >"$WORK/top/opq/.wh..wh..opq"
echo new >"$WORK/top/opq/new"
for d in $(seq 30 40); do
	mkdir -p "$WORK/top/d$d"
	for f in $(seq 1 100); do echo "top $d $f" >"$WORK/top/d$d/f$f"; done
done
mk_tar "$WORK/top" "$WORK/top.tar"

sha() { sha256sum "$1" | cut -d' ' -f1; }
mk_layout() { # DIR LAYER.tar...  (gzip-compressed layers)
	local dir=$1 layers="" diffs="" l blob
	shift
	mkdir -p "$dir/blobs/sha256"
	for l in "$@"; do
		gzip -n -c "$l" >"$dir/blob.tmp"
		blob=$(sha "$dir/blob.tmp")
		mv "$dir/blob.tmp" "$dir/blobs/sha256/$blob"
		layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$blob\",\"size\":$(stat -c %s "$dir/blobs/sha256/$blob")}"
		diffs="$diffs${diffs:+,}\"sha256:$(sha "$l")\""
	done
	printf '{"created":"2024-01-02T03:04:05Z","architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$diffs" >"$dir/c"
	local c m
	c=$(sha "$dir/c") && mv "$dir/c" "$dir/blobs/sha256/$c"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
		"$c" "$(stat -c %s "$dir/blobs/sha256/$c")" "$layers" >"$dir/m"
	m=$(sha "$dir/m") && mv "$dir/m" "$dir/blobs/sha256/$m"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
		"$m" "$(stat -c %s "$dir/blobs/sha256/$m")" >"$dir/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
}
mk_layout "$WORK/img" "$WORK/base.tar" "$WORK/top.tar"
mk_layout "$WORK/baseimg" "$WORK/base.tar"
BASE_CHAIN=sha256:$(sha "$WORK/base.tar")

snapctl import --name crash:base "$WORK/baseimg" >/dev/null 2>"$WORK/err" || {
	grep -qi "driver\|overlay\|btrfs\|not supported\|loop" "$WORK/err" &&
		skip "driver $DRIVER unusable here: $(head -c 300 "$WORK/err")"
	echo "import: $(cat "$WORK/err")" >&2
	exit 1
}

# ---- the fingerprint of a root
fingerprint() {
	local key
	snapctl check >/dev/null 2>&1 || echo "CHECK NOT CLEAN: $(snapctl check 2>&1 | head -5)"
	snapctl snapshot ls | tail -n +2 | sort
	for key in $(snapctl snapshot ls | tail -n +2 | awk '{print $1}' | sort); do
		snapctl snapshot info "$key" | grep -v '"created"\|"updated"'
		echo "tree $key $(snapctl snapshot diff "$key" | sha256sum | cut -d' ' -f1)"
	done
	# An image's ID and config blob hold its creation time (a commit
	# made again differs there): names, layers and sizes, and the number
	# of blobs, not their digests.
	snapctl --json images | sed -E 's/"(id|created)": *"[^"]*"//g'
	snapctl ps -a | tail -n +2 | awk '{print $1, $2}'
	echo "blobs $(find "$ROOT/content" -type f | wc -l)"
}

# ---- the operations: prep makes the state before, run is the operation
# (a process group of its own), reset returns to the state before prep.
op_prep() {
	case $1 in
	import) ;;
	apply) snapctl snapshot prepare app "$BASE_CHAIN" >/dev/null ;;
	commit)
		# One container for every trial: its changes (hence the
		# layer a commit makes) are the same each time.
		[ -n "$bb" ] || return 2
		snapctl ps -a | grep -q ' ctr$' && return 0
		snapctl run --name ctr crash:base sh -c \
			'mkdir -p /data && for i in 1 2 3 4 5 6 7 8 9; do echo $i > /data/f$i; done; touch -d @0 /data/* /data /' \
			>/dev/null ;;
	snapcommit)
		snapctl snapshot prepare sc "$BASE_CHAIN" >/dev/null
		snapctl snapshot apply sc "$WORK/top.tar" >/dev/null ;;
	rm)
		snapctl snapshot prepare c1-a "$BASE_CHAIN" >/dev/null
		snapctl snapshot commit c1 c1-a >/dev/null
		snapctl snapshot prepare c2-a c1 >/dev/null
		snapctl snapshot commit c2 c2-a >/dev/null
		snapctl snapshot prepare c3-a c2 >/dev/null
		snapctl snapshot commit c3 c3-a >/dev/null
		snapctl snapshot prepare c4 c3 >/dev/null ;;
	esac
}
op_args() {
	case $1 in
	import) echo "import --name crash:img $WORK/img" ;;
	apply) echo "snapshot apply app $WORK/top.tar" ;;
	commit) echo "commit -m crash ctr crash:committed" ;;
	snapcommit) echo "snapshot commit sc-done sc" ;;
	esac
}
op_run() {
	case $1 in
	rm) for k in c4 c3 c2 c1; do snapctl snapshot rm "$k"; done ;;
	# shellcheck disable=SC2046
	*) snapctl $(op_args "$1") ;;
	esac
}
# After a kill: run the operation again if it did not finish.
op_rerun() {
	case $1 in
	import) op_run import ;; # idempotent: what exists is shared
	apply | commit | snapcommit) [ "$2" = before ] && op_run "$1" ;;
	rm) for k in c4 c3 c2 c1; do
		snapctl snapshot info "$k" >/dev/null 2>&1 && snapctl snapshot rm "$k"
	done ;;
	esac
	return 0
}
op_reset() {
	case $1 in
	import) snapctl rmi crash:img ;;
	apply) snapctl snapshot rm app ;;
	commit) snapctl rmi crash:committed ;;
	snapcommit) snapctl snapshot rm sc-done ;;
	rm) ;;
	esac
}

# Whether $1 is one of the states a part of a chained operation leaves.
is_allowed() {
	local a
	for a in "${allowed[@]}"; do
		[ "$1" = "$a" ] && return 0
	done
	return 1
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

failures=0 total=0
for op in $OPS; do
	CUR_OP=$op
	TRIAL_DESC="$op reference"
	empty=$(fingerprint)
	rc=0
	op_prep "$op" || rc=$?
	[ $rc = 2 ] && { echo "$op: skipped (busybox is not installed: no container to commit)"; continue; }
	before=$(fingerprint)
	[ "$op" = commit ] && empty=$before # the container stays
	# A chained rm is several operations: each may have run, in order.
	allowed=()
	if [ "$op" = rm ]; then
		# The kill instant spans the removals only, not the
		# fingerprints taken between them.
		dur=0
		for k in c4 c3 c2 c1; do
			t0=$(now_ms)
			snapctl snapshot rm "$k" >/dev/null
			dur=$(( dur + $(now_ms) - t0 ))
			[ "$k" = c1 ] || allowed+=("$(fingerprint)")
		done
	else
		t0=$(now_ms)
		op_run "$op" >/dev/null 2>"$WORK/err" || fail "uninterrupted $op failed: $(cat "$WORK/err")"
		dur=$(( $(now_ms) - t0 ))
	fi
	snapctl gc >/dev/null
	after=$(fingerprint)
	[ "$before" != "$after" ] || fail "the operation changed nothing"
	echo "$op on $DRIVER: uninterrupted run ${dur} ms"
	op_reset "$op" >/dev/null 2>&1 || true
	snapctl gc >/dev/null
	n_before=0 n_after=0
	for trial in $(seq 0 $((TRIALS - 1))); do
		CUR_SEED=$((SEED + trial))
		RANDOM=$CUR_SEED
		# Uniform over the operation's duration, a little past it (a
		# kill after it finished must also leave the new state).
		delay=$(( (RANDOM * 32768 + RANDOM) % (dur * 12 / 10 + 5) ))
		TRIAL_DESC="$op seed $CUR_SEED kill at ${delay} ms"
		op_prep "$op"
		[ "$(fingerprint)" = "$before" ] || fail "prep did not give the state before"
		# Its own process group, killed whole.  A single command is
		# exec'd by setsid itself, so this shell reaps it (gc tells a
		# dead unpack's staging snapshot by its pid being gone).
		if [ "$op" = rm ]; then
			setsid bash -c "$(declare -f snapctl op_run); SNAPCTL_BIN=$SNAPCTL_BIN ROOT=$ROOT DRIVER=$DRIVER WORK=$WORK; op_run $op" \
				>/dev/null 2>&1 &
		else
			# shellcheck disable=SC2046
			setsid "$SNAPCTL_BIN" --root "$ROOT" --driver "$DRIVER" $(op_args "$op") >/dev/null 2>&1 &
		fi
		pid=$!
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		kill -KILL -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		snapctl check --repair >"$WORK/repair" 2>&1 ||
			fail "check --repair left findings: $(cat "$WORK/repair")"
		snapctl gc >/dev/null 2>"$WORK/err" || fail "gc after the crash: $(cat "$WORK/err")"
		state=$(fingerprint)
		if [ "$state" = "$before" ]; then
			which=before n_before=$((n_before + 1))
		elif [ "$state" = "$after" ]; then
			which=after n_after=$((n_after + 1))
		elif is_allowed "$state"; then
			which=part
		else
			diff <(echo "$before") <(echo "$state") | head -20 >&2 || true
			fail "after the kill and check --repair the root is neither the state before nor after (diff against before above)"
		fi
		op_rerun "$op" "$which" >/dev/null 2>"$WORK/err" || fail "re-run: $(cat "$WORK/err")"
		snapctl gc >/dev/null
		state=$(fingerprint)
		if [ "$state" != "$after" ]; then
			diff <(echo "$after") <(echo "$state") | head -20 >&2 || true
			fail "after the re-run the root differs from an uninterrupted run's (diff above)"
		fi
		op_reset "$op" >/dev/null 2>&1 || true
		snapctl gc >/dev/null
		[ "$(fingerprint)" = "$empty" ] || fail "reset did not restore the root"
		total=$((total + 1))
	done
	[ "$op" = commit ] && snapctl rm ctr >/dev/null
	echo "$op on $DRIVER: $TRIALS trials (seeds $SEED..$((SEED + TRIALS - 1))): $n_before killed before the end, $n_after after; all recovered"
done
# ---- an apply killed surely part-way: the layer comes through a pipe that
# is cut at half the layer, and the kill waits until the journal shows
# steps taken (entries moved aside and created).
case " $OPS " in *" apply "*)
	CUR_OP=apply TRIAL_DESC="apply killed at half the layer"
	snapctl snapshot prepare app "$BASE_CHAIN" >/dev/null
	before=$(fingerprint)
	mkfifo "$WORK/fifo"
	setsid "$SNAPCTL_BIN" --root "$ROOT" --driver "$DRIVER" snapshot apply app - <"$WORK/fifo" >/dev/null 2>&1 &
	pid=$!
	exec 3>"$WORK/fifo"
	head -c $(( $(stat -c %s "$WORK/top.tar") / 2 )) "$WORK/top.tar" >&3
	records=0
	for _ in $(seq 1 300); do
		records=$(cat "$ROOT"/tmp/apply-*/journal 2>/dev/null | wc -l)
		[ "$records" -gt 200 ] && break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	exec 3>&-
	wait "$pid" 2>/dev/null || true
	[ "$records" -gt 200 ] || fail "the apply did not get going ($records journal records)"
	rc=0
	snapctl check >"$WORK/check" 2>&1 || rc=$?
	[ $rc = 1 ] && grep -q "interrupted-apply" "$WORK/check" ||
		fail "check does not report the interrupted apply (exit $rc): $(cat "$WORK/check")"
	snapctl check --repair >"$WORK/repair" 2>&1 || fail "check --repair: $(cat "$WORK/repair")"
	grep -q "played back" "$WORK/repair" || fail "repair did not play the journal back: $(cat "$WORK/repair")"
	[ "$(fingerprint)" = "$before" ] || {
		diff <(echo "$before") <(fingerprint) | head -20 >&2 || true
		fail "after repair the snapshot is not as before the apply (diff above)"
	}
	snapctl snapshot rm app >/dev/null
	echo "apply on $DRIVER killed after $records journal records: rolled back exactly"
	;;
esac
# ---- the same through a symlink the layer makes: `s -> /etc`, a whiteout
# `s/.wh.passwd` and a file `s/added` change etc (through the link), then
# the apply is killed; the replay must give etc back its entries, owner,
# mode and times (the records name etc, not the link).
case " $OPS " in *" apply "*)
	CUR_OP=apply TRIAL_DESC="apply through a symlink, killed"
	snapctl snapshot prepare sym "$BASE_CHAIN" >/dev/null
	tree_dump() {
		mkdir -p "$WORK/mnt"
		snapctl snapshot mount sym "$WORK/mnt" >/dev/null
		(cd "$WORK/mnt" && find . -printf '%p %y %m %U %G %T@ %l\n' | sort)
		snapctl snapshot unmount "$WORK/mnt" >/dev/null
	}
	before=$(fingerprint)
	tree_before=$(tree_dump)
	python3 - "$WORK/sym.tar" <<-'PY'
	import io, os, sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
	    s = tarfile.TarInfo("s"); s.type = tarfile.SYMTYPE; s.linkname = "/etc"
	    t.addfile(s)
	    t.addfile(tarfile.TarInfo("s/.wh.passwd"), io.BytesIO())
	    data = b"added\n"
	    f = tarfile.TarInfo("s/added"); f.size = len(data)
	    t.addfile(f, io.BytesIO(data))
	    big = os.urandom(4 << 20)
	    f = tarfile.TarInfo("zz-big"); f.size = len(big)
	    t.addfile(f, io.BytesIO(big))
	PY
	rm -f "$WORK/fifo"
	mkfifo "$WORK/fifo"
	setsid "$SNAPCTL_BIN" --root "$ROOT" --driver "$DRIVER" snapshot apply sym - <"$WORK/fifo" >/dev/null 2>&1 &
	pid=$!
	exec 3>"$WORK/fifo"
	head -c $(( $(stat -c %s "$WORK/sym.tar") / 2 )) "$WORK/sym.tar" >&3
	# Until the journal shows the big file begun (a "C" record for
	# zz-big: 7a7a2d626967 is its hex), s/added being done.
	for _ in $(seq 1 300); do
		grep -q '^C x7a7a2d626967$' "$ROOT"/tmp/apply-*/journal 2>/dev/null && break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	exec 3>&-
	wait "$pid" 2>/dev/null || true
	grep -q '^C x7a7a2d626967$' "$ROOT"/tmp/apply-*/journal ||
		fail "the apply did not reach zz-big: $(cat "$ROOT"/tmp/apply-*/journal 2>/dev/null | head -c 600)"
	snapctl check --repair >"$WORK/repair" 2>&1 || fail "check --repair: $(cat "$WORK/repair")"
	grep -q "played back" "$WORK/repair" || fail "repair did not play the journal back: $(cat "$WORK/repair")"
	tree_after=$(tree_dump)
	[ "$tree_after" = "$tree_before" ] || {
		diff <(echo "$tree_before") <(echo "$tree_after") | head -20 >&2 || true
		fail "after repair the tree is not as before the apply (diff above)"
	}
	[ "$(fingerprint)" = "$before" ] || fail "after repair the root is not as before the apply"
	snapctl snapshot rm sym >/dev/null
	echo "apply through a symlink on $DRIVER killed in zz-big: rolled back exactly"
	;;
esac
echo "crash $DRIVER: $total trials passed (seed $SEED)"
