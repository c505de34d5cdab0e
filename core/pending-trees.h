/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer trees published without a sync (--sync=blob): the rows of
 * pending_trees, what a writer's open does with them, and what the
 * recovery after a reboot reads.  docs/core.md "What is durable when".
 */
#ifndef SNAP_PENDING_TREES_H
#define SNAP_PENDING_TREES_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and its NUL. */
#define SNAP_BOOT_ID_MAX 37

/* Pending rows of the boot that wrote them are synced and dropped by the
 * first writer's open at least this long after they were written: by then
 * the kernel's writeback (dirty_expire_centisecs, 30 s by default) has
 * written the pages, so the syncfs finds little left to do. */
#define SNAP_PENDING_SETTLE_NS (5ull * 60 * 1000000000ull)

/* The kernel's boot id (/proc/sys/kernel/random/boot_id), or
 * SNAPCTL_TEST_BOOT_ID when set (tests fake a reboot with it). */
int snap_boot_id(char buf[SNAP_BOOT_ID_MAX], struct snap_error *err);

/* What a pending row names: the blob the tree was unpacked from and the
 * diff ID it must have. */
struct snap_pending_tree {
	const char *blob_digest;
	const char *diff_id;
};

/* Record snapshot `id` as pending, inside the caller's transaction (the
 * one that publishes the snapshot). */
int snap_pending_insert(struct snap_core *core, int64_t id, const struct snap_pending_tree *p,
			struct snap_error *err);

struct snap_pending_row {
	int64_t id;
	char *key;
	char *ns;
	char *blob_digest;
	char *diff_id;
	int64_t created_ns;
};
struct snap_pending_list {
	struct snap_pending_row *v;
	size_t n;
};
void snap_pending_list_done(struct snap_pending_list *l);

/* The rows written in another boot than the current one, oldest snapshot
 * (lowest id, so parents first) first. */
int snap_pending_other_boot(struct snap_core *core, struct snap_pending_list *ret, struct snap_error *err);

/* Drop the row of snapshot `id` written at created_ns (a row written again
 * meanwhile stays). */
int snap_pending_delete(struct snap_core *core, int64_t id, int64_t created_ns, struct snap_error *err);

/* A writer's open: nothing but one query when there are no rows.  Rows of
 * this boot older than SNAP_PENDING_SETTLE_NS: one syncfs, then dropped.
 * Rows of another boot: the registered recovery runs (under an exclusive
 * lock on ROOT/snapshots, so two writers do not recover at once); without
 * one (an executable without the layer engine) a notice says to run
 * `snapctl check`.  Failures are notices: the open goes on. */
void snap_pending_settle(struct snap_core *core);

/* The recovery (core/image/image-recover.c, with the layer engine), a
 * snap_pending_recover_fn: check the trees left pending by an earlier boot
 * against their diff IDs, apply a damaged one again from its blob, drop
 * the rows of those found or made whole.  One that cannot be made whole
 * keeps its row and is named in a notice (and by check). */
int snap_pending_recover(struct snap_core *core, struct snap_error *err);

#endif
