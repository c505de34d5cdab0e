/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd-style filters for snapshot walks (containerd's filters
 * package):
 *
 *   selectors := selector ("," selector)*        all must match
 *   selector  := fieldpath [ operator value ]    no operator: field present
 *   fieldpath := field ("." field)*
 *   field     := quoted | [A-Za-z][A-Za-z0-9_]*
 *   operator  := "==" | "!=" | "~="              ~= is a POSIX extended regex
 *   value     := quoted | [^\s,]+
 *   quoted    := "..." | /.../ | |...|           with \-escapes
 *
 * Several filter strings are ORed.  Fields: name, parent, kind
 * (active|view|committed), labels.<key> (the rest of the path joined by ".").
 */
#ifndef SNAP_FILTER_H
#define SNAP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <snapctl/driver.h>

#include "core.h"

struct snap_filter;

/* Parse; an invalid filter gives -EINVAL naming the filter and the position. */
int snap_filter_parse(const char *const *filters, size_t n, struct snap_filter **ret, struct snap_error *err);
bool snap_filter_match(const struct snap_filter *f, const struct snap_info *info);
void snap_filter_free(struct snap_filter *f);
DEFINE_SNAP_CLEANUP(struct snap_filter, snap_filter_free)

const char *snap_kind_name(int kind);

#endif
