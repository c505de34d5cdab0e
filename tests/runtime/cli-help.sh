#!/usr/bin/env bash
# help and --help for every command and subcommand, and the usage errors:
#   cli-help.sh SNAPCTL
# `help X` and `X --help` print the same podman-style text on stdout with
# exit 0; every flag line has a description; an unknown flag, a missing
# value or a wrong argument count is one message (and the "See" line) on
# stderr with exit 2.  Needs no root: nothing is opened.
set -uo pipefail
snapctl=$1

fail() { echo "FAIL: $*" >&2; exit 1; }

commands() { # the "Available Commands" of a help text
	awk '/^Available Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

check_help() { # WORDS...: the command path
	local out err rc
	out=$("$snapctl" "$@" --help 2>/tmp/cli-help-err.$$); rc=$?
	err=$(cat /tmp/cli-help-err.$$); rm -f /tmp/cli-help-err.$$
	[[ $rc -eq 0 ]] || fail "snapctl $* --help: exit $rc"
	[[ -z $err ]] || fail "snapctl $* --help wrote to stderr: $err"
	grep -q "^Usage:" <<<"$out" || fail "snapctl $* --help: no Usage"
	grep -q "^  snapctl $*" <<<"$out" || fail "snapctl $* --help: usage does not name the command"
	grep -q "^Options:" <<<"$out" || fail "snapctl $* --help: no Options"
	grep -qE "^  -h, --help +print this help" <<<"$out" || fail "snapctl $* --help: no -h, --help"
	# every option line: a flag, then at least two spaces and a description
	# (on the same line, or the next when the flag is long)
	awk '/^Options:/ { on = 1; next } on && /^ {2,6}-/ {
		if ($0 !~ /^  +(-[a-zA-Z], )?--[a-z0-9-]+[^ ]*( [^ ]+)?(  +[^ ].*)?$/) { print "bad: " $0; exit 1 }
		if ($0 !~ /  +[a-z(]/) { getline nxt; if (nxt !~ /^ {20,}[^ ]/) { print "no description: " $0; exit 1 } }
	}' <<<"$out" || fail "snapctl $* --help: an option without a description"
	[[ "$("$snapctl" help "$@")" == "$out" ]] || fail "snapctl help $* differs from snapctl $* --help"
}

check_usage_error() { # EXPECTED-MESSAGE-PART WORDS...
	local want=$1 out err rc
	shift
	out=$("$snapctl" "$@" 2>/tmp/cli-help-err.$$); rc=$?
	err=$(cat /tmp/cli-help-err.$$); rm -f /tmp/cli-help-err.$$
	[[ $rc -eq 2 ]] || fail "snapctl $*: exit $rc, expected 2"
	[[ -z $out ]] || fail "snapctl $*: wrote to stdout: $out"
	[[ $(wc -l <<<"$err") -eq 2 ]] || fail "snapctl $*: expected one message and the See line, got: $err"
	grep -qF -- "$want" <<<"$err" || fail "snapctl $*: message lacks '$want': $err"
	grep -q "^See 'snapctl.* --help'.$" <<<"$err" || fail "snapctl $*: no See line: $err"
}

top=$("$snapctl" --help) || fail "snapctl --help"
mapfile -t cmds < <(commands <<<"$top")
((${#cmds[@]} >= 15)) || fail "snapctl --help lists ${#cmds[@]} commands"
[[ "$("$snapctl" help)" == "$top" ]] || fail "snapctl help differs from snapctl --help"
n=0
for c in "${cmds[@]}"; do
	check_help "$c"
	n=$((n + 1))
	mapfile -t subs < <("$snapctl" "$c" --help | commands)
	for s in "${subs[@]}"; do
		check_help "$c" "$s"
		n=$((n + 1))
	done
	check_usage_error "unknown option '--no-such-flag'" "$c" --no-such-flag
done
echo "help of $n commands and subcommands"

# the cases the issue names
check_usage_error "unexpected argument 'x'" info x
check_usage_error "unknown option '--bogus'" check --bogus
check_usage_error "unknown option '-Z'" images -Z
check_usage_error "unknown option '--nope'" snapshot diff --nope
check_usage_error "unknown option '--nope'" snapshot apply --nope
check_usage_error "--env needs a value" run -e
check_usage_error "expected IMAGE" run
check_usage_error "expected KEY PARENT" snapshot view k
check_usage_error "unknown command 'frobnicate'" frobnicate
check_usage_error "unknown command 'frob'" snapshot frob
check_usage_error "unknown command 'frob'" help frob
check_usage_error "unknown option '--bogus'" --bogus images
"$snapctl" snapshot diff --help | grep -- "--compress ALGO" >/dev/null || fail "snapshot diff --help lacks --compress"
"$snapctl" run --help | grep -- "-e, --env K=V" >/dev/null || fail "run --help lacks -e, --env"
# the environment variables snapctl reads and its helper executables
for w in SNAPCTL_ROOT SNAPCTL_DRIVER SNAPCTL_BTRFS_SIZE SNAPCTL_PLUGIN_PATH SNAPCTL_NAMESPACE \
	SNAPCTL_SYNC SNAPCTL_NO_OPENAT2 TMPDIR snapctl-layers snapctl-serve snapctl-bench; do
	grep -qF -- "$w" <<<"$("$snapctl" help)" || fail "snapctl help does not document $w"
done
grep -qF SNAPCTL_NAMESPACE <<<"$("$snapctl" help snapshot)" || fail "help snapshot lacks SNAPCTL_NAMESPACE"
# no command: the help on stderr, exit 2
"$snapctl" >/dev/null 2>&1; rc=$?
[[ $rc -eq 2 ]] || fail "snapctl without a command: exit $rc"
echo "ok"
