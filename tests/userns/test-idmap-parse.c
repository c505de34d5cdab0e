/* SPDX-License-Identifier: Apache-2.0 */
/* The uid/gidmapping values: what is accepted, what is refused and why,
 * and the host id a container id maps to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/idmap.h"
#include "util/size-label.h"

static struct snap_idrange v[SNAP_IDMAP_MAX];

static int parse(const char *s, size_t *n, struct snap_error *err)
{
	snap_error_clear(err);
	return snap_idmap_parse(s, "uidmapping", v, n, err);
}

static void test_accepts(void **state)
{
	size_t n;
	struct snap_error err;
	assert_int_equal(parse("0:100000:65536", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].ctr, 0);
	assert_int_equal(v[0].host, 100000);
	assert_int_equal(v[0].size, 65536);
	assert_int_equal(parse("0:1000:1,1:100000:65535", &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[1].ctr, 1);
	/* the last valid id is 4294967294 */
	assert_int_equal(parse("4294967294:0:1", &n, &err), 0);
}

static void test_refuses(void **state)
{
	static const struct {
		const char *value, *why;
	} bad[] = {
		{ "", "empty" },
		{ "0:100000", "not containerID:hostID:size" },
		{ "0:100000:65536:1", "not containerID:hostID:size" },
		{ "0:100000:0", "size 0" },
		{ "-1:100000:1", "not containerID:hostID:size" },
		{ "+0:100000:1", "not containerID:hostID:size" },
		{ " 0:100000:1", "not containerID:hostID:size" },
		{ "0:100000:1 ", "not containerID:hostID:size" },
		{ "00:100000:1", "not containerID:hostID:size" },
		{ "0x0:100000:1", "not containerID:hostID:size" },
		{ "0:100000:1,", "not containerID:hostID:size" },
		{ ",0:100000:1", "not containerID:hostID:size" },
		{ "0:100000:1,,1:200000:1", "not containerID:hostID:size" },
		{ "4294967296:0:1", "not containerID:hostID:size" },
		{ "4294967295:0:1", "runs past id 4294967294" },
		{ "0:4294967290:10", "runs past id 4294967294" },
		{ "0:100000:10,5:200000:10", "overlap on the container side" },
		{ "0:100000:10,20:100005:10", "overlap on the host side" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n;
		struct snap_error err;
		int r = parse(bad[i].value, &n, &err);
		if (r != -EINVAL || !strstr(err.message, bad[i].why))
			fail_msg("'%s': r=%d, message '%s', expected '%s'", bad[i].value, r, err.message, bad[i].why);
	}
}

static void test_too_many(void **state)
{
	char *s = malloc(SNAP_IDMAP_MAX * 32 + 64), *p = s;
	for (int i = 0; i <= SNAP_IDMAP_MAX; i++)
		p += sprintf(p, "%s%d:%d:1", i ? "," : "", i, 100000 + i);
	size_t n;
	struct snap_error err;
	assert_int_equal(parse(s, &n, &err), -EINVAL);
	assert_non_null(strstr(err.message, "more than 340"));
	*strrchr(s, ',') = '\0';
	assert_int_equal(parse(s, &n, &err), 0);
	assert_int_equal(n, SNAP_IDMAP_MAX);
	free(s);
}

static void test_labels_both_or_neither(void **state)
{
	struct snap_idmap *m = malloc(sizeof(*m));
	struct snap_error err = { 0 };
	struct snap_label only_uid[] = { { SNAP_LABEL_UIDMAPPING, "0:100000:65536" } };
	assert_int_equal(snap_idmap_from_labels(only_uid, 1, m, &err), -EINVAL);
	assert_non_null(strstr(err.message, "both or neither"));
	assert_int_equal(snap_idmap_from_labels(NULL, 0, m, &err), 0);
	struct snap_label both[] = { { SNAP_LABEL_UIDMAPPING, "0:100000:65536" },
				     { SNAP_LABEL_GIDMAPPING, "0:200000:65536" } };
	assert_int_equal(snap_idmap_from_labels(both, 2, m, &err), 1);
	uid_t u;
	gid_t g;
	snap_idmap_root(m, &u, &g);
	assert_int_equal(u, 100000);
	assert_int_equal(g, 200000);
	uint32_t h;
	assert_true(snap_idmap_to_host(m->uid, m->n_uid, 65535, &h));
	assert_int_equal(h, 165535);
	assert_false(snap_idmap_to_host(m->uid, m->n_uid, 65536, &h));
	free(m);
}

static void test_size_label(void **state)
{
	uint64_t b;
	assert_int_equal(snap_size_label_parse("1048576", &b), 0);
	assert_int_equal(b, 1048576);
	assert_int_equal(snap_size_label_parse("9223372036854775807", &b), 0);
	const char *bad[] = { "", "0", "01", "1G", "-1", "9223372036854775808", " 1", NULL };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(snap_size_label_parse(bad[i], &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_labels_both_or_neither),
		cmocka_unit_test(test_size_label),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
