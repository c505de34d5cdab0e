/* SPDX-License-Identifier: Apache-2.0 */
/* Values of the labels the drivers act on, checked before any work. */
#ifndef SNAP_LABEL_VALUES_H
#define SNAP_LABEL_VALUES_H

#include <snapctl/driver.h>

#include "snapshot/labels.h"

/* Check the uid/gidmapping pair and snapctl.size on a prepare or view:
 * 0, or -EINVAL with err naming the label and what is wrong with it. */
int snap_label_values_check(const struct snap_labels *labels, struct snap_error *err);

#endif
