/* SPDX-License-Identifier: Apache-2.0 */
#include "specs.h"

const struct cli_spec cli_spec_gc = {
	.name = "gc",
	.summary = "remove unreferenced snapshots, layers and content",
	.description = "Remove the snapshots no image or container refers to, leftovers of interrupted "
		       "operations, and blobs of the content store nothing refers to.",
};
