/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names the layer engine reserves inside a tree.  A header of its own so
 * the drivers' fast differs can skip them without the layer engine's
 * internals (they link nothing of it).
 */
#ifndef SNAP_LAYER_NAMES_H
#define SNAP_LAYER_NAMES_H

/* Name of the undo directory an apply keeps in the tree root while it runs
 * (".snapctl-apply-<pid>"); the differs skip it and `check` reports it. */
#define SNAP_APPLY_BACKUP_PREFIX ".snapctl-apply-"

#endif
