/* SPDX-License-Identifier: Apache-2.0 */
/* The command's user: docker's "user[:group]" against the image's own
 * /etc/passwd and /etc/group (never the host's, never through a symlink
 * that leaves the image). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

void container_user_done(struct container_user *u)
{
	free(u->groups);
	free(u->home);
	*u = (struct container_user){ 0 };
}

/* A decimal id; -EINVAL when `s` is not one (then it is a name). */
static int parse_id(const char *s, unsigned *ret)
{
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || v >= UINT_MAX) /* (uid_t)-1 is "no change", never an id */
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}

/* Open the image's database file; a missing file is not an error (NULL). */
static int open_db(int rootfd, const char *path, FILE **ret, struct snap_error *err)
{
	int fd = snap_openat_in_root(rootfd, path, O_RDONLY | O_NOCTTY, 0);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		*ret = NULL;
		return 0;
	}
	if (fd < 0)
		return snap_error_set(err, fd, "open %s in the image: %s", path, strerror(-fd));
	FILE *f = fdopen(fd, "re");
	if (!f) {
		int r = negative_errno();
		close(fd);
		return snap_error_set(err, r, "read %s in the image: %s", path, strerror(-r));
	}
	*ret = f;
	return 0;
}

/* Split one line of passwd/group into at most n ':'-separated fields. */
static size_t split_fields(char *line, char **fields, size_t n)
{
	line[strcspn(line, "\n")] = '\0';
	size_t i = 0;
	char *p = line;
	while (i < n) {
		fields[i++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	return i;
}

struct pw_entry {
	bool found;
	char *name;
	unsigned uid, gid;
	char *home;
};

static void pw_entry_done(struct pw_entry *e)
{
	free(e->name);
	free(e->home);
}

/* Find the passwd entry whose name (or, for a numeric spec, uid) matches. */
static int passwd_lookup(FILE *f, const char *name, bool by_uid, unsigned uid,
			 struct pw_entry *ret)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		char *fld[7];
		if (split_fields(line, fld, 7) < 7 || fld[0][0] == '#')
			continue;
		unsigned u, g;
		if (parse_id(fld[2], &u) < 0 || parse_id(fld[3], &g) < 0)
			continue;
		if (by_uid ? u != uid : strcmp(fld[0], name) != 0)
			continue;
		ret->name = strdup(fld[0]);
		ret->home = strdup(fld[5]);
		if (!ret->name || !ret->home)
			return -ENOMEM;
		ret->found = true;
		ret->uid = u;
		ret->gid = g;
		return 0;
	}
	return 0;
}

/* Resolve a group spec (name or gid) and collect the supplementary groups
 * listing `member` in one pass over /etc/group. */
static int group_scan(FILE *f, const char *group, bool *group_found, unsigned *gid,
		      const char *member, struct container_user *u)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		char *fld[4];
		if (split_fields(line, fld, 4) < 4 || fld[0][0] == '#')
			continue;
		unsigned g;
		if (parse_id(fld[2], &g) < 0)
			continue;
		if (group && !*group_found && strcmp(fld[0], group) == 0) {
			*gid = g;
			*group_found = true;
		}
		if (!member)
			continue;
		char *save = NULL;
		for (char *m = strtok_r(fld[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			if (strcmp(m, member) != 0)
				continue;
			gid_t *n = reallocarray(u->groups, u->n_groups + 1, sizeof(*n));
			if (!n)
				return -ENOMEM;
			u->groups = n;
			u->groups[u->n_groups++] = g;
			break;
		}
	}
	return 0;
}

int container_user_resolve(int rootfd, const char *user, struct container_user *ret,
			   struct snap_error *err)
{
	if (!user || !*user)
		user = "0";
	_cleanup_free_ char *spec = strdup(user);
	if (!spec)
		return snap_error_set(err, -ENOMEM, "user %s: %s", user, strerror(ENOMEM));
	char *group = strchr(spec, ':');
	if (group)
		*group++ = '\0';
	if (!*spec || (group && !*group))
		return snap_error_set(err, -EINVAL, "user \"%s\": expected USER[:GROUP]", user);

	unsigned uid = 0;
	int r = parse_id(spec, &uid);
	if (r == -ERANGE)
		return snap_error_set(err, r, "user \"%s\": uid out of range", user);
	bool numeric = r == 0;

	_cleanup_fclose_ FILE *pw = NULL;
	r = open_db(rootfd, "/etc/passwd", &pw, err);
	if (r < 0)
		return r;
	struct pw_entry e = { 0 };
	if (pw && passwd_lookup(pw, spec, numeric, uid, &e) < 0) {
		pw_entry_done(&e);
		return snap_error_set(err, -ENOMEM, "user \"%s\": %s", user, strerror(ENOMEM));
	}
	if (!e.found && !numeric) {
		pw_entry_done(&e);
		return snap_error_set(err, -ENOENT,
				      "unable to find user %s: no matching entries in passwd file", spec);
	}

	struct container_user u = {
		.uid = e.found ? e.uid : uid,
		.gid = e.found ? e.gid : 0,
	};
	u.home = strdup(e.found && *e.home ? e.home : "/");
	_cleanup_free_ char *member = e.found ? TAKE_PTR(e.name) : NULL;
	pw_entry_done(&e);
	if (!u.home)
		return snap_error_set(err, -ENOMEM, "user \"%s\": %s", user, strerror(ENOMEM));

	unsigned gid = 0;
	bool group_numeric = group && parse_id(group, &gid) == 0;
	bool group_found = group_numeric;
	_cleanup_fclose_ FILE *gr = NULL;
	r = open_db(rootfd, "/etc/group", &gr, err);
	if (r < 0) {
		container_user_done(&u);
		return r;
	}
	if (gr && group_scan(gr, group_numeric ? NULL : group, &group_found, &gid, member, &u) < 0) {
		container_user_done(&u);
		return snap_error_set(err, -ENOMEM, "user \"%s\": %s", user, strerror(ENOMEM));
	}
	if (group && !group_found) {
		container_user_done(&u);
		return snap_error_set(err, -ENOENT,
				      "unable to find group %s: no matching entries in group file", group);
	}
	if (group)
		u.gid = gid;
	*ret = u;
	return 0;
}
