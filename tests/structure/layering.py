#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The include boundaries of docs/core.md, checked on every build.

Every quoted #include of the product code is resolved the way the compiler
does (the including file's directory first, then the source root, core/ and
plugin-api/include/); headers that resolve to nothing are generated ones
(config.h, protobuf-c, the seccomp program) and are skipped.  Each file
belongs to an area, and an area may include only what the table below
allows.  The point is what a reader relies on: drivers see the core's
utilities and two layer headers (the driver-support set), never the
snapshotter or the store; nothing outside core/ sees a core *-internal.h,
the store or the driver-call wrappers; core/ never reaches up into runtime/
or the containerd service.

Usage: layering.py SOURCE_ROOT   (exit 1 and one line per violation)
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
SEARCH = ["", "core", "plugin-api/include"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# What drivers may use of the core besides core/util/.
DRIVER_SUPPORT = {"core/layer/entry-compare.h", "core/layer/layer-names.h", "core/layer/diff-walk.h",
                  "drivers/plugins/plugin-name.h"}
# Core headers only the core includes, besides every *-internal.h.
CORE_PRIVATE = {"core/store.h", "core/snapshot/driver-call.h", "core/snapshot/snapshot-rows.h"}


def area(path):
    parts = path.split("/")
    if parts[0] == "core":
        return "core/util" if parts[1] == "util" else "core"
    if parts[0] == "drivers":
        return "drivers/" + parts[1]
    if parts[0] == "plugin-api":
        if parts[1] == "containerd":
            return "service"
        if parts[1] == "include":
            return "abi"
        return "loader"
    return parts[0]


def core_public(target):
    base = os.path.basename(target)
    return target.startswith("core/") and not base.endswith("-internal.h") and target not in CORE_PRIVATE


def allowed(src, target):
    a, b = area(src), area(target)
    if a == b or b in ("abi", "core/util"):
        return True
    if a.startswith("drivers/"):
        if target in DRIVER_SUPPORT:
            return True
        # plugins build on the in-tree drivers' public headers
        return a == "drivers/plugins" and b.startswith("drivers/") and not target.endswith("-internal.h")
    if a == "core/util":
        return False
    if a == "core":
        return target in ("plugin-api/loader.h",)
    if a == "loader":
        return b.startswith("drivers/") and not target.endswith("-internal.h")
    if a in ("runtime", "service"):
        return core_public(target) or target == "plugin-api/loader.h"
    return True


def resolve(src, name):
    for d in [os.path.dirname(src)] + SEARCH:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(ROOT, p)):
            return p
    return None


def main():
    bad = []
    n = 0
    for top in ("core", "drivers", "plugin-api", "runtime"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                src = os.path.relpath(os.path.join(dirpath, f), ROOT)
                with open(os.path.join(ROOT, src), encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for name in INCLUDE.findall(text):
                    target = resolve(src, name)
                    if target is None:
                        continue
                    n += 1
                    if not allowed(src, target):
                        bad.append(f'{src}: includes "{name}" ({target}): {area(src)} may not use {area(target)}'
                                   + (" private headers" if area(src) != area(target) else ""))
    for line in bad:
        print(line)
    print(f"{n} includes checked, {len(bad)} across a boundary")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
