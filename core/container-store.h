/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The containers table: what `run` created, for `ps`, `diff`, `commit` and
 * `rm`.  A container is a row plus its active snapshot (key
 * "container-<id>"); the row is written before the snapshot is prepared
 * and removed after the snapshot is, so `check` can tell leftovers apart.
 *
 * Every function returns 0 or a negative errno and fills *err; ret_* are
 * untouched on failure.  Nothing here prints.
 */
#ifndef SNAP_CONTAINER_STORE_H
#define SNAP_CONTAINER_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

#define SNAP_CONTAINER_ID_LEN 64 /* hex digits */
#define SNAP_CONTAINER_SHORT_ID_LEN 12

enum snap_container_state {
	SNAP_CONTAINER_CREATED = 0, /* row and snapshot made, command not started */
	SNAP_CONTAINER_RUNNING = 1, /* pid/pid_start name its init on the host */
	SNAP_CONTAINER_EXITED = 2,  /* exit_code is the command's */
};

struct snap_container_rec {
	char id[SNAP_CONTAINER_ID_LEN + 1];
	char *name;
	char *image;       /* IMAGE as the user named it */
	char *image_id;    /* its config digest */
	char *snapshot;    /* the active snapshot's key */
	char *command;     /* JSON array: the argv that ran */
	char *config;      /* JSON: its run configuration (runtime/run-config.h) as
			    * an OCI config's "config" object; NULL on add: "{}" */
	int64_t created_ns;
	int state;         /* enum snap_container_state */
	int64_t pid;       /* host pid of init while RUNNING */
	int64_t pid_start; /* its start time in clock ticks since boot (pid reuse check) */
	int exit_code;     /* EXITED: 0..255 (128+N for signal N); -1 unknown */
	int64_t finished_ns;
};
void snap_container_rec_done(struct snap_container_rec *rec);

/* Insert a new row (state CREATED).  -EEXIST when the name is taken. */
int snap_container_store_add(struct snap_core *core, const struct snap_container_rec *rec,
			     struct snap_error *err);

/* Find by full ID, name, or unambiguous ID prefix (docker's rules).
 * -ENOENT "no such container", -EINVAL for an ambiguous prefix. */
int snap_container_store_get(struct snap_core *core, const char *ref,
			     struct snap_container_rec *ret, struct snap_error *err);

/* All rows, newest first.  cb returns 0 to go on, >0 to stop, <0 to fail. */
typedef int (*snap_container_rec_fn)(const struct snap_container_rec *rec, void *userdata);
int snap_container_store_walk(struct snap_core *core, snap_container_rec_fn cb, void *userdata,
			      struct snap_error *err);

int snap_container_store_set_running(struct snap_core *core, const char *id, int64_t pid,
				     int64_t pid_start, struct snap_error *err);
int snap_container_store_set_exited(struct snap_core *core, const char *id, int exit_code,
				    struct snap_error *err);
/* Delete the row; -ENOENT when it is not there. */
int snap_container_store_remove(struct snap_core *core, const char *id, struct snap_error *err);

/* The snapshots of container <id>: "container-<id>" (its own), and where
 * its image lacks a mount point its init layer "container-<id>-init"
 * (committed, labelled SNAP_CONTAINER_INIT_LABEL=<id>) with the staging
 * key "container-<id>-init-stage" (runtime/run-init-layer.h). */
#define SNAP_CONTAINER_INIT_LABEL "snapctl.container.init"

/* gc: remove the snapshots of containers that have no row (a run or rm
 * killed between the two: the row is written before the snapshots are
 * made and removed after them, so such snapshots are never used again).
 * *ret_removed (may be NULL) counts them. */
int snap_container_store_gc(struct snap_core *core, uint64_t *ret_removed, struct snap_error *err);

/* Whether some container was created from image `image_id` (rmi checks). */
int snap_container_store_image_in_use(struct snap_core *core, const char *image_id, bool *ret,
				      struct snap_error *err);

#endif
