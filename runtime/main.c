/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl: global options, then one command from runtime/commands.c. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: snapctl [GLOBAL OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Container snapshots on overlayfs, btrfs or plain copies.\n"
		"\n"
		"Global options:\n"
		"  --root DIR          state directory (SNAPCTL_ROOT, default /var/lib/snapctl)\n"
		"  --driver NAME       overlay, btrfs, vfs, a plugin, or auto (SNAPCTL_DRIVER)\n"
		"  --btrfs-size SIZE   size of the loopback btrfs image (SNAPCTL_BTRFS_SIZE, 16G)\n"
		"  --plugin-dir DIR    driver plugins directory (SNAPCTL_PLUGIN_PATH)\n"
		"  --json              machine-readable output\n"
		"  -q, --quiet         less on stderr\n"
		"  -v, --verbose       more on stderr\n"
		"  -h, --help          this help\n"
		"  --version           print the version\n"
		"\n"
		"Commands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(out, "  %-18s %s\n", c->name, c->summary);
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 0x100, OPT_DRIVER, OPT_BTRFS_SIZE, OPT_PLUGIN_DIR, OPT_JSON, OPT_VERSION };
	static const struct option options[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "driver", required_argument, NULL, OPT_DRIVER },
		{ "btrfs-size", required_argument, NULL, OPT_BTRFS_SIZE },
		{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct cli_ctx ctx = {
		.root = env_or("SNAPCTL_ROOT", "/var/lib/snapctl"),
		.driver = env_or("SNAPCTL_DRIVER", "auto"),
		.btrfs_size = env_or("SNAPCTL_BTRFS_SIZE", "16G"),
		.plugin_dir = env_or("SNAPCTL_PLUGIN_PATH", NULL),
		.tty = isatty(STDOUT_FILENO),
		.argv0 = argv[0],
		.argv_all = argv,
	};

	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+qvh", options, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			ctx.root = optarg;
			break;
		case OPT_DRIVER:
			ctx.driver = optarg;
			break;
		case OPT_BTRFS_SIZE:
			ctx.btrfs_size = optarg;
			break;
		case OPT_PLUGIN_DIR:
			ctx.plugin_dir = optarg;
			break;
		case OPT_JSON:
			ctx.json = true;
			break;
		case 'q':
			ctx.verbosity = -1;
			break;
		case 'v':
			ctx.verbosity = 1;
			break;
		case 'h':
			print_help(stdout);
			return EXIT_SUCCESS;
		case OPT_VERSION:
			printf("snapctl %s\n", SNAPCTL_VERSION);
			return EXIT_SUCCESS;
		case '?':
		default:
			if (optopt && optopt < 0x100)
				return cli_usage_error(&ctx, NULL, "unknown option '-%c'", optopt);
			return cli_usage_error(&ctx, NULL, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (ctx.root[0] == '\0')
		return cli_usage_error(&ctx, NULL, "--root must not be empty");

	const char *name = argv[optind];
	for (const struct cli_command *cmd = cli_commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, name) != 0)
			continue;
		/* The command parses its own argv (argv[0] = its name) with a
		 * fresh getopt state. */
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;
		optind = 0;
		opterr = 1;
		int r = cmd->fn(&ctx, sub_argc, sub_argv);
		if (ctx.core)
			snap_core_close(ctx.core);
		fflush(stdout);
		if (ferror(stdout) && r == EXIT_SUCCESS)
			return cli_failf(&ctx, "write to standard output failed");
		return r;
	}
	return cli_usage_error(&ctx, NULL, "unknown command '%s'", name);
}
