/* SPDX-License-Identifier: Apache-2.0 */
#include "ovl-harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "overlay.h"

bool th_can_run(const char **why)
{
	if (geteuid() != 0) {
		*why = "needs root (mounts overlayfs)";
		return false;
	}
	struct snap_error e = { 0 };
	if (snap_overlay_driver.probe("/tmp", &e) < 0) {
		*why = strdup(e.message);
		return false;
	}
	return true;
}

bool th_legacy(void)
{
	const char *e = getenv("SNAPCTL_TEST_NO_FSOPEN");
	return e && strcmp(e, "1") == 0;
}

static void die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	abort();
}

struct th *th_new(void)
{
	return th_new_at("/var/tmp/ovl-test-XXXXXX");
}

struct th *th_new_at(const char *tmpl)
{
	struct th *t = calloc(1, sizeof(*t));
	if (!t)
		die("calloc");
	t->snaps = calloc(TH_MAX_SNAPS, sizeof(*t->snaps));
	t->chain = calloc(TH_MAX_SNAPS, sizeof(*t->chain));
	if (!t->snaps || !t->chain)
		die("calloc");
	snprintf(t->root, sizeof(t->root), "%s", tmpl);
	if (!mkdtemp(t->root))
		die("mkdtemp");
	char p[PATH_MAX + 32];
	snprintf(p, sizeof(p), "%s/snapshots", t->root);
	if (mkdir(p, 0700) < 0)
		die("mkdir snapshots");
	snprintf(p, sizeof(p), "%s/tmp", t->root);
	if (mkdir(p, 0700) < 0)
		die("mkdir tmp");
	t->drv = &snap_overlay_driver;
	struct snap_driver_opts o = { .root = t->root };
	struct snap_error e = { 0 };
	if (t->drv->open(&o, &t->state, &e) < 0) {
		fprintf(stderr, "open: %s\n", e.message);
		abort();
	}
	return t;
}

/* Unmount everything under the root (a failed test may leave mounts). */
static void umount_under(const char *root)
{
	for (int pass = 0; pass < 8; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		if (!f)
			return;
		char line[8192];
		bool any = false;
		size_t rl = strlen(root);
		while (fgets(line, sizeof(line), f)) {
			char mp[4096];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
				continue;
			if (strncmp(mp, root, rl) == 0 && (mp[rl] == '/' || mp[rl] == '\0')) {
				umount2(mp, MNT_DETACH);
				any = true;
			}
		}
		fclose(f);
		if (!any)
			return;
	}
}

void th_free(struct th *t)
{
	if (!t)
		return;
	t->drv->close(t->state);
	umount_under(t->root);
	int fd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		snap_rm_children_at(fd);
		close(fd);
	}
	rmdir(t->root);
	free(t->snaps);
	free(t->chain);
	free(t);
}

const struct snap_chain *th_chain(struct th *t, int idx, struct snap_chain *c)
{
	size_t n = 0;
	for (int p = t->snaps[idx].parent; p >= 0; p = t->snaps[p].parent)
		t->chain[n++] = t->snaps[p].ref;
	c->refs = t->chain;
	c->n = n;
	return c;
}

static void set_label(struct th_snap *s, const char *kv)
{
	if (!kv)
		return;
	char *dup = s->label_buf[s->ref.n_labels];
	snprintf(dup, sizeof(s->label_buf[0]), "%s", kv);
	char *eq = strchr(dup, '=');
	*eq = '\0';
	s->labels[s->ref.n_labels].key = dup;
	s->labels[s->ref.n_labels].value = eq + 1;
	s->ref.n_labels++;
}

int th_create(struct th *t, int kind, int parent, const char *label1, const char *label2)
{
	int idx = (int)t->n++;
	struct th_snap *s = &t->snaps[idx];
	snprintf(s->path, sizeof(s->path), "%.512s/snapshots/%d", t->root, idx + 1);
	snprintf(s->key, sizeof(s->key), "k%d", idx + 1);
	if (mkdir(s->path, 0700) < 0)
		die("mkdir snapshot");
	s->parent = parent;
	s->ref = (struct snap_ref){ .id = (uint64_t)idx + 1, .key = s->key, .path = s->path, .kind = kind,
				    .labels = s->labels };
	set_label(s, label1);
	set_label(s, label2);
	struct snap_chain c;
	struct snap_error e = { 0 };
	int r = t->drv->create(t->state, &s->ref, th_chain(t, idx, &c), &e);
	if (r < 0) {
		fprintf(stderr, "create: %s\n", e.message);
		t->n--;
		rmdir(s->path);
		return r;
	}
	/* As the core does once create returned (snapshotter.c): the fast
	 * diff reads the files written since. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	s->ref.prepared_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	return idx;
}

int th_commit(struct th *t, int idx)
{
	struct snap_error e = { 0 };
	int r = t->drv->commit(t->state, &t->snaps[idx].ref, &e);
	if (r < 0)
		fprintf(stderr, "commit: %s\n", e.message);
	else
		t->snaps[idx].ref.kind = SNAP_KIND_COMMITTED;
	return r;
}

const char *th_mount(struct th *t, int idx, unsigned flags, struct snap_error *err, int *ret)
{
	snprintf(t->mnt, sizeof(t->mnt), "%.512s/tmp/mnt%d", t->root, t->n_mnt++);
	if (mkdir(t->mnt, 0755) < 0)
		die("mkdir mnt");
	struct snap_chain c;
	*ret = t->drv->mount(t->state, &t->snaps[idx].ref, th_chain(t, idx, &c), t->mnt, flags, err);
	return t->mnt;
}

void th_umount(struct th *t, const char *target)
{
	(void)t;
	if (umount2(target, 0) < 0)
		umount2(target, MNT_DETACH);
	rmdir(target);
}

char *th_fs(struct th *t, int idx, const char *rel)
{
	char *s;
	if (asprintf(&s, "%s/fs%s%s", t->snaps[idx].path, rel ? "/" : "", rel ? rel : "") < 0)
		die("asprintf");
	return s;
}

void th_write(const char *dir, const char *rel, const char *content)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(p);
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		die("write");
	close(fd);
}

char *th_read(const char *dir, const char *rel)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	char *buf = NULL;
	if (snap_read_file_at(AT_FDCWD, p, 1 << 20, &buf, NULL) < 0)
		return NULL;
	return buf;
}

bool th_exists(const char *dir, const char *rel)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	struct stat st;
	return lstat(p, &st) == 0;
}
