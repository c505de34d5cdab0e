/* SPDX-License-Identifier: Apache-2.0 */
/* The containers table (schema: the "containers" migration in store.c). */
#include "container-store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core-internal.h"
#include "util/macro.h"
#include "store.h"

#define COLUMNS                                                                        \
	"id, name, image, image_id, snapshot, command, created_ns, state, pid, pid_start, " \
	"exit_code, finished_ns, config"

void snap_container_rec_done(struct snap_container_rec *rec)
{
	free(rec->name);
	free(rec->image);
	free(rec->image_id);
	free(rec->snapshot);
	free(rec->command);
	free(rec->config);
	*rec = (struct snap_container_rec){ 0 };
}

static int dup_column(sqlite3_stmt *st, int col, char **ret)
{
	const char *v = (const char *)sqlite3_column_text(st, col);
	*ret = strdup(v ? v : "");
	return *ret ? 0 : -ENOMEM;
}

/* Fill rec from a row selected with COLUMNS. */
static int rec_from_row(sqlite3_stmt *st, struct snap_container_rec *rec)
{
	struct snap_container_rec r = { 0 };
	const char *id = (const char *)sqlite3_column_text(st, 0);
	snprintf(r.id, sizeof(r.id), "%s", id ? id : "");
	if (dup_column(st, 1, &r.name) < 0 || dup_column(st, 2, &r.image) < 0 ||
	    dup_column(st, 3, &r.image_id) < 0 || dup_column(st, 4, &r.snapshot) < 0 ||
	    dup_column(st, 5, &r.command) < 0 || dup_column(st, 12, &r.config) < 0) {
		snap_container_rec_done(&r);
		return -ENOMEM;
	}
	r.created_ns = sqlite3_column_int64(st, 6);
	r.state = sqlite3_column_int(st, 7);
	r.pid = sqlite3_column_int64(st, 8);
	r.pid_start = sqlite3_column_int64(st, 9);
	r.exit_code = sqlite3_column_int(st, 10);
	r.finished_ns = sqlite3_column_int64(st, 11);
	*rec = r;
	return 0;
}

int snap_container_store_add(struct snap_core *core, const struct snap_container_rec *rec,
			     struct snap_error *err)
{
	static const char sql[] = "INSERT INTO containers(" COLUMNS ") "
				  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0, -1, 0, ?9)";
	struct snap_store *s = snap_core_store(core);
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, rec->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rec->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rec->image, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rec->image_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rec->snapshot, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, rec->command, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, rec->created_ns);
	sqlite3_bind_int(st, 8, SNAP_CONTAINER_CREATED);
	sqlite3_bind_text(st, 9, rec->config ? rec->config : "{}", -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT)
		return snap_error_set(err, -EEXIST, "container name \"%s\" is already in use", rec->name);
	if (rc != SQLITE_DONE)
		return snap_store_error(s, rc, err, "record container %s", rec->name);
	return 0;
}

/* Run a SELECT of COLUMNS bound to `ref` and take the single row; *found
 * counts the rows (0, 1, or 2 meaning "more than one"). */
static int select_one(struct snap_store *s, const char *sql, const char *ref,
		      struct snap_container_rec *ret, int *found, struct snap_error *err)
{
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	*found = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++*found > 1) {
			snap_container_rec_done(ret);
			return 0;
		}
		if (rec_from_row(st, ret) < 0)
			return snap_error_set(err, -ENOMEM, "container %s: %s", ref, strerror(ENOMEM));
	}
	if (rc != SQLITE_DONE) {
		if (*found)
			snap_container_rec_done(ret);
		return snap_store_error(s, rc, err, "look up container %s", ref);
	}
	return 0;
}

int snap_container_store_get(struct snap_core *core, const char *ref,
			     struct snap_container_rec *ret, struct snap_error *err)
{
	static const char by_id_or_name[] = "SELECT " COLUMNS " FROM containers "
					    "WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1";
	/* substr: a LIKE/GLOB prefix would need escaping of the user's text */
	static const char by_prefix[] = "SELECT " COLUMNS " FROM containers "
					"WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2";
	struct snap_store *s = snap_core_store(core);
	if (!ref || !*ref)
		return snap_error_set(err, -EINVAL, "empty container reference");
	struct snap_container_rec rec = { 0 };
	int found = 0;
	int r = select_one(s, by_id_or_name, ref, &rec, &found, err);
	if (r < 0)
		return r;
	if (!found && strspn(ref, "0123456789abcdef") == strlen(ref)) {
		r = select_one(s, by_prefix, ref, &rec, &found, err);
		if (r < 0)
			return r;
		if (found > 1)
			return snap_error_set(err, -EINVAL,
					      "container ID prefix %s is ambiguous: give more digits", ref);
	}
	if (!found)
		return snap_error_set(err, -ENOENT, "no such container: %s", ref);
	*ret = rec;
	return 0;
}

int snap_container_store_walk(struct snap_core *core, snap_container_rec_fn cb, void *userdata,
			      struct snap_error *err)
{
	static const char sql[] = "SELECT " COLUMNS " FROM containers ORDER BY created_ns DESC, id";
	struct snap_store *s = snap_core_store(core);
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct snap_container_rec rec;
		if (rec_from_row(st, &rec) < 0)
			return snap_error_set(err, -ENOMEM, "list containers: %s", strerror(ENOMEM));
		r = cb(&rec, userdata);
		snap_container_rec_done(&rec);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (rc != SQLITE_DONE)
		return snap_store_error(s, rc, err, "list containers");
	return 0;
}

