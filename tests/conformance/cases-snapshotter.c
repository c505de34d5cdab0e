/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshotter semantics (containerd testsuite.go): lifecycle, stat, parents,
 * key conflicts, labels, remove rules, walk filters, close. */
#include "conformance.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs-util.h"
#include "util/macro.h"
#include "tests/vfs/tree-util.h"

/* A flat directory with the appliers applied, as an open fd. */
static int flat_tree(struct conf *f, const char *name, const struct applier *as, size_t n)
{
	_cleanup_free_ char *p = conf_mkdir(f, name);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++)
		applier_apply(&as[i], fd);
	return fd;
}

static void assert_mounted_equals(const char *target, int flatfd)
{
	_cleanup_close_ int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	tree_assert_same(flatfd, fd, 0);
}

static void assert_missing(struct conf *f, const char *key)
{
	struct snap_info info = { 0 };
	struct snap_error err = { 0 };
	int r = snap_stat(f->core, key, &info, &err);
	if (r == 0) {
		snap_info_done(&info);
		fail_msg("'%s' still exists", key);
	}
	assert_int_equal(r, -ENOENT);
	assert_true(err.message[0] != '\0');
}

static void assert_info(struct conf *f, const char *key, int kind, const char *parent)
{
	struct snap_info info = { 0 };
	conf_stat(f, key, &info);
	assert_string_equal(info.key, key);
	assert_int_equal(info.kind, kind);
	if (parent)
		assert_string_equal(info.parent ? info.parent : "", parent);
	else if (info.parent)
		fail_msg("'%s' has parent '%s', expected none", key, info.parent);
	snap_info_done(&info);
}

static void assert_same_info(const struct snap_info *a, const struct snap_info *b)
{
	assert_string_equal(a->key, b->key);
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->parent ? a->parent : "", b->parent ? b->parent : "");
	assert_int_equal(a->created_ns, b->created_ns);
	assert_int_equal(a->updated_ns, b->updated_ns);
	assert_int_equal(a->labels.n, b->labels.n);
	for (size_t i = 0; i < a->labels.n; i++) {
		const char *v = snap_labels_get(&b->labels, a->labels.v[i].key);
		assert_non_null(v);
		assert_string_equal(v, a->labels.v[i].value);
	}
}

struct info_set {
	struct snap_info v[16];
	size_t n;
};

static int collect_info(const struct snap_info *info, void *userdata)
{
	struct info_set *s = userdata;
	if (s->n == ELEMENTSOF(s->v))
		return -ENOSPC;
	struct snap_info *c = &s->v[s->n++];
	*c = (struct snap_info){
		.id = info->id,
		.key = strdup(info->key),
		.parent = info->parent ? strdup(info->parent) : NULL,
		.kind = info->kind,
		.created_ns = info->created_ns,
		.updated_ns = info->updated_ns,
	};
	return snap_labels_copy(&c->labels, &info->labels);
}

void test_basic(void **state)
{
	struct conf *f = *state;
	const struct applier initial = APPLIER(CREATE_FILE("/foo", "foo\n", 0777), CREATE_DIR("/a", 0755),
					       CREATE_DIR("/a/b", 0755), CREATE_DIR("/a/b/c", 0755));
	const struct applier diff = APPLIER(CREATE_FILE("/bar", "bar\n", 0777), CREATE_FILE("/foo", "bar\n", 0777),
					    REMOVE_ALL("/a/b"));

	_cleanup_free_ char *preparing = conf_prepare_mount(f, "preparing", NULL);
	applier_apply_path(&initial, preparing);
	conf_umount(preparing);
	conf_commit(f, "committed", "preparing");
	assert_info(f, "committed", SNAP_KIND_COMMITTED, NULL);
	assert_missing(f, "preparing");

	_cleanup_free_ char *next = conf_prepare_mount(f, "nextlayer", "committed");
	_cleanup_close_ int flat1 = flat_tree(f, "flat-initial", &initial, 1);
	assert_mounted_equals(next, flat1);
	applier_apply_path(&diff, next);
	conf_umount(next);
	assert_info(f, "nextlayer", SNAP_KIND_ACTIVE, "committed");
	conf_commit(f, "committed-next", "nextlayer");
	assert_info(f, "committed-next", SNAP_KIND_COMMITTED, "committed");
	assert_missing(f, "nextlayer");

	/* walk returns what stat returns */
	struct info_set walked = { 0 };
	struct snap_error err = { 0 };
	CONF_OK(snap_walk(f->core, NULL, 0, collect_info, &walked, &err), err);
	assert_int_equal(walked.n, 2);
	for (size_t i = 0; i < walked.n; i++) {
		struct snap_info st = { 0 };
		conf_stat(f, walked.v[i].key, &st);
		assert_same_info(&st, &walked.v[i]);
		snap_info_done(&st);
		snap_info_done(&walked.v[i]);
	}

	conf_view(f, "nextnextlayer", "committed-next");
	_cleanup_free_ char *nn = conf_mount(f, "nextnextlayer");
	const struct applier both[] = { initial, diff };
	_cleanup_close_ int flat2 = flat_tree(f, "flat-both", both, 2);
	assert_mounted_equals(nn, flat2);
	conf_umount(nn);

	conf_remove(f, "nextnextlayer");
	int r = snap_remove(f->core, "committed", &err);
	assert_true(r < 0);
	assert_non_null(strstr(err.message, "remove"));
	conf_remove(f, "committed-next");
	conf_remove(f, "committed");
}

