/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Commands that live in executables of their own, which `snapctl` execs:
 *
 * - snapctl-serve and snapctl-bench pull in gRPC, abseil, protobuf-c, cairo
 *   and fontconfig, 60-odd shared libraries that every `snapctl run` would
 *   otherwise pay to load and relocate at start-up, which measured 10-80 ms
 *   of a ~60 ms budget on a loaded machine.
 * - snapctl-layers runs the commands that read or write layer tars (import,
 *   import-rootfs, export, commit, diff, verify, snapshot diff/apply): the
 *   layer engine needs libarchive, which brings libxml2, libicu, libstdc++,
 *   liblzma, libzstd, libbz2, liblz4 and libnettle, half the start-up cost
 *   of a snapshot operation as a process.  One more exec (~1 ms) is nothing
 *   beside a layer's work.
 */
#include <limits.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "util/macro.h"

/* The helper beside this executable (the build tree, or an install that
 * keeps them together), else the installed libexec directory. */
static char *helper_path(const char *self, const char *name)
{
	char *path = NULL;
	if (self) {
		_cleanup_free_ char *copy = strdup(self);
		if (copy && asprintf(&path, "%s/snapctl-%s", dirname(copy), name) >= 0 &&
		    access(path, X_OK) == 0)
			return path;
		free(path);
		path = NULL;
	}
	if (asprintf(&path, "%s/snapctl-%s", SNAPCTL_LIBEXECDIR, name) < 0)
		return NULL;
	return path;
}

static int exec_helper(struct cli_ctx *ctx, const char *name)
{
	_cleanup_free_ char *self = realpath("/proc/self/exe", NULL);
	_cleanup_free_ char *path = helper_path(self, name);
	if (!path)
		return cli_failf(ctx, "%s: out of memory", name);
	/* The helpers run `snapctl` itself for some work (bench: run,
	 * import-rootfs, export). */
	if (self)
		setenv("SNAPCTL_EXE", self, 1);
	char **args = ctx->argv_all;
	char *saved = args[0];
	args[0] = path;
	execv(path, args);
	args[0] = saved;
	return cli_failf(ctx, "%s: cannot execute %s: %m", name, path);
}

int cmd_exec_helper(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return exec_helper(ctx, argv[0]);
}

int cmd_exec_layers(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return exec_helper(ctx, "layers");
}
