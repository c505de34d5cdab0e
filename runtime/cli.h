/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI front end: global options, the command table and output helpers.
 * One file per command (runtime/cmd-*.c), each exporting one cli_cmd_fn that
 * returns the process' exit code (spec/cli.md): 0 success, 1 operation
 * failed, 2 usage error; `run` adds 125 and the container's status.
 * Only runtime/ prints and exits.
 */
#ifndef SNAP_CLI_H
#define SNAP_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <snapctl/driver.h>

#include "core.h"

#define EXIT_USAGE 2
#define EXIT_RUN_FAILED 125

struct cli_ctx {
	const char *root;       /* --root / SNAPCTL_ROOT / /var/lib/snapctl */
	const char *driver;     /* --driver / SNAPCTL_DRIVER / auto */
	const char *btrfs_size; /* --btrfs-size / SNAPCTL_BTRFS_SIZE / 16G */
	const char *plugin_dir; /* --plugin-dir / SNAPCTL_PLUGIN_PATH */
	bool json;              /* --json */
	int verbosity;          /* -1 quiet, 0 normal, 1 verbose */
	bool tty;               /* stdout is a terminal (progress bars) */
	const char *argv0;
	char **argv_all;         /* the whole command line, for cmd_exec_helper */
	struct snap_core *core; /* opened on first cli_core() */
};

typedef int (*cli_cmd_fn)(struct cli_ctx *ctx, int argc, char **argv);

struct cli_command {
	const char *name;
	cli_cmd_fn fn;
	const char *usage;   /* "snapshot prepare [--label K=V]... KEY [PARENT]" */
	const char *summary; /* one line */
};

/* runtime/commands.c: the table, NULL-terminated. */
extern const struct cli_command cli_commands[];

/* Open the root with the global options on first use.  On failure prints
 * the error and returns NULL; the command then returns 1. */
struct snap_core *cli_core(struct cli_ctx *ctx);

/* Print "snapctl: <message>" for err and return 1 (EXIT_FAILURE). */
int cli_fail(struct cli_ctx *ctx, const struct snap_error *err);
/* Print "snapctl: <fmt>" and return 1. */
int cli_failf(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "snapctl <cmd>: <fmt>\nusage: snapctl <usage>" and return 2. */
int cli_usage_error(struct cli_ctx *ctx, const char *cmd_usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Notices/warnings on stderr unless --quiet. */
void cli_notice(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_verbose(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Option parsing for subcommands: getopt_long with a leading '+' (stop at
 * the first non-option, so `run IMAGE CMD -x` keeps -x for CMD) and "-h".
 * Returns the getopt index, or -1 after printing a usage error (the command
 * returns EXIT_USAGE).  Typical use is getopt_long directly; cli_usage_error
 * reports bad flags.
 */

/* Human-readable sizes ("1.5MB" like docker) and times ("3 minutes ago"). */
void cli_format_size(char *buf, size_t len, int64_t bytes);
void cli_format_ago(char *buf, size_t len, int64_t then_ns);
/* RFC 3339 UTC with nanoseconds. */
void cli_format_time(char *buf, size_t len, int64_t ns);

/* A simple column table: add rows of strings, print aligned like docker. */
struct cli_table;
struct cli_table *cli_table_new(size_t ncols, const char *const *headers);
int cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(struct cli_table *t, FILE *out);
void cli_table_free(struct cli_table *t);

/* Progress on stderr, only when stderr is a TTY and not --quiet. */
struct cli_progress;
struct cli_progress *cli_progress_new(struct cli_ctx *ctx, const char *what, uint64_t total);
void cli_progress_update(struct cli_progress *p, uint64_t done);
void cli_progress_done(struct cli_progress *p);

#endif
