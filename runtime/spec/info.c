/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

const struct cli_spec cli_spec_info = {
	.name = "info",
	.summary = "driver, kernel features, root and counts",
	.description = "Show the root, its driver and that driver's details, the kernel and the features "
		       "probed on it (overlay options, idmapped mounts, openat2, ...), and how many snapshots "
		       "of each kind there are.",
};
