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
#include <stdlib.h>
#include <getopt.h>
#include <snapctl/driver.h>

#include "cli-spec.h"
#include "core.h"

#define EXIT_USAGE 2
#define EXIT_RUN_FAILED 125

struct cli_ctx {
	const char *root;       /* --root / SNAPCTL_ROOT / /var/lib/snapctl */
	const char *driver;     /* --driver / SNAPCTL_DRIVER / auto */
	const char *btrfs_size; /* --btrfs-size / SNAPCTL_BTRFS_SIZE / 16G */
	const char *plugin_dir; /* --plugin-dir / SNAPCTL_PLUGIN_PATH */
	const char *sync;       /* --sync / SNAPCTL_SYNC / full */
	bool json;              /* --json */
	int verbosity;          /* -1 quiet, 0 normal, 1 verbose */
	bool tty;               /* stdout is a terminal (progress bars) */
	const char *argv0;
	char **argv_all;         /* the whole command line, for cmd_exec_helper */
	struct snap_core *core; /* opened on first cli_core() */
	bool core_query_only;   /* core opened by cli_core_reader() */
	const char *ns;         /* containerd namespace of the `snapshot` commands (SNAPCTL_NAMESPACE); NULL: '' */
};

typedef int (*cli_cmd_fn)(struct cli_ctx *ctx, int argc, char **argv);

/* A command this binary runs: its table (name, flags, help) and code. */
struct cli_command {
	const struct cli_spec *spec;
	cli_cmd_fn fn;
};

/* runtime/commands*.c: the binary's commands, NULL-terminated. */
extern const struct cli_command cli_commands[];

/* Open the root with the global options on first use.  On failure prints
 * the error and returns NULL; the command then returns 1. */
struct snap_core *cli_core(struct cli_ctx *ctx);
/* The same for commands that only read: the root is opened with
 * SNAP_CORE_QUERY_ONLY, so the command writes nothing under it (no
 * metadata checkpoint, no -shm rebuild).  A later cli_core() reopens it
 * for writing. */
struct snap_core *cli_core_reader(struct cli_ctx *ctx);

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
 * Option parsing from a command's table (cli-flags.c):
 *
 *	struct cli_parser p = { .spec = &cli_spec_rm };
 *	int c;
 *	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0)
 *		switch (c) { case 'f': ... }
 *	if (c < 0)
 *		return cli_flags_exit(c);
 *	... argv[optind] is the first positional argument ...
 *
 * cli_next_flag returns the key of the next flag (optarg: its value), 0 once
 * the flags are done and the number of positional arguments is what the
 * table allows, CLI_FLAGS_HELP after printing --help, CLI_FLAGS_USAGE after
 * printing a usage error.  Parsing stops at the first non-option.
 */
#define CLI_MAX_FLAGS 64
#define CLI_KEY_HELP 0x7fff
enum { CLI_FLAGS_HELP = -1, CLI_FLAGS_USAGE = -2 };
struct cli_parser {
	const struct cli_spec *spec;
	bool built;
	struct option longopts[CLI_MAX_FLAGS + 2];
	char shortopts[CLI_MAX_FLAGS * 3 + 4];
};
int cli_next_flag(struct cli_ctx *ctx, struct cli_parser *p, int argc, char **argv);
static inline int cli_flags_exit(int c)
{
	return c == CLI_FLAGS_HELP ? EXIT_SUCCESS : EXIT_USAGE;
}
/* --help and the argument count of a command without flags of its own
 * (whatever flags its table has are accepted and ignored): 0 or CLI_FLAGS_*. */
int cli_parse_plain(struct cli_ctx *ctx, const struct cli_spec *spec, int argc, char **argv);
/* "snapctl <command>: <fmt>\nSee 'snapctl <command> --help'." on stderr;
 * returns EXIT_USAGE. */
int cli_spec_usage_error(struct cli_ctx *ctx, const struct cli_spec *spec, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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
