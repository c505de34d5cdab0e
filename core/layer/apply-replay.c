/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Playing back the on-disk undo journal of an apply whose process died
 * (the record format is in apply-journal.c).  `check --repair` and the
 * cleanup at `serve` start call it through check.c.
 *
 * Backwards, every record undoes its step if the step happened and does
 * nothing if it did not (the records are written before their steps):
 * "C" removes what is at the path (nothing was there before the apply),
 * "B" renames the moved entry back when it is in the undo directory, "M"
 * restores a directory's metadata.  Then the undo directory goes, and the
 * root's metadata is restored once more (removing it touched the root).
 * With a COMMIT record the apply was complete: only the undo directory
 * goes, and the root gets the mode and times the layer gave it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/apply-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

#define JOURNAL_MAGIC "snapctl-apply-journal 1 "
/* A journal is a few hundred bytes per entry of the layer. */
#define JOURNAL_MAX ((size_t)1 << 30)

int snap_layer_journal_header(char *buf, size_t size, uint64_t snapshot_id, const char *undo_name)
{
	int n = snprintf(buf, size, JOURNAL_MAGIC "%" PRIu64 " x", snapshot_id);
	for (const unsigned char *p = (const unsigned char *)undo_name; *p && n > 0 && (size_t)n + 3 < size; p++)
		n += snprintf(buf + n, size - (size_t)n, "%02x", *p);
	if (n < 0 || (size_t)n + 2 > size)
		return -ENAMETOOLONG;
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

/* "x<hex>" into a new string (the decoded bytes, NUL-terminated, length in
 * *ret_len). */
static int unhex(const char *tok, char **ret, size_t *ret_len)
{
	if (!tok || tok[0] != 'x')
		return -EINVAL;
	size_t n = strlen(tok + 1);
	if (n % 2)
		return -EINVAL;
	char *out = malloc(n / 2 + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(tok + 1 + 2 * i, "%2x", &v) != 1) {
			free(out);
			return -EINVAL;
		}
		out[i] = (char)v;
	}
	out[n / 2] = '\0';
	*ret = out;
	if (ret_len)
		*ret_len = n / 2;
	return 0;
}

struct journal {
	char *data;
	char **lines; /* complete lines only, NUL-terminated in data */
	size_t n;
	uint64_t id;
	char *undo_name;
};

static void journal_done(struct journal *j)
{
	free(j->data);
	free(j->lines);
	free(j->undo_name);
	*j = (struct journal){ 0 };
}

static int journal_load(int dirfd, struct journal *j, struct snap_error *err)
{
	size_t len = 0;
	int r = snap_read_file_at(dirfd, SNAP_APPLY_JOURNAL_NAME, JOURNAL_MAX, &j->data, &len);
	if (r < 0)
		return r == -ENOENT ? r : snap_error_set(err, r, "read the apply journal: %s", strerror(-r));
	/* A last line without its newline was cut by the kill: its step was
	 * never taken. */
	for (char *p = j->data, *end = j->data + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		*nl = '\0';
		char **nv = realloc(j->lines, (j->n + 1) * sizeof(*nv));
		if (!nv)
			return snap_error_set(err, -ENOMEM, "read the apply journal: out of memory");
		j->lines = nv;
		j->lines[j->n++] = p;
		p = nl + 1;
	}
	char undo[256];
	if (j->n == 0 || strncmp(j->lines[0], JOURNAL_MAGIC, strlen(JOURNAL_MAGIC)) != 0 ||
	    sscanf(j->lines[0] + strlen(JOURNAL_MAGIC), "%" SCNu64 " %255s", &j->id, undo) != 2 ||
	    unhex(undo, &j->undo_name, NULL) < 0 || !j->undo_name[0] || strchr(j->undo_name, '/') ||
	    strncmp(j->undo_name, SNAP_APPLY_BACKUP_PREFIX, strlen(SNAP_APPLY_BACKUP_PREFIX)) != 0)
		return snap_error_set(err, -EINVAL, "the apply journal has no valid header");
	return 0;
}

int snap_layer_journal_snapshot(int dirfd, uint64_t *ret_id, struct snap_error *err)
{
	struct journal j = { 0 };
	int r = journal_load(dirfd, &j, err);
	if (r >= 0)
		*ret_id = j.id;
	journal_done(&j);
	return r;
}

/* Split a record into at most max tokens (in place). */
static size_t tokens(char *line, char **tok, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	return n;
}

/* An "M" record as an UNDO_META. */
static int parse_meta(char **tok, size_t n, struct undo *u)
{
	unsigned uid, gid, mode;
	int64_t as, ms;
	long ans, mns;
	size_t nx;
	if (n < 10 || unhex(tok[1], &u->path, NULL) < 0 || sscanf(tok[2], "%u", &uid) != 1 ||
	    sscanf(tok[3], "%u", &gid) != 1 || sscanf(tok[4], "%o", &mode) != 1 ||
	    sscanf(tok[5], "%" SCNd64, &as) != 1 || sscanf(tok[6], "%ld", &ans) != 1 ||
	    sscanf(tok[7], "%" SCNd64, &ms) != 1 || sscanf(tok[8], "%ld", &mns) != 1 ||
	    sscanf(tok[9], "%zu", &nx) != 1 || n != 10 + 2 * nx)
		return -EINVAL;
	u->kind = UNDO_META;
	u->st.st_uid = uid;
	u->st.st_gid = gid;
	u->st.st_mode = S_IFDIR | mode;
	u->st.st_atim = (struct timespec){ as, ans };
	u->st.st_mtim = (struct timespec){ ms, mns };
	if (nx && !(u->xattrs.v = calloc(nx, sizeof(*u->xattrs.v))))
		return -ENOMEM;
	for (size_t i = 0; i < nx; i++) {
		char *value;
		size_t size;
		int r = unhex(tok[10 + 2 * i], &u->xattrs.v[i].name, NULL);
		if (r < 0)
			return r;
		u->xattrs.n++;
		if ((r = unhex(tok[11 + 2 * i], &value, &size)) < 0)
			return r;
		u->xattrs.v[i].value = value;
		u->xattrs.v[i].size = size;
	}
	return 0;
}

