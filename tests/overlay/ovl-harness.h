/* SPDX-License-Identifier: Apache-2.0 */
/* Test harness for the overlay driver: a temporary ROOT, snapshot refs laid
 * out as the core would (ROOT/snapshots/<id>, empty, 0700), calls straight
 * through the driver table, real mounts. */
#ifndef OVL_HARNESS_H
#define OVL_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <snapctl/driver.h>

#define TH_MAX_SNAPS 1100
#define TH_MAX_LABELS 4

struct th_snap {
	struct snap_ref ref;
	char path[PATH_MAX];
	char key[32];
	struct snap_label labels[TH_MAX_LABELS];
	char label_buf[TH_MAX_LABELS][256];
	int parent; /* index of the parent, -1 for none */
};

struct th {
	char root[PATH_MAX];
	const struct snap_driver *drv;
	void *state;
	struct th_snap *snaps; /* TH_MAX_SNAPS */
	size_t n;
	struct snap_ref *chain; /* scratch for th_chain */
	char mnt[PATH_MAX];     /* ROOT/../mnt-XXXX, a mount point */
	int n_mnt;
};

/* Skip (cmocka) unless root with overlayfs. */
bool th_can_run(const char **why);
/* Returns 0 or -errno; aborts the test on failure of the set-up itself. */
struct th *th_new(void);
/* The same with the root made from a mkdtemp template. */
struct th *th_new_at(const char *tmpl);
void th_free(struct th *t);

/* Make a snapshot (the driver's create), with up to 2 labels "k=v"; returns its index. */
int th_create(struct th *t, int kind, int parent, const char *label1, const char *label2);
int th_commit(struct th *t, int idx);
const struct snap_chain *th_chain(struct th *t, int idx, struct snap_chain *c);
/* Mount snapshot idx on a fresh dir; returns its path (static per th). */
const char *th_mount(struct th *t, int idx, unsigned flags, struct snap_error *err, int *ret);
void th_umount(struct th *t, const char *target);
/* Path of snapshot idx's fs dir, and helpers writing there directly. */
char *th_fs(struct th *t, int idx, const char *rel);
void th_write(const char *dir, const char *rel, const char *content);
char *th_read(const char *dir, const char *rel); /* NULL when missing */
bool th_exists(const char *dir, const char *rel);
bool th_legacy(void); /* the suite runs under the no-fsopen wrapper */

#endif
