/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl help [COMMAND [SUBCOMMAND]]: what COMMAND --help prints. */
#include "commands.h"
#include "spec/specs.h"

int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_parser p = { .spec = &cli_spec_help };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0)
		;
	if (c < 0)
		return cli_flags_exit(c);
	const struct cli_spec *spec = &cli_spec_snapctl;
	for (int i = optind; i < argc; i++) {
		const struct cli_spec *sub = cli_spec_find(spec, argv[i]);
		if (!sub)
			return cli_spec_usage_error(ctx, spec, "unknown command '%s'", argv[i]);
		spec = sub;
	}
	cli_help_print(stdout, spec);
	return EXIT_SUCCESS;
}
