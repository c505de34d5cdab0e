/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl: global options, then one command from runtime/commands.c. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "util/size-parse.h"
#include "spec/specs.h"

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = {
		.root = env_or("SNAPCTL_ROOT", "/var/lib/snapctl"),
		.driver = env_or("SNAPCTL_DRIVER", "auto"),
		.btrfs_size = env_or("SNAPCTL_BTRFS_SIZE", "16G"),
		.plugin_dir = env_or("SNAPCTL_PLUGIN_PATH", NULL),
		.sync = env_or("SNAPCTL_SYNC", "blob"),
		.tty = isatty(STDOUT_FILENO),
		.argv0 = argv[0],
		.argv_all = argv,
	};

	struct cli_parser p = { .spec = &cli_spec_snapctl };
	int c;
	while ((c = cli_next_flag(&ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case GLOBAL_ROOT:
			ctx.root = optarg;
			break;
		case GLOBAL_DRIVER:
			ctx.driver = optarg;
			break;
		case GLOBAL_BTRFS_SIZE:
			ctx.btrfs_size = optarg;
			break;
		case GLOBAL_SYNC:
			ctx.sync = optarg;
			break;
		case GLOBAL_PLUGIN_DIR:
			ctx.plugin_dir = optarg;
			break;
		case GLOBAL_JSON:
			ctx.json = true;
			break;
		case 'q':
			ctx.verbosity = -1;
			break;
		case 'v':
			ctx.verbosity = 1;
			break;
		case GLOBAL_VERSION:
			printf("snapctl %s\n", SNAPCTL_VERSION);
			return EXIT_SUCCESS;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	if (optind >= argc) {
		cli_help_print(stderr, &cli_spec_snapctl);
		return EXIT_USAGE;
	}
	if (ctx.root[0] == '\0')
		return cli_usage_error(&ctx, NULL, "--root must not be empty");
	/* A usage error, found before any command opens (and so makes) a root. */
	uint64_t size;
	if (snap_parse_size(ctx.btrfs_size, &size) < 0)
		return cli_usage_error(&ctx, NULL, "invalid btrfs image size '%s' (expected e.g. 16G, 512M)",
				       ctx.btrfs_size);
	if (strcmp(ctx.sync, "blob") != 0 && strcmp(ctx.sync, "full") != 0 && strcmp(ctx.sync, "none") != 0)
		return cli_usage_error(&ctx, NULL, "--sync must be 'blob', 'full' or 'none', not '%s'", ctx.sync);

	const char *name = argv[optind];
	for (const struct cli_command *cmd = cli_commands; cmd->spec; cmd++) {
		if (strcmp(cmd->spec->name, name) != 0)
			continue;
		/* The command parses its own argv (argv[0] = its name) with a
		 * fresh getopt state. */
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;
		optind = 0;
		int r = cmd->fn(&ctx, sub_argc, sub_argv);
		if (ctx.core)
			snap_core_close(ctx.core);
		fflush(stdout);
		if (ferror(stdout) && r == EXIT_SUCCESS)
			return cli_failf(&ctx, "write to standard output failed");
		return r;
	}
	return cli_spec_usage_error(&ctx, &cli_spec_snapctl, "unknown command '%s'", name);
}
