/* SPDX-License-Identifier: Apache-2.0 */
#include "container-cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "container-cgroup.h"
#include "run-init-layer.h"
#include "util/fs-util.h"
#include "util/macro.h"

int container_new_id(char id[SNAP_CONTAINER_ID_LEN + 1])
{
	unsigned char raw[SNAP_CONTAINER_ID_LEN / 2];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno != EINTR)
			return negative_errno();
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

void container_default_name(const char *id, char *buf, size_t len)
{
	static const char *const adjectives[] = {
		"brave", "calm", "eager", "fervent", "gifted", "happy", "jolly", "keen",
		"lucid", "mystic", "nifty", "quirky", "serene", "tender", "upbeat", "zealous",
	};
	static const char *const names[] = {
		"babbage", "curie", "dijkstra", "euler", "feynman", "gauss", "hopper", "kepler",
		"lovelace", "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wozniak",
	};
	unsigned a = (unsigned)strtoul((char[]){ id[0], id[1], 0 }, NULL, 16);
	unsigned b = (unsigned)strtoul((char[]){ id[2], id[3], 0 }, NULL, 16);
	/* the id's next digits keep two containers of one pair apart */
	snprintf(buf, len, "%s_%s_%.4s", adjectives[a % ELEMENTSOF(adjectives)],
		 names[b % ELEMENTSOF(names)], id + 4);
}

void container_snapshot_key(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "container-%s", id);
}

char *container_command_json(char *const *argv)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	for (char *const *p = argv; p && *p; p++)
		if (json_array_append_new(a, json_string(*p)) < 0) {
			json_decref(a);
			return NULL;
		}
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

char *container_command_display(const char *json)
{
	json_t *a = json_loads(json ? json : "[]", 0, NULL);
	size_t len = 1;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		len += strlen(json_string_value(v) ? json_string_value(v) : "") + 1;
	char *out = calloc(1, len);
	if (out)
		json_array_foreach(a, i, v) {
			if (i)
				strcat(out, " ");
			strcat(out, json_string_value(v) ? json_string_value(v) : "");
		}
	json_decref(a);
	return out;
}

int container_pid_start(pid_t pid, int64_t *ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return negative_errno();
	char buf[1024];
	if (!fgets(buf, sizeof(buf), f))
		return -EIO;
	/* comm (field 2) may contain spaces and ')': fields start after the
	 * last ')'.  Field 3 is the state, field 22 the start time. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return -ESRCH; /* exited: its mounts and namespaces are gone */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -EIO;
	*ret = strtoll(p, NULL, 10);
	return 0;
}

bool container_is_running(const struct snap_container_rec *rec)
{
	if (rec->state != SNAP_CONTAINER_RUNNING || rec->pid <= 0)
		return false;
	int64_t start;
	return container_pid_start((pid_t)rec->pid, &start) == 0 && start == rec->pid_start;
}

char *container_dir(struct snap_core *core, const char *id)
{
	char *path;
	if (asprintf(&path, "%s/containers/%s", snap_core_root(core), id) < 0)
		return NULL;
	return path;
}

int container_remove(struct snap_core *core, const struct snap_container_rec *rec,
		     struct snap_error *err)
{
	int r = snap_remove(core, rec->snapshot, err);
	if (r < 0 && r != -ENOENT)
		return snap_error_prefix(err, "remove container %.12s", rec->id);
	snap_error_clear(err);
	r = run_init_layer_remove(core, rec->id, err);
	if (r < 0)
		return snap_error_prefix(err, "remove container %.12s", rec->id);
	_cleanup_free_ char *dir = container_dir(core, rec->id);
	if (!dir)
		return snap_error_set(err, -ENOMEM, "remove container %.12s: %s", rec->id, strerror(ENOMEM));
	r = snap_rm_rf_at(AT_FDCWD, dir);
	if (r < 0)
		return snap_error_set(err, r, "remove %s: %s", dir, strerror(-r));
	/* the cgroup of a container whose `snapctl run` was killed (its run
	 * removes it otherwise); a cgroup still busy is reported by rm -f's
	 * kill path, not here */
	struct snap_error ignored = { 0 };
	snap_cgroup_remove(rec->id, &ignored);
	r = snap_container_store_remove(core, rec->id, err);
	if (r == -ENOENT) {
		snap_error_clear(err);
		r = 0;
	}
	return r;
}
