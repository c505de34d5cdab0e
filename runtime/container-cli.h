/* SPDX-License-Identifier: Apache-2.0 */
/* What run, ps, diff, commit and rm share: ids and names, the recorded
 * command, liveness of a running container, and removal. */
#ifndef SNAP_CONTAINER_CLI_H
#define SNAP_CONTAINER_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container-store.h"
#include "core.h"

/* 64 random hex digits. */
int container_new_id(char id[SNAP_CONTAINER_ID_LEN + 1]);
/* docker-style "adjective_name" from the id's bytes. */
void container_default_name(const char *id, char *buf, size_t len);
/* The active snapshot key of container `id`. */
void container_snapshot_key(const char *id, char *buf, size_t len);

/* argv as a JSON array (newly allocated) and back as docker shows it
 * (arguments joined by spaces). */
char *container_command_json(char *const *argv);
char *container_command_display(const char *json);

/* Start time of `pid` (/proc/PID/stat field 22) to tell a recycled pid;
 * -ESRCH once it has exited (also as a zombie). */
int container_pid_start(pid_t pid, int64_t *ret);
/* A RUNNING row whose `snapctl run` process (it holds the container: its
 * init dies with it) is still alive. */
bool container_is_running(const struct snap_container_rec *rec);

/* ROOT/containers/<id>: the rootfs mount point's parent. */
char *container_dir(struct snap_core *core, const char *id);

/* Remove the container's snapshot (gone already is fine), its directory
 * and its row, in that order so a crash leaves a row that `rm` can finish. */
int container_remove(struct snap_core *core, const struct snap_container_rec *rec,
		     struct snap_error *err);

#endif