static void write_in(const char *dir, const char *name, const char *content)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	tree_write(fd, name, content);
}

void test_stat_active(void **state)
{
	struct conf *f = *state;
	_cleanup_free_ char *target = conf_prepare_mount(f, "preparing", NULL);
	write_in(target, "foo", "foo\n");
	assert_info(f, "preparing", SNAP_KIND_ACTIVE, NULL);
	conf_umount(target);
}

void test_stat_committed(void **state)
{
	struct conf *f = *state;
	_cleanup_free_ char *target = conf_prepare_mount(f, "preparing", NULL);
	write_in(target, "foo", "foo\n");
	conf_umount(target);
	conf_commit(f, "committed", "preparing");
	assert_info(f, "committed", SNAP_KIND_COMMITTED, NULL);
}

void test_transitivity(void **state)
{
	struct conf *f = *state;
	_cleanup_free_ char *preparing = conf_prepare_mount(f, "preparing", NULL);
	write_in(preparing, "foo", "foo\n");
	conf_umount(preparing);
	conf_commit(f, "snapA", "preparing");
	_cleanup_free_ char *next = conf_prepare_mount(f, "next", "snapA");
	write_in(next, "foo", "foo bar\n");
	conf_umount(next);
	conf_commit(f, "snapB", "next");

	struct snap_info a = { 0 }, b = { 0 }, pb = { 0 };
	conf_stat(f, "snapA", &a);
	conf_stat(f, "snapB", &b);
	assert_non_null(b.parent);
	conf_stat(f, b.parent, &pb);
	assert_null(a.parent);
	assert_string_equal(b.parent, "snapA");
	assert_null(pb.parent);
	snap_info_done(&a);
	snap_info_done(&b);
	snap_info_done(&pb);
}

void test_prepare_view_failures(void **state)
{
	struct conf *f = *state;
	struct snap_error err = { 0 };
	conf_prepare(f, "preparing", NULL);
	conf_commit(f, "snapA", "preparing");

	/* the same key, whatever the kind, is refused */
	conf_prepare(f, "newlayer", "snapA");
	assert_int_equal(snap_view(f->core, "newlayer", "snapA", conf_opt(), NULL, &err), -EEXIST);
	conf_prepare(f, "prepLayer", "snapA");
	assert_int_equal(snap_prepare(f->core, "prepLayer", "snapA", conf_opt(), NULL, &err), -EEXIST);
	conf_view(f, "viewLayer", "snapA");
	assert_int_equal(snap_view(f->core, "viewLayer", "snapA", conf_opt(), NULL, &err), -EEXIST);
	/* a committed name is a key too */
	assert_int_equal(snap_prepare(f->core, "snapA", NULL, conf_opt(), NULL, &err), -EEXIST);

	/* parents must exist and be committed */
	int r = snap_prepare(f->core, "orphan", "no-such-parent", conf_opt(), NULL, &err);
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(err.message, "no-such-parent"));
	r = snap_prepare(f->core, "on-active", "newlayer", conf_opt(), NULL, &err);
	assert_true(r < 0);
	assert_non_null(strstr(err.message, "newlayer"));
	r = snap_view(f->core, "on-view", "viewLayer", conf_opt(), NULL, &err);
	assert_true(r < 0);
	/* and the failures left nothing behind */
	assert_missing(f, "orphan");
	assert_missing(f, "on-active");
	assert_missing(f, "on-view");

	/* a view cannot be committed */
	r = snap_commit(f->core, "from-view", "viewLayer", conf_opt(), &err);
	assert_true(r < 0);
	assert_missing(f, "from-view");
}