/* One record backwards: 0, or -errno when its undo failed. */
static int undo_record(int treefd, int backupfd, char *line, const struct undo **ret_root_meta,
		       struct undo *root_meta)
{
	char *tok[1024];
	size_t n = tokens(line, tok, ELEMENTSOF(tok));
	if (n == 0)
		return -EINVAL;
	if (strcmp(tok[0], "M") == 0) {
		struct undo u = { 0 };
		int r = parse_meta(tok, n, &u);
		if (r == 0)
			r = apply_restore_meta(treefd, &u);
		if (r == -ENOENT)
			r = 0; /* inside something an earlier step removed */
		if (u.path && !u.path[0]) {
			snap_xattrs_done(&root_meta->xattrs);
			free(root_meta->path);
			*root_meta = u; /* the first (oldest) one wins: replayed last */
			*ret_root_meta = root_meta;
			return r;
		}
		free(u.path);
		snap_xattrs_done(&u.xattrs);
		return r;
	}
	_cleanup_free_ char *path = NULL;
	const char *ptok = strcmp(tok[0], "C") == 0 && n == 2 ? tok[1]
			   : strcmp(tok[0], "B") == 0 && n == 3 ? tok[2]
								: NULL;
	if (!ptok || unhex(ptok, &path, NULL) < 0 || !path[0])
		return -EINVAL;
	const char *name;
	_cleanup_close_ int pfd = apply_open_parent(treefd, path, &name);
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return 0; /* its parent went with an earlier step: so did it */
	if (pfd < 0)
		return pfd;
	if (tok[0][0] == 'C') {
		int r = snap_rm_rf_at(pfd, name);
		return r == -ENOENT ? 0 : r;
	}
	if (backupfd < 0 || strspn(tok[1], "0123456789") != strlen(tok[1]))
		return backupfd < 0 ? 0 : -EINVAL;
	if (renameat(backupfd, tok[1], pfd, name) == 0 || errno == ENOENT)
		return 0; /* moved back, or never moved */
	return negative_errno();
}

static int rollback(int treefd, const struct journal *j, struct snap_error *err)
{
	_cleanup_close_ int backupfd = openat(treefd, j->undo_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (backupfd < 0 && errno != ENOENT)
		return snap_error_set(err, negative_errno(), "open the undo directory %s: %s", j->undo_name,
				      strerror(errno));
	unsigned failed = 0;
	int first = 0;
	struct undo root = { 0 };
	const struct undo *root_meta = NULL;
	for (size_t i = j->n; i-- > 1;) {
		int r = undo_record(treefd, backupfd, j->lines[i], &root_meta, &root);
		if (r < 0 && !failed++)
			first = r;
	}
	if (backupfd >= 0) {
		int r = snap_rm_rf_at(treefd, j->undo_name);
		if (r < 0 && r != -ENOENT && !failed++)
			first = r;
	}
	/* Removing the undo directory touched the root once more. */
	if (root_meta) {
		int r = apply_restore_meta(treefd, root_meta);
		if (r < 0 && !failed++)
			first = r;
	}
	free(root.path);
	snap_xattrs_done(&root.xattrs);
	if (failed)
		return snap_error_set(err, first, "roll back the interrupted apply: %u steps failed (first: %s)",
				      failed, strerror(-first));
	return 0;
}

static int roll_forward(int treefd, const struct journal *j, char *commit, struct snap_error *err)
{
	int r = snap_rm_rf_at(treefd, j->undo_name);
	if (r < 0 && r != -ENOENT)
		return snap_error_set(err, r, "remove the undo directory %s: %s", j->undo_name, strerror(-r));
	char *tok[8];
	unsigned mode;
	int64_t as, ms;
	long ans, mns;
	if (tokens(commit, tok, ELEMENTSOF(tok)) != 7 || sscanf(tok[2], "%o", &mode) != 1 ||
	    sscanf(tok[3], "%" SCNd64, &as) != 1 || sscanf(tok[4], "%ld", &ans) != 1 ||
	    sscanf(tok[5], "%" SCNd64, &ms) != 1 || sscanf(tok[6], "%ld", &mns) != 1)
		return snap_error_set(err, -EINVAL, "the apply journal's COMMIT record is damaged");
	if (strcmp(tok[1], "1") != 0)
		return 1;
	struct timespec ts[2] = { { as, ans }, { ms, mns } };
	if (fchmodat(treefd, ".", mode, 0) < 0 || utimensat(treefd, ".", ts, 0) < 0)
		return snap_error_set(err, negative_errno(), "set the root's mode and times: %s", strerror(errno));
	return 1;
}

int snap_layer_journal_replay(int dirfd, int treefd, struct snap_error *err)
{
	struct journal j = { 0 };
	int r = journal_load(dirfd, &j, err);
	if (r >= 0) {
		char *commit = NULL;
		for (size_t i = 1; i < j.n && !commit; i++)
			if (strncmp(j.lines[i], "COMMIT ", 7) == 0)
				commit = j.lines[i];
		r = commit ? roll_forward(treefd, &j, commit, err) : rollback(treefd, &j, err);
	}
	journal_done(&j);
	return r;
}
