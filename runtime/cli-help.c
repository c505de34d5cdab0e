/* SPDX-License-Identifier: Apache-2.0 */
/* Help text from the command tables, laid out as podman lays it out. */
#include <ctype.h>
#include <string.h>

#include "cli-spec.h"

void cli_spec_path(const struct cli_spec *spec, char *buf, size_t len)
{
	if (spec->parent) {
		char parent[128];
		cli_spec_path(spec->parent, parent, sizeof(parent));
		snprintf(buf, len, "%s %s", parent, spec->name);
	} else {
		snprintf(buf, len, "%s", spec->name);
	}
}

void cli_flag_synopsis(const struct cli_flag *f, char *buf, size_t len)
{
	/* long names line up under the short ones' "--" */
	int n = f->short_opt ? snprintf(buf, len, "-%c, ", f->key) : snprintf(buf, len, "    ");
	bool optarg = f->flags & CLI_FLAG_OPTARG;
	snprintf(buf + n, len - (size_t)n, "--%s%s%s%s", f->name, !f->arg ? "" : optarg ? "[=" : " ",
		 f->arg ? f->arg : "", f->arg && optarg ? "]" : "");
}

/* Each line of text indented by two spaces. */
static void print_indented(FILE *out, const char *text)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (n)
			fprintf(out, "  %.*s\n", (int)n, p);
		else
			fputc('\n', out);
		p += n;
		if (*p)
			p++;
	}
}

/* The description's paragraphs, wrapped at 78 columns (lines that start
 * with spaces are verbatim: config snippets). */
static void print_wrapped(FILE *out, const char *text)
{
	const int width = 76;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (n == 0 || *p == ' ') {
			fprintf(out, n ? "  %.*s\n" : "\n", (int)n, p);
		} else {
			const char *end = p + n, *q = p;
			while (q < end) {
				const char *cut = q + width < end ? q + width : end;
				if (cut < end) {
					const char *sp = cut;
					while (sp > q && *sp != ' ')
						sp--;
					if (sp > q)
						cut = sp;
				}
				fprintf(out, "  %.*s\n", (int)(cut - q), q);
				q = cut;
				while (q < end && *q == ' ')
					q++;
			}
		}
		p += n;
		if (*p)
			p++;
	}
}

/* text from column `indent` to 79, continuation lines indented as much. */
static void print_hanging(FILE *out, const char *text, int indent)
{
	int room = 79 - indent;
	if (room < 30)
		room = 30;
	const char *q = text, *end = text + strlen(text);
	while (q < end) {
		const char *cut = q + room < end ? q + room : end;
		if (cut < end) {
			const char *sp = cut;
			while (sp > q && *sp != ' ')
				sp--;
			if (sp > q)
				cut = sp;
		}
		fprintf(out, "%.*s\n", (int)(cut - q), q);
		q = cut;
		while (q < end && *q == ' ')
			q++;
		if (q < end)
			fprintf(out, "%*s", indent, "");
	}
}

void cli_help_print(FILE *out, const struct cli_spec *spec)
{
	char path[128];
	cli_spec_path(spec, path, sizeof(path));
	const char *cmd = spec->parent || strcmp(spec->name, "snapctl") != 0 ? path : NULL;

	fprintf(out, "%c%s\n\n", toupper((unsigned char)spec->summary[0]), spec->summary + 1);
	if (spec->description) {
		fprintf(out, "Description:\n");
		print_wrapped(out, spec->description);
		fputc('\n', out);
	}
	fprintf(out, "Usage:\n  snapctl%s%s%s%s%s\n\n", cmd ? " " : "", cmd ? cmd : "",
		spec->flags || !cmd ? " [options]" : "", spec->args ? " " : "", spec->args ? spec->args : "");
	if (spec->examples) {
		fprintf(out, "Examples:\n");
		print_indented(out, spec->examples);
		fputc('\n', out);
	}
	if (spec->subcommands) {
		size_t w = 0;
		for (const struct cli_spec *const *c = spec->subcommands; *c; c++)
			if (strlen((*c)->name) > w)
				w = strlen((*c)->name);
		fprintf(out, "Available Commands:\n");
		for (const struct cli_spec *const *c = spec->subcommands; *c; c++)
			fprintf(out, "  %-*s  %s\n", (int)w, (*c)->name, (*c)->summary);
		fputc('\n', out);
	}
	fprintf(out, "Options:\n");
	char syn[128];
	size_t w = strlen("-h, --help");
	for (const struct cli_flag *f = spec->flags; f && f->name; f++) {
		cli_flag_synopsis(f, syn, sizeof(syn));
		if (!(f->flags & CLI_FLAG_HIDDEN) && strlen(syn) > w)
			w = strlen(syn);
	}
	if (w > 30)
		w = 30;
	for (const struct cli_flag *f = spec->flags; f && f->name; f++) {
		if (f->flags & CLI_FLAG_HIDDEN)
			continue;
		cli_flag_synopsis(f, syn, sizeof(syn));
		if (strlen(syn) > w)
			fprintf(out, "  %s\n  %-*s  ", syn, (int)w, "");
		else
			fprintf(out, "  %-*s  ", (int)w, syn);
		char help[512];
		snprintf(help, sizeof(help), "%s%s", f->help, f->flags & CLI_FLAG_MULTI ? " (repeatable)" : "");
		print_hanging(out, help, (int)w + 4);
	}
	fprintf(out, "  %-*s  %s\n", (int)w, "-h, --help", "print this help and exit");
	if (spec->subcommands)
		fprintf(out, "\nRun 'snapctl %s%sCOMMAND --help' for more about a command.\n", cmd ? cmd : "",
			cmd ? " " : "");
}
