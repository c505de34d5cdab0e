/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

static const struct cli_flag flags[] = {
	{ .name = "drivers", .key = 'd', .arg = "LIST", .help = "comma-separated drivers to compare (default overlay,btrfs,vfs)" },
	{ .name = "workload", .key = 'w', .arg = "NAME", .flags = CLI_FLAG_MULTI,
	  .help = "run only this workload (see --list); default all" },
	{ .name = "runs", .key = 'n', .arg = "N", .help = "measured runs per workload (default 5)" },
	{ .name = "warmup", .key = 'W', .arg = "N", .help = "unmeasured runs first (default 1)" },
	{ .name = "scale", .key = 's', .arg = "SCALE", .complete = CLI_COMPLETE_WORDS, .words = "tiny small full",
	  .help = "size of the generated trees: tiny, small (default) or full" },
	{ .name = "seed", .key = 'S', .arg = "N", .help = "seed of the generated trees (default 42)" },
	{ .name = "workdir", .key = 'D', .arg = "DIR", .complete = CLI_COMPLETE_DIR,
	  .help = "where the roots of the drivers are made (default a temporary directory)" },
	{ .name = "fs", .key = 'f', .arg = "TYPE[:SIZE]", .complete = CLI_COMPLETE_WORDS, .words = "ext4 xfs btrfs",
	  .help = "run on a fresh TYPE filesystem (ext4, xfs or btrfs) made for the run on a direct-I/O loop "
		  "device, SIZE sparse (default 30G), in the work directory; gone at the end" },
	{ .name = "json", .key = 'j', .arg = "FILE", .complete = CLI_COMPLETE_FILE, .help = "write the results as JSON to FILE" },
	{ .name = "svg", .key = 'g', .arg = "FILE", .complete = CLI_COMPLETE_FILE, .help = "write a chart as SVG to FILE" },
	{ .name = "png", .key = 'p', .arg = "FILE", .complete = CLI_COMPLETE_FILE, .help = "write a chart as PNG to FILE" },
	{ .name = "peers", .key = 'P', .help = "also measure containerd's and podman's snapshotters where installed" },
	{ .name = "curves", .key = 'C', .arg = "DIR", .complete = CLI_COMPLETE_DIR,
	  .help = "draw one chart per cost curve into DIR (WORKLOAD-METRIC.svg and .png)" },
	{ .name = "list", .key = 'l', .help = "list the workloads and exit" },
	{ .name = "from-json", .key = 'F', .arg = "FILE", .complete = CLI_COMPLETE_FILE,
	  .help = "table and charts of a saved run (--json FILE), nothing measured" },
	{ 0 },
};

const struct cli_spec cli_spec_bench = {
	.name = "bench",
	.summary = "measure and compare the drivers on the same work",
	.description = "Run the same workloads (snapshot churn, unpack, container start, commit, copy-up, "
		       "deep chains, sharing, reads, fio I/O beside the bare backing filesystem, cost curves, "
		       "the shared disk) on each driver and print a table of medians with the load average; "
		       "optionally JSON, charts and one chart per cost curve.",
	.examples = "snapctl bench --drivers overlay,vfs --scale tiny\n"
		    "snapctl bench --json run.json --svg run.svg\n"
		    "snapctl bench --fs ext4 --workload import-dirty --drivers overlay,btrfs\n"
		    "snapctl bench --workload fio --workload curve-depth --curves curves/ --json io.json",
	.flags = flags,
};
