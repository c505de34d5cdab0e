/* SPDX-License-Identifier: Apache-2.0 */
#include "run-init-layer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void run_init_layer_key(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "container-%s-init", id);
}

void run_init_layer_stage_key(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "container-%s-init-stage", id);
}

#define KEY_MAX 128

int run_init_layer_make(struct snap_core *core, const char *id, const char *parent,
			const struct snap_container_spec *spec, const char *mnt, bool volatile_,
			struct snap_error *err)
{
	char key[KEY_MAX], stage[KEY_MAX];
	run_init_layer_key(id, key, sizeof(key));
	run_init_layer_stage_key(id, stage, sizeof(stage));
	struct snap_label volatile_label = { "snapctl.volatile", "true" };
	struct snap_labels stage_labels = { .v = &volatile_label, .n = 1 };
	int r = snap_prepare(core, stage, parent, volatile_ ? &stage_labels : NULL, NULL, err);
	if (r < 0)
		return snap_error_prefix(err, "init layer of container %.12s", id);
	r = snap_mount_at(core, stage, mnt, 0, err);
	if (r >= 0) {
		r = snap_container_mountpoints_make(mnt, spec, err);
		struct snap_error uerr = { 0 };
		int u = snap_unmount_at(mnt, &uerr);
		if (r >= 0 && u < 0) {
			*err = uerr;
			r = u;
		}
	}
	if (r >= 0) {
		struct snap_label init_label = { RUN_INIT_LABEL, id };
		struct snap_labels labels = { .v = &init_label, .n = 1 };
		r = snap_commit(core, key, stage, &labels, err);
	}
	if (r < 0) {
		struct snap_error ignored = { 0 };
		snap_remove(core, stage, &ignored);
		return snap_error_prefix(err, "init layer of container %.12s", id);
	}
	return 0;
}

int run_init_layer_remove(struct snap_core *core, const char *id, struct snap_error *err)
{
	char key[KEY_MAX];
	run_init_layer_stage_key(id, key, sizeof(key));
	int r = snap_remove(core, key, err);
	if (r < 0 && r != -ENOENT)
		return r;
	snap_error_clear(err);
	run_init_layer_key(id, key, sizeof(key));
	r = snap_remove(core, key, err);
	if (r < 0 && r != -ENOENT)
		return r;
	snap_error_clear(err);
	return 0;
}

int run_rootfs_setup(struct snap_core *core, const char *id, const char *key, const char *parent,
		     const struct snap_container_spec *spec, const char *rootfs, bool volatile_,
		     const struct snap_labels *extra, struct snap_error *err)
{
	/* A --rm container's writes never outlive it: overlay may then skip
	 * the syncfs at unmount (drivers that know no such label ignore it). */
	struct snap_label v[RUN_ROOTFS_LABELS_MAX + 1];
	struct snap_labels labels = { .v = v, .n = 0 };
	if (volatile_)
		v[labels.n++] = (struct snap_label){ "snapctl.volatile", "true" };
	for (size_t i = 0; extra && i < extra->n && i < RUN_ROOTFS_LABELS_MAX; i++)
		v[labels.n++] = extra->v[i];
	int r = snap_prepare(core, key, parent, labels.n ? &labels : NULL, NULL, err);
	if (r < 0)
		return r;
	r = snap_mount_at(core, key, rootfs, 0, err);
	if (r < 0)
		return r;
	bool missing = false;
	r = snap_container_mountpoints_missing(rootfs, spec, &missing, err);
	if (r < 0 || !missing) {
		if (r < 0)
			snap_unmount_at(rootfs, &(struct snap_error){ 0 });
		return r;
	}

	/* Start over on an init layer; the snapshot is still empty. */
	r = snap_unmount_at(rootfs, err);
	if (r >= 0)
		r = snap_remove(core, key, err);
	if (r >= 0)
		r = run_init_layer_make(core, id, parent, spec, rootfs, volatile_, err);
	if (r < 0)
		return r;
	char init_key[KEY_MAX];
	run_init_layer_key(id, init_key, sizeof(init_key));
	r = snap_prepare(core, key, init_key, labels.n ? &labels : NULL, NULL, err);
	if (r < 0)
		return r;
	return snap_mount_at(core, key, rootfs, 0, err);
}
