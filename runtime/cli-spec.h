/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a command is, as data: its name, arguments, one-line summary,
 * description and flags.  One table per command (runtime/spec/NAME.c) is the
 * single source of the command's option parsing (cli-flags.c), of
 * `snapctl help COMMAND` / `COMMAND --help` (cli-help.c), and, through
 * runtime/docgen at build time, of the man pages and the bash and zsh
 * completion.  Adding a flag is one entry in its command's table plus the
 * `case` that handles it.
 *
 * These files are pure data: no code of the commands, so that every binary
 * (snapctl, snapctl-serve, snapctl-bench) and the generator link them all.
 */
#ifndef SNAP_CLI_SPEC_H
#define SNAP_CLI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum {
	CLI_FLAG_MULTI = 1 << 0,  /* may be given more than once */
	CLI_FLAG_HIDDEN = 1 << 1, /* an alias: parsed, not listed */
	CLI_FLAG_OPTARG = 1 << 2, /* the value is optional and attached: --flag=V */
};

/* What completion offers for a flag's value or a positional argument. */
enum cli_complete {
	CLI_COMPLETE_NONE = 0,
	CLI_COMPLETE_FILE,
	CLI_COMPLETE_DIR,
	CLI_COMPLETE_IMAGE,
	CLI_COMPLETE_CONTAINER,
	CLI_COMPLETE_SNAPSHOT,
	CLI_COMPLETE_COMMAND,
	CLI_COMPLETE_WORDS, /* the space-separated list in .words */
};

struct cli_flag {
	const char *name;  /* long name without "--"; NULL ends a table */
	int key;           /* what the parser returns for it: a char or >= 0x100 */
	bool short_opt;    /* key is also the short option (-e) */
	const char *arg;   /* the value's name ("K=V") when it takes one, else NULL */
	const char *help;  /* one sentence, no final period */
	unsigned flags;    /* CLI_FLAG_* */
	enum cli_complete complete; /* for the value */
	const char *words;          /* CLI_COMPLETE_WORDS */
};

struct cli_spec {
	const char *name;        /* "run"; a subcommand its own word: "prepare" */
	const char *args;        /* positional synopsis: "IMAGE [CMD [ARG...]]" */
	const char *summary;     /* one line, lower case: list of commands, man NAME */
	const char *description; /* paragraphs separated by "\n\n"; may be NULL */
	const char *examples;    /* lines "snapctl ..." separated by "\n"; may be NULL */
	const struct cli_flag *flags;              /* NULL-name terminated; may be NULL */
	const struct cli_spec *const *subcommands; /* NULL-terminated; may be NULL */
	int min_args, max_args;  /* positional arguments; max -1: any number */
	enum cli_complete complete_args; /* what the positional arguments are */
	const struct cli_spec *parent; /* a subcommand's command; NULL at the top */
};

/* snapctl itself: the global options and the top-level commands. */
extern const struct cli_spec cli_spec_snapctl;

/* The subcommand of `parent` named `name`, or NULL. */
const struct cli_spec *cli_spec_find(const struct cli_spec *parent, const char *name);

/* Print help: the summary, description, usage, examples, commands and
 * options of spec, as podman does (runtime/cli-help.c). */
void cli_help_print(FILE *out, const struct cli_spec *spec);
/* "snapshot prepare": the words after "snapctl" that name spec. */
void cli_spec_path(const struct cli_spec *spec, char *buf, size_t len);
/* "-e, --env K=V" as help lists it. */
void cli_flag_synopsis(const struct cli_flag *f, char *buf, size_t len);

#endif
