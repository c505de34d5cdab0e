#!/usr/bin/env bash
# What `meson install` puts in place, into a DESTDIR:
#   cli-install.sh BUILDDIR SNAPCTL
# snapctl and its helpers, a man page for snapctl and every command (and
# every flag of a command in its page), the bash and zsh completion, the
# systemd unit pointing at the installed snapctl and at man pages that are
# installed, and the in-tree driver plugins where snapctl loads plugins from.
set -uo pipefail
builddir=$1
built=$2 # the build's snapctl: the installed one would exec its helpers from the real libexecdir

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

dest=$(mktemp -d /var/tmp/snapctl-test-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
meson install -C "$builddir" --destdir "$dest" --no-rebuild --quiet >/dev/null 2>"$dest.log" ||
	{ cat "$dest.log" >&2; rm -f "$dest.log"; fail "meson install"; }
rm -f "$dest.log"

intro=$(meson introspect "$builddir" --buildoptions) || fail "meson introspect"
opt() { jq -r --arg n "$1" '.[] | select(.name == $n) | .value' <<<"$intro"; }
prefix=$(opt prefix)
under() { [[ $1 == /* ]] && echo "$dest$1" || echo "$dest$prefix/$1"; }
bindir=$(under "$(opt bindir)")
mandir=$(under "$(opt mandir)")/man1
libdir=$(under "$(opt libdir)")

snapctl=$bindir/snapctl
[[ -x $snapctl ]] || fail "no $snapctl"
for h in serve bench; do
	[[ -x $(under "$(opt libexecdir)")/snapctl/snapctl-$h ]] || fail "no snapctl-$h in libexecdir"
done

# a man page per command, each flag of the command in it
pages=0
command -v man >/dev/null || skip "man is not installed"
[[ -f $mandir/snapctl.1 ]] || fail "no $mandir/snapctl.1"
mapfile -t cmds < <("$built" --help | awk '/^Available Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
for c in "" "${cmds[@]}"; do
	page=$mandir/snapctl${c:+-$c}.1
	[[ -f $page ]] || fail "no man page $page"
	text=$(MANWIDTH=200 LC_ALL=C.UTF-8 man --warnings=w -l "$page" 2>"$dest/warn") || fail "man $page"
	[[ ! -s $dest/warn ]] || fail "man $page: $(cat "$dest/warn")"
	# the flags --help lists (global ones for snapctl.1)
	while read -r flag; do
		grep -qF -- "$flag" <<<"$text" || fail "snapctl${c:+-$c}(1) lacks $flag"
	done < <("$built" ${c:+$c} --help | grep -oE '^ {2,6}(-[a-zA-Z], )?--[a-z0-9-]+' | sed 's/^ *//')
	pages=$((pages + 1))
done
grep -q "prepare" <(MANWIDTH=200 man -l "$mandir/snapctl-snapshot.1" 2>/dev/null) ||
	fail "snapctl-snapshot(1) lacks its subcommands"
# every environment variable snapctl reads, and the helper executables
main_page=$(MANWIDTH=200 man -l "$mandir/snapctl.1" 2>/dev/null)
for w in SNAPCTL_ROOT SNAPCTL_DRIVER SNAPCTL_BTRFS_SIZE SNAPCTL_PLUGIN_PATH SNAPCTL_NAMESPACE \
	SNAPCTL_SYNC SNAPCTL_NO_OPENAT2 TMPDIR snapctl-layers snapctl-serve snapctl-bench snapctl-fstest; do
	grep -qF -- "$w" <<<"$main_page" || fail "snapctl(1) does not document $w"
done
grep -qF SNAPCTL_NAMESPACE <(MANWIDTH=200 man -l "$mandir/snapctl-snapshot.1" 2>/dev/null) ||
	fail "snapctl-snapshot(1) does not document SNAPCTL_NAMESPACE"

# completion
bash_comp=$(find "$dest" -path '*bash-completion/completions/snapctl' -type f)
[[ -n $bash_comp ]] || fail "no bash completion installed"
zsh_comp=$(find "$dest" -path '*/site-functions/_snapctl' -type f)
[[ -n $zsh_comp ]] || fail "no zsh completion installed"
complete_words() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _snapctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$bash_comp" "$@"
}
offers() { # WORD COMPLETION-WORDS...: the completion offers WORD
	local want=$1 got
	shift
	got=$(complete_words "$@")
	grep -qx -- "$want" <<<"$got" || fail "bash completion of '$*' lacks $want: $got"
}
for c in "${cmds[@]}"; do
	offers "$c" snapctl ""
done
offers --name snapctl run --n
offers none snapctl run --net ""
offers prepare snapctl snapshot ""
offers --label snapctl snapshot prepare --l
if command -v zsh >/dev/null; then
	zsh -n "$zsh_comp" || fail "zsh completion does not parse"
	grep -q -- "--entrypoint\|--name" "$zsh_comp" || fail "zsh completion lacks run's flags"
else
	echo "zsh is not installed: the zsh completion's syntax is not checked"
fi

# the systemd unit: the installed snapctl, installed man pages
unit=$(find "$dest" -name snapctl.service -type f)
[[ -n $unit ]] || fail "no snapctl.service installed"
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[[ $exec_start == "$prefix/$(opt bindir)/snapctl" || $exec_start == "$(opt bindir)/snapctl" ]] ||
	fail "snapctl.service runs $exec_start, installed is $prefix/$(opt bindir)/snapctl"
[[ -x $dest$exec_start ]] || fail "snapctl.service runs $exec_start, which is not installed"
for doc in $(sed -n 's/^Documentation=//p' "$unit"); do
	[[ $doc == man:* ]] || continue
	name=${doc#man:}
	[[ -f $mandir/${name%(1)}.1 ]] || fail "snapctl.service names $doc, not installed"
done

# the in-tree plugins, where snapctl loads plugins from by default
for p in vfs btrfs overlay; do
	[[ -f $libdir/snapctl/plugins/$p-plugin.so ]] || fail "no $p-plugin.so in $libdir/snapctl/plugins"
done

echo "ok: $pages man pages, completion, unit, plugins"