static void base_test_snapshots(struct conf *f)
{
	conf_prepare(f, "c1-a", NULL);
	conf_commit(f, "c1", "c1-a");
	conf_prepare(f, "c2-a", "c1");
	conf_commit(f, "c2", "c2-a");
	conf_prepare(f, "a1", "c2");
	conf_prepare(f, "a2", NULL);
	conf_view(f, "v1", "c2");
	conf_view(f, "v2", NULL);
}

static void assert_labels(const struct snap_labels *got, const struct snap_label *want, size_t n)
{
	if (got->n != n)
		fail_msg("%zu labels, expected %zu", got->n, n);
	for (size_t i = 0; i < n; i++) {
		const char *v = snap_labels_get(got, want[i].key);
		if (!v || strcmp(v, want[i].value) != 0)
			fail_msg("label %s = %s, expected %s", want[i].key, v ? v : "(none)", want[i].value);
	}
}

/* Times are compared with a second of slack below: a core may store them
 * with less than nanosecond precision. */
#define SLACK_NS 1000000000LL

void test_update(void **state)
{
	struct conf *f = *state;
	int64_t t1 = conf_now_ns();
	base_test_snapshots(f);
	int64_t t2 = conf_now_ns();
	static const struct {
		const char *name;
		int kind;
		const char *parent;
	} cases[] = {
		{ "c1", SNAP_KIND_COMMITTED, NULL }, { "c2", SNAP_KIND_COMMITTED, "c1" },
		{ "a1", SNAP_KIND_ACTIVE, "c2" },    { "a2", SNAP_KIND_ACTIVE, NULL },
		{ "v1", SNAP_KIND_VIEW, "c2" },      { "v2", SNAP_KIND_VIEW, NULL },
	};
	const char *root_key = "containerd.io/gc.root";
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct snap_error err = { 0 };
		struct snap_info st = { 0 };
		conf_stat(f, cases[i].name, &st);
		assert_true(st.created_ns >= t1 - SLACK_NS && st.created_ns <= t2);
		assert_int_equal(st.created_ns, st.updated_ns);
		assert_info(f, cases[i].name, cases[i].kind, cases[i].parent);
		int64_t created = st.created_ns;
		snap_info_done(&st);

		/* replace every label */
		struct snap_label l1[] = { { "l1", "v1" }, { "l2", "v2" }, { "l3", "v3" }, { root_key, "now" } };
		struct snap_labels set1 = { l1, ELEMENTSOF(l1) };
		int64_t u1 = conf_now_ns();
		CONF_OK(snap_update(f->core, cases[i].name, &set1, NULL, 0, &st, &err), err);
		int64_t u2 = conf_now_ns();
		assert_int_equal(st.created_ns, created);
		assert_true(st.updated_ns >= u1 - SLACK_NS && st.updated_ns <= u2);
		assert_int_equal(st.kind, cases[i].kind);
		assert_string_equal(st.parent ? st.parent : "", cases[i].parent ? cases[i].parent : "");
		assert_string_equal(st.key, cases[i].name);
		assert_labels(&st.labels, l1, ELEMENTSOF(l1));
		snap_info_done(&st);

		/* only the named paths: l1 changes, l2 goes, l4 is not named */
		struct snap_label l2[] = { { "l1", "updated" }, { "l4", "v4" } };
		struct snap_labels set2 = { l2, ELEMENTSOF(l2) };
		const char *paths2[] = { "labels.l1", "labels.l2" };
		CONF_OK(snap_update(f->core, cases[i].name, &set2, paths2, 2, &st, &err), err);
		struct snap_label want2[] = { { "l1", "updated" }, { "l3", "v3" }, { root_key, "now" } };
		assert_labels(&st.labels, want2, ELEMENTSOF(want2));
		snap_info_done(&st);

		/* "labels": all of them */
		struct snap_label l3[] = { { "l4", "v4" }, { root_key, "now" } };
		struct snap_labels set3 = { l3, ELEMENTSOF(l3) };
		const char *paths3[] = { "labels" };
		CONF_OK(snap_update(f->core, cases[i].name, &set3, paths3, 1, &st, &err), err);
		assert_labels(&st.labels, l3, ELEMENTSOF(l3));
		snap_info_done(&st);

		/* an immutable field */
		const char *paths4[] = { "parent" };
		assert_int_equal(snap_update(f->core, cases[i].name, &set3, paths4, 1, NULL, &err), -EINVAL);
		assert_true(err.message[0] != '\0');

		/* "K=" edits remove, "K=V" edits set */
		struct snap_label edits[] = { { "l4", "" }, { "l5", "v5" } };
		struct snap_labels eset = { edits, ELEMENTSOF(edits) };
		CONF_OK(snap_label_edit(f->core, cases[i].name, &eset, &err), err);
		conf_stat(f, cases[i].name, &st);
		struct snap_label want5[] = { { "l5", "v5" }, { root_key, "now" } };
		assert_labels(&st.labels, want5, ELEMENTSOF(want5));
		snap_info_done(&st);
	}
}

