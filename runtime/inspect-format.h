/* SPDX-License-Identifier: Apache-2.0 */
/* inspect --format: the part of docker's Go templates scripts use on
 * inspect output, {{.Field.Sub}} and {{json .Field.Sub}}, over a JSON
 * object. */
#ifndef SNAP_INSPECT_FORMAT_H
#define SNAP_INSPECT_FORMAT_H

#include <jansson.h>
#include <stdio.h>

/* Check that `tmpl` uses only the actions above: 0, or -EINVAL with the
 * offending action in `why`. */
int inspect_format_check(const char *tmpl, char *why, size_t len);
/* Write `tmpl` for `obj` and a newline to `out`, as docker does: a missing
 * field prints "<no value>", a string as is, an array as [a b], an object
 * as map[k:v]; {{json ...}} prints compact JSON.  0 or -errno. */
int inspect_format_print(FILE *out, const char *tmpl, const json_t *obj);

#endif
