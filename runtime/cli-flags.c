/* SPDX-License-Identifier: Apache-2.0 */
/* Option parsing from a command's table: getopt_long's arrays are built
 * from the flags, --help prints the table's help, and a bad flag or a wrong
 * number of arguments is one message and exit 2. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void build(struct cli_parser *p)
{
	size_t nl = 0, ns = 0;
	/* '+': stop at the first non-option (run IMAGE CMD -x keeps -x for
	 * CMD); ':': a missing value is told apart from an unknown flag. */
	p->shortopts[ns++] = '+';
	p->shortopts[ns++] = ':';
	for (const struct cli_flag *f = p->spec->flags; f && f->name && nl < CLI_MAX_FLAGS; f++) {
		p->longopts[nl++] = (struct option){
			.name = f->name,
			.has_arg = !f->arg ? no_argument : f->flags & CLI_FLAG_OPTARG ? optional_argument
										    : required_argument,
			.val = f->key,
		};
		if (f->short_opt) {
			p->shortopts[ns++] = (char)f->key;
			if (f->arg)
				p->shortopts[ns++] = ':';
			if (f->arg && f->flags & CLI_FLAG_OPTARG)
				p->shortopts[ns++] = ':';
		}
	}
	p->longopts[nl++] = (struct option){ .name = "help", .val = CLI_KEY_HELP };
	p->longopts[nl] = (struct option){ 0 };
	p->shortopts[ns++] = 'h';
	p->shortopts[ns] = '\0';
	p->built = true;
}

static const struct cli_flag *flag_of(const struct cli_spec *spec, int key)
{
	for (const struct cli_flag *f = spec->flags; f && f->name; f++)
		if (f->key == key)
			return f;
	return NULL;
}

int cli_next_flag(struct cli_ctx *ctx, struct cli_parser *p, int argc, char **argv)
{
	if (!p->built) {
		build(p);
		optind = 0; /* argv[0] is the command: a fresh getopt state */
	}
	opterr = 0;
	int c = getopt_long(argc, argv, p->shortopts, p->longopts, NULL);
	switch (c) {
	case -1:
		break;
	case 'h':
	case CLI_KEY_HELP:
		cli_help_print(stdout, p->spec);
		return CLI_FLAGS_HELP;
	case ':': {
		const struct cli_flag *f = flag_of(p->spec, optopt);
		if (f)
			cli_spec_usage_error(ctx, p->spec, "--%s needs a value (%s)", f->name, f->arg);
		else
			cli_spec_usage_error(ctx, p->spec, "option '%s' needs a value", argv[optind - 1]);
		return CLI_FLAGS_USAGE;
	}
	case '?':
		if (optopt && optopt < 0x100 && argv[optind - 1][1] != '-')
			cli_spec_usage_error(ctx, p->spec, "unknown option '-%c'", optopt);
		else
			cli_spec_usage_error(ctx, p->spec, "unknown option '%s'", argv[optind - 1]);
		return CLI_FLAGS_USAGE;
	default:
		return c;
	}
	int n = argc - optind;
	int min = p->spec->min_args, max = p->spec->max_args;
	if (n < min || (max >= 0 && n > max)) {
		const char *args = p->spec->args ? p->spec->args : "";
		if (max == 0)
			cli_spec_usage_error(ctx, p->spec, "unexpected argument '%s'", argv[optind]);
		else if (n > max && max >= 0)
			cli_spec_usage_error(ctx, p->spec, "too many arguments ('%s'): expected %s",
					     argv[optind + max], args);
		else
			cli_spec_usage_error(ctx, p->spec, "expected %s", args);
		return CLI_FLAGS_USAGE;
	}
	return 0;
}

int cli_parse_plain(struct cli_ctx *ctx, const struct cli_spec *spec, int argc, char **argv)
{
	struct cli_parser p = { .spec = spec };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0)
		;
	return c;
}

int cli_spec_usage_error(struct cli_ctx *ctx, const struct cli_spec *spec, const char *fmt, ...)
{
	(void)ctx;
	char path[128] = "";
	if (spec->parent || strcmp(spec->name, "snapctl") != 0)
		cli_spec_path(spec, path, sizeof(path));
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "snapctl%s%s: ", *path ? " " : "", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'snapctl%s%s --help'.\n", *path ? " " : "", path);
	return EXIT_USAGE;
}