void test_remove(void **state)
{
	struct conf *f = *state;
	conf_prepare(f, "committed-a", NULL);
	conf_commit(f, "committed-1", "committed-a");
	conf_prepare(f, "reuse-1", "committed-1");
	conf_remove(f, "reuse-1");
	conf_view(f, "reuse-1", "committed-1");
	conf_remove(f, "reuse-1");
	conf_prepare(f, "reuse-1", NULL);
	conf_remove(f, "committed-1");
	conf_commit(f, "committed-1", "reuse-1");

	struct snap_error err = { 0 };
	assert_int_equal(snap_remove(f->core, "no-such-key", &err), -ENOENT);
	assert_non_null(strstr(err.message, "no-such-key"));
}

static int count_walk(const struct snap_info *info, void *userdata)
{
	return 0;
}

void test_walk(void **state)
{
	struct conf *f = *state;
	struct snap_error err = { 0 };
	struct snap_label root = { "containerd.io/gc.root", "check-walk" };
	struct snap_labels opt = { &root, 1 };
	struct snap_label wl1[] = { { "l", "1" }, root }, wl2[] = { { "l", "2" }, root }, wl3[] = { { "l", "3" }, root };
	struct snap_labels l1 = { wl1, 2 }, l2 = { wl2, 2 }, l3 = { wl3, 2 };

	CONF_OK(snap_prepare(f->core, "a-np", NULL, &opt, NULL, &err), err);
	CONF_OK(snap_prepare(f->core, "p-tmp", NULL, &opt, NULL, &err), err);
	CONF_OK(snap_commit(f->core, "p", "p-tmp", &opt, &err), err);
	CONF_OK(snap_prepare(f->core, "a", "p", &opt, NULL, &err), err);
	CONF_OK(snap_view(f->core, "v", "p", &opt, NULL, &err), err);
	CONF_OK(snap_prepare(f->core, "p-wl-tmp", NULL, &opt, NULL, &err), err);
	CONF_OK(snap_commit(f->core, "p-wl", "p-wl-tmp", &l1, &err), err);
	CONF_OK(snap_prepare(f->core, "a-wl", "p-wl", &l2, NULL, &err), err);
	CONF_OK(snap_view(f->core, "v-wl", "p-wl", &l3, NULL, &err), err);
	CONF_OK(snap_prepare(f->core, "a-np-wl", NULL, &l2, NULL, &err), err);

	static const struct {
		const char *matches; /* sorted */
		const char *filters[2];
	} cases[] = {
		{ "a a-np a-np-wl a-wl p p-wl v v-wl", { "labels.\"containerd.io/gc.root\"==check-walk" } },
		{ "a a-np a-np-wl a-wl", { "kind==active,labels.\"containerd.io/gc.root\"==check-walk" } },
		{ "v v-wl", { "kind==view,labels.\"containerd.io/gc.root\"==check-walk" } },
		{ "p p-wl", { "kind==committed,labels.\"containerd.io/gc.root\"==check-walk" } },
		{ "a-np-wl p", { "name==p", "name==a-np-wl" } },
		{ "a-wl", { "name==a-wl,labels.l" } },
		{ "a v", { "parent==p" } },
		{ "a a-wl v v-wl", { "parent!=\"\",labels.\"containerd.io/gc.root\"==check-walk" } },
		{ "a-np-wl a-wl p-wl v-wl", { "labels.l" } },
		{ "a-np-wl a-wl", { "labels.l==2" } },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		size_t n = cases[i].filters[1] ? 2 : 1;
		_cleanup_free_ char *got = conf_walk_keys(f, cases[i].filters, n);
		if (strcmp(got, cases[i].matches) != 0)
			fail_msg("walk %s%s%s: got \"%s\", expected \"%s\"", cases[i].filters[0], n > 1 ? " OR " : "",
				 n > 1 ? cases[i].filters[1] : "", got, cases[i].matches);
	}

	/* a filter that does not parse is an invalid argument */
	const char *bad[] = { "==x" };
	assert_int_equal(snap_walk(f->core, bad, 1, count_walk, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, "==x"));
}

