/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl-docgen: the man pages and the shell completion, generated at
 * build time from the command tables (runtime/spec/). */
#ifndef SNAP_DOCGEN_H
#define SNAP_DOCGEN_H

#include <stdio.h>

#include "cli-spec.h"

/* snapctl(1) (spec is the root) or snapctl-NAME(1), with subcommands as
 * sections of their command's page. */
void docgen_man(FILE *out, const struct cli_spec *spec, const char *version);
void docgen_bash(FILE *out);
void docgen_zsh(FILE *out);

#endif