/* One UPDATE/DELETE by id; -ENOENT when no row matched. */
static int change_one(struct snap_core *core, const char *sql, const char *id, int64_t a, int64_t b,
		      int64_t c, const char *what, struct snap_error *err)
{
	struct snap_store *s = snap_core_store(core);
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int n = sqlite3_bind_parameter_count(st);
	if (n >= 2)
		sqlite3_bind_int64(st, 2, a);
	if (n >= 3)
		sqlite3_bind_int64(st, 3, b);
	if (n >= 4)
		sqlite3_bind_int64(st, 4, c);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(s, rc, err, "%s container %.12s", what, id);
	if (sqlite3_changes(snap_store_db(s)) == 0)
		return snap_error_set(err, -ENOENT, "%s container %.12s: no such container", what, id);
	return 0;
}

int snap_container_store_set_running(struct snap_core *core, const char *id, int64_t pid,
				     int64_t pid_start, struct snap_error *err)
{
	static const char sql[] = "UPDATE containers SET state = ?4, pid = ?2, pid_start = ?3 WHERE id = ?1";
	return change_one(core, sql, id, pid, pid_start, SNAP_CONTAINER_RUNNING, "start", err);
}

int snap_container_store_set_exited(struct snap_core *core, const char *id, int exit_code,
				    struct snap_error *err)
{
	static const char sql[] = "UPDATE containers SET state = ?4, exit_code = ?2, finished_ns = ?3, "
				  "pid = 0, pid_start = 0 WHERE id = ?1";
	return change_one(core, sql, id, exit_code, snap_now_ns(), SNAP_CONTAINER_EXITED, "finish", err);
}

int snap_container_store_remove(struct snap_core *core, const char *id, struct snap_error *err)
{
	static const char sql[] = "DELETE FROM containers WHERE id = ?1";
	return change_one(core, sql, id, 0, 0, 0, "remove", err);
}

int snap_container_store_image_in_use(struct snap_core *core, const char *image_id, bool *ret,
				      struct snap_error *err)
{
	static const char sql[] = "SELECT 1 FROM containers WHERE image_id = ?1 LIMIT 1";
	struct snap_store *s = snap_core_store(core);
	_cleanup_(snap_stmt_resetp) sqlite3_stmt *st = NULL;
	int r = snap_store_stmt(s, sql, &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return snap_store_error(s, rc, err, "look up containers of image %s", image_id);
	*ret = rc == SQLITE_ROW;
	return 0;
}

/* The container id of a container snapshot key, or NULL. */
static const char *key_container_id(const char *key, char id[SNAP_CONTAINER_ID_LEN + 1])
{
	static const char prefix[] = "container-";
	if (strncmp(key, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	const char *p = key + sizeof(prefix) - 1;
	if (strspn(p, "0123456789abcdef") != SNAP_CONTAINER_ID_LEN)
		return NULL;
	const char *rest = p + SNAP_CONTAINER_ID_LEN;
	if (*rest && strcmp(rest, "-init") != 0 && strcmp(rest, "-init-stage") != 0)
		return NULL;
	memcpy(id, p, SNAP_CONTAINER_ID_LEN);
	id[SNAP_CONTAINER_ID_LEN] = '\0';
	return id;
}

struct orphans {
	char **keys;
	size_t n;
	int error;
};

static int collect_container_key(const struct snap_info *info, void *userdata)
{
	struct orphans *o = userdata;
	char id[SNAP_CONTAINER_ID_LEN + 1];
	if (!key_container_id(info->key, id))
		return 0;
	char **v = reallocarray(o->keys, o->n + 1, sizeof(char *));
	if (!v || !(v[o->n] = strdup(info->key))) {
		if (v)
			o->keys = v;
		o->error = -ENOMEM;
		return 1;
	}
	o->keys = v;
	o->n++;
	return 0;
}

/* Children before parents: the container's own, the stage, the init layer. */
static int key_rank(const char *key)
{
	size_t n = strlen(key);
	if (n > 5 && strcmp(key + n - 5, "-init") == 0)
		return 2;
	if (n > 11 && strcmp(key + n - 11, "-init-stage") == 0)
		return 1;
	return 0;
}

int snap_container_store_gc(struct snap_core *core, uint64_t *ret_removed, struct snap_error *err)
{
	struct orphans o = { 0 };
	int r = snap_walk(core, NULL, 0, collect_container_key, &o, err);
	if (r >= 0 && o.error < 0)
		r = snap_error_set(err, o.error, "gc of container snapshots: %s", strerror(-o.error));
	uint64_t removed = 0;
	for (int rank = 0; r >= 0 && rank <= 2; rank++)
		for (size_t i = 0; r >= 0 && i < o.n; i++) {
			if (key_rank(o.keys[i]) != rank)
				continue;
			char id[SNAP_CONTAINER_ID_LEN + 1];
			struct snap_container_rec rec = { 0 };
			key_container_id(o.keys[i], id);
			r = snap_container_store_get(core, id, &rec, err);
			snap_container_rec_done(&rec);
			if (r == 0)
				continue; /* its container exists */
			if (r != -ENOENT)
				break;
			snap_error_clear(err);
			r = snap_remove(core, o.keys[i], err);
			if (r == -ENOENT || r == -EBUSY) {
				/* gone meanwhile, or something else builds on it */
				snap_error_clear(err);
				r = 0;
			} else if (r == 0) {
				removed++;
			}
		}
	for (size_t i = 0; i < o.n; i++)
		free(o.keys[i]);
	free(o.keys);
	if (r < 0)
		return r;
	if (ret_removed)
		*ret_removed = removed;
	return 0;
}