struct stat_walk {
	struct conf *f;
	size_t seen;
};

static int stat_during_walk(const struct snap_info *info, void *userdata)
{
	struct stat_walk *w = userdata;
	if (strncmp(info->key, "stats-in-walk-", 14) != 0)
		return 0;
	struct snap_info st = { 0 };
	conf_stat(w->f, info->key, &st);
	assert_same_info(info, &st);
	snap_info_done(&st);
	w->seen++;
	return 0;
}

void test_stat_in_walk(void **state)
{
	struct conf *f = *state;
	conf_prepare(f, "stats-in-walk-c1-a", NULL);
	conf_commit(f, "stats-in-walk-c1", "stats-in-walk-c1-a");
	conf_prepare(f, "stats-in-walk-c2-a", "stats-in-walk-c1");
	conf_commit(f, "stats-in-walk-c2", "stats-in-walk-c2-a");
	conf_prepare(f, "stats-in-walk-a1", "stats-in-walk-c2");
	conf_view(f, "stats-in-walk-v1", "stats-in-walk-c2");
	struct stat_walk w = { .f = f };
	struct snap_error err = { 0 };
	CONF_OK(snap_walk(f->core, NULL, 0, stat_during_walk, &w, &err), err);
	assert_int_equal(w.seen, 4);
}

void test_close_twice(void **state)
{
	struct conf *f = *state;
	/* A second handle on the same root works beside the first, and
	 * closing them in any order (and closing "nothing") is harmless. */
	struct snap_core *second = conf_open_core(f);
	conf_prepare(f, "close-prepare", NULL);
	conf_commit(f, "close", "close-prepare");
	struct snap_info st = { 0 };
	struct snap_error err = { 0 };
	CONF_OK(snap_stat(second, "close", &st, &err), err);
	snap_info_done(&st);
	conf_remove(f, "close");
	assert_int_equal(snap_stat(second, "close", &st, &err), -ENOENT);
	conf_prepare(f, "kept", NULL);
	snap_core_close(f->core);
	f->core = NULL;
	snap_core_close(NULL);
	snap_core_close(second);

	/* reopened, the root is as it was left */
	f->core = conf_open_core(f);
	_cleanup_free_ char *keys = conf_walk_keys(f, NULL, 0);
	assert_string_equal(keys, "kept");
}

void test_usage(void **state)
{
	struct conf *f = *state;
	struct snap_error err = { 0 };
	_cleanup_free_ char *target = conf_prepare_mount(f, "preparing", NULL);
	struct snap_usage empty = { -1, -1 };
	CONF_OK(snap_usage_get(f->core, "preparing", &empty, &err), err);
	assert_true(empty.size >= 0 && empty.inodes >= 0);
	{
		_cleanup_close_ int dir = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(dir >= 0);
		_cleanup_close_ int fd = openat(dir, "data", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		char buf[64 * 1024];
		memset(buf, 'u', sizeof(buf));
		assert_int_equal(snap_write_all(fd, buf, sizeof(buf)), 0);
		/* on disk, so every driver's block count sees it */
		assert_int_equal(fsync(fd), 0);
		assert_int_equal(mkdirat(dir, "d", 0755), 0);
	}
	conf_umount(target);
	/* an active snapshot's usage is computed when asked */
	struct snap_usage active = { -1, -1 };
	CONF_OK(snap_usage_get(f->core, "preparing", &active, &err), err);
	assert_true(active.size >= empty.size + 64 * 1024);
	assert_true(active.inodes >= empty.inodes + 2);
	/* a committed one keeps what it held */
	conf_commit(f, "committed", "preparing");
	struct snap_usage committed = { -1, -1 };
	CONF_OK(snap_usage_get(f->core, "committed", &committed, &err), err);
	assert_true(committed.size >= 64 * 1024);
	assert_true(committed.inodes >= 2);
	assert_int_equal(snap_usage_get(f->core, "preparing", &committed, &err), -ENOENT);
}
