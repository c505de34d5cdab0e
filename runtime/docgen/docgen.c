/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl-docgen man OUTDIR VERSION NAME...   snapctl.1 and snapctl-NAME.1
 * snapctl-docgen bash FILE | zsh FILE         completion scripts
 *
 * The NAMEs come from meson (it must know a custom target's outputs); a
 * command the tables have and meson does not list, or the reverse, fails
 * the build rather than leaving a command without its page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "docgen.h"

static int write_file(const char *path, void (*fn)(FILE *, const struct cli_spec *, const char *),
		      const struct cli_spec *spec, const char *version)
{
	FILE *f = fopen(path, "we");
	if (!f) {
		fprintf(stderr, "snapctl-docgen: create %s: %s\n", path, strerror(errno));
		return -1;
	}
	fn(f, spec, version);
	if (fclose(f) != 0) {
		fprintf(stderr, "snapctl-docgen: write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int gen_man(const char *dir, const char *version, int n, char **names)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/snapctl.1", dir);
	if (write_file(path, docgen_man, &cli_spec_snapctl, version) < 0)
		return 1;
	size_t listed = 0;
	for (const struct cli_spec *const *c = cli_spec_snapctl.subcommands; *c; c++)
		listed++;
	if ((size_t)n != listed)
		fprintf(stderr, "snapctl-docgen: meson lists %d commands, the tables have %zu\n", n, listed);
	for (const struct cli_spec *const *c = cli_spec_snapctl.subcommands; *c; c++) {
		bool found = false;
		for (int i = 0; i < n; i++)
			found |= strcmp(names[i], (*c)->name) == 0;
		if (!found) {
			fprintf(stderr, "snapctl-docgen: command '%s' is missing from cli_command_names "
					"in runtime/docgen/meson.build\n", (*c)->name);
			return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		const struct cli_spec *spec = cli_spec_find(&cli_spec_snapctl, names[i]);
		if (!spec) {
			fprintf(stderr, "snapctl-docgen: no command '%s' (runtime/docgen/meson.build)\n", names[i]);
			return 1;
		}
		snprintf(path, sizeof(path), "%s/snapctl-%s.1", dir, names[i]);
		if (write_file(path, docgen_man, spec, version) < 0)
			return 1;
	}
	return (size_t)n == listed ? 0 : 1;
}

static void bash_fn(FILE *out, const struct cli_spec *spec, const char *version)
{
	docgen_bash(out);
}

static void zsh_fn(FILE *out, const struct cli_spec *spec, const char *version)
{
	docgen_zsh(out);
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "man") == 0)
		return gen_man(argv[2], argv[3], argc - 4, argv + 4);
	if (argc == 3 && strcmp(argv[1], "bash") == 0)
		return write_file(argv[2], bash_fn, NULL, NULL) < 0;
	if (argc == 3 && strcmp(argv[1], "zsh") == 0)
		return write_file(argv[2], zsh_fn, NULL, NULL) < 0;
	fprintf(stderr, "usage: snapctl-docgen man OUTDIR VERSION NAME... | bash FILE | zsh FILE\n");
	return 2;
}
