/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/label-values.h"

#include <stdlib.h>

#include "util/idmap.h"
#include "util/macro.h"
#include "util/size-label.h"

int snap_label_values_check(const struct snap_labels *labels, struct snap_error *err)
{
	if (!labels)
		return 0;
	_cleanup_free_ struct snap_idmap *m = malloc(sizeof(*m));
	if (!m)
		return snap_error_set(err, -ENOMEM, "labels: out of memory");
	int r = snap_idmap_from_labels(labels->v, labels->n, m, err);
	if (r < 0)
		return r;
	const char *size = snap_labels_get(labels, SNAP_LABEL_SIZE);
	uint64_t bytes;
	if (size && snap_size_label_parse(size, &bytes) < 0)
		return snap_error_set(err, -EINVAL, "label %s=%s: expected a size in bytes (1 to 2^63-1, decimal)",
				      SNAP_LABEL_SIZE, size);
	return 0;
}
