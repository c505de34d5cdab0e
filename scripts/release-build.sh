#!/usr/bin/env bash
# A packager's builds compile warning-free: `--buildtype=release`, and
# `--buildtype=plain` with the distribution's flags (dpkg-buildflags: -O2,
# _FORTIFY_SOURCE, -fstack-protector-strong, -Werror=format-security).
# Warnings are made errors here (-Dwerror=true) so that a new one fails this
# check; a packager's own build has werror off (meson.build's default).
#   scripts/release-build.sh [BUILDDIR-PREFIX]      (default /var/tmp/snapctl-rel)
# Slow (two full builds): not part of `meson test`; run before a release.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/var/tmp/snapctl-rel}

flags() { # VAR: dpkg-buildflags' value, or Debian's defaults without dpkg-dev
	if command -v dpkg-buildflags >/dev/null; then
		DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get "$1"
	elif [[ $1 == CFLAGS ]]; then
		echo "-g -O2 -ffile-prefix-map=$PWD=. -fstack-protector-strong -Wformat -Werror=format-security"
	elif [[ $1 == CPPFLAGS ]]; then
		echo "-Wdate-time -D_FORTIFY_SOURCE=2"
	else
		echo "-Wl,-z,relro -Wl,-z,now"
	fi
}

rm -rf "$prefix-release" "$prefix-plain"
meson setup "$prefix-release" --buildtype=release -Dwerror=true -Dtests=false >/dev/null
ninja -C "$prefix-release" >/dev/null
echo "release build: ok"
CFLAGS="$(flags CFLAGS) $(flags CPPFLAGS)" LDFLAGS=$(flags LDFLAGS) \
	meson setup "$prefix-plain" --buildtype=plain -Dwerror=true -Dtests=false >/dev/null
ninja -C "$prefix-plain" >/dev/null
echo "plain build with the distribution's flags: ok"
rm -rf "$prefix-release" "$prefix-plain"
