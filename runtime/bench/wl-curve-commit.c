/* SPDX-License-Identifier: Apache-2.0 */
/* Cost curves of diff + commit: against the number of changes (1 to
 * 100,000 on one base large enough for them) and against the size of the
 * base (10 changes on bases of 1,000 to 100,000 files).  A driver whose
 * diff walks only the changes (overlay's upper dir, btrfs's tree compare)
 * should stay flat on the second curve; the generic walk (vfs) grows with
 * the base. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/macro.h"
#include "wl-util.h"

#define BASE_CHANGES 10 /* the changes on the base-size curve */

/* The base of the changes curve holds as many files as the most changes
 * (a quarter of them are new, the rest modify or delete base files). */
static int changes_base_files(const struct bench_scale *s)
{
	int max = 0;
	for (size_t k = 0; k < ELEMENTSOF(s->curve_changes) && s->curve_changes[k]; k++)
		max = s->curve_changes[k];
	return max;
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	(void)state;
	struct wl_base a = { b, changes_base_files(b->scale), 1 << 20 };
	int r = wl_make_committed(env, "cc-base", NULL, wl_fill_base, &a, err);
	for (size_t k = 0; k < ELEMENTSOF(b->scale->curve_bases) && b->scale->curve_bases[k] && r == 0; k++) {
		char name[64];
		snprintf(name, sizeof(name), "cc-base-%d", b->scale->curve_bases[k]);
		a.files = b->scale->curve_bases[k];
		r = wl_make_committed(env, name, NULL, wl_fill_base, &a, err);
	}
	return r;
}

/* N changes on `base`, then diff + commit timed; the committed result is
 * removed again. */
static int one(struct bench_ctx *b, struct bench_env *env, int runno, const char *base, int base_files, int n,
	       double *diff_ms, double *total_ms, struct snap_error *err)
{
	(void)b;
	char key[96];
	snprintf(key, sizeof(key), "cc-%d-%s-%d", runno + 1000, base, n);
	return wl_change_commit(env, key, base, n, base_files, diff_ms, total_ms, err);
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	(void)state;
	const struct bench_scale *s = b->scale;
	int base = changes_base_files(s);
	char metric[96];
	int r = 0;
	for (size_t k = 0; k < ELEMENTSOF(s->curve_changes) && s->curve_changes[k] && r == 0; k++) {
		double diff, total;
		r = one(b, env, runno, "cc-base", base, s->curve_changes[k], &diff, &total, err);
		if (r < 0)
			break;
		snprintf(metric, sizeof(metric), "diff, base of %d files", base);
		bench_record_x(b, env, metric, "ms", "changes", s->curve_changes[k], diff);
		snprintf(metric, sizeof(metric), "diff+commit, base of %d files", base);
		bench_record_x(b, env, metric, "ms", "changes", s->curve_changes[k], total);
	}
	for (size_t k = 0; k < ELEMENTSOF(s->curve_bases) && s->curve_bases[k] && r == 0; k++) {
		char name[64];
		snprintf(name, sizeof(name), "cc-base-%d", s->curve_bases[k]);
		double diff, total;
		r = one(b, env, runno, name, s->curve_bases[k], BASE_CHANGES, &diff, &total, err);
		if (r < 0)
			break;
		snprintf(metric, sizeof(metric), "diff, %d changes", BASE_CHANGES);
		bench_record_x(b, env, metric, "ms", "base files", s->curve_bases[k], diff);
		snprintf(metric, sizeof(metric), "diff+commit, %d changes", BASE_CHANGES);
		bench_record_x(b, env, metric, "ms", "base files", s->curve_bases[k], total);
	}
	return r;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	(void)state;
	wl_remove_quiet(env, "cc-base");
	for (size_t k = 0; k < ELEMENTSOF(b->scale->curve_bases) && b->scale->curve_bases[k]; k++) {
		char name[64];
		snprintf(name, sizeof(name), "cc-base-%d", b->scale->curve_bases[k]);
		wl_remove_quiet(env, name);
	}
}

const struct bench_workload bench_wl_curve_commit = {
	.name = "curve-commit",
	.description = "cost curves: diff and diff+commit vs changes (1 to 100,000) and vs base size (10 changes)",
	.setup = setup,
	.run = run,
	.teardown = teardown,
};
