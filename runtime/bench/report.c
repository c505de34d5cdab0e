/* SPDX-License-Identifier: Apache-2.0 */
/* The table on stdout and the JSON document (docs/bench-schema.json). */
#include <jansson.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "util/macro.h"
#include "config.h"

/* The best median among the drivers for one (workload, metric). */
static double best_median(struct bench_ctx *b, const struct bench_result *r)
{
	bool lower = bench_unit_lower_is_better(r->unit);
	double best = 0;
	bool have = false;
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *o = &b->results[i];
		if (strcmp(o->workload, r->workload) || strcmp(o->metric, r->metric) || o->n == 0)
			continue;
		struct bench_stats s;
		bench_stats_compute(o->v, o->n, &s);
		if (!have || (lower ? s.median < best : s.median > best))
			best = s.median;
		have = true;
	}
	return best;
}

static double ratio_to_best(struct bench_ctx *b, const struct bench_result *r, double median)
{
	double best = best_median(b, r);
	if (bench_unit_lower_is_better(r->unit))
		return best > 0 ? median / best : 1.0;
	return median > 0 ? best / median : 1.0;
}

static const char *fmt_value(char *buf, size_t len, double v, const char *unit)
{
	if (strcmp(unit, "bytes") == 0)
		cli_format_size(buf, len, (int64_t)v);
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
	return buf;
}

void bench_print_table(struct bench_ctx *b, FILE *out)
{
	static const char *const headers[] = { "WORKLOAD", "METRIC", "DRIVER", "UNIT", "MEDIAN",
					       "P90", "MIN", "MAX", "N", "VS BEST" };
	struct cli_table *t = cli_table_new(ELEMENTSOF(headers), headers);
	if (!t)
		return;
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		struct bench_stats s;
		bench_stats_compute(r->v, r->n, &s);
		char med[32], p90[32], mn[32], mx[32], n[16], ratio[32];
		snprintf(n, sizeof(n), "%zu", s.n);
		snprintf(ratio, sizeof(ratio), "%.2fx", ratio_to_best(b, r, s.median));
		const char *cells[] = { r->workload, r->metric, r->driver, r->unit,
					fmt_value(med, sizeof(med), s.median, r->unit),
					fmt_value(p90, sizeof(p90), s.p90, r->unit),
					fmt_value(mn, sizeof(mn), s.min, r->unit),
					fmt_value(mx, sizeof(mx), s.max, r->unit), n, ratio };
		cli_table_add(t, cells);
	}
	cli_table_print(t, out);
	cli_table_free(t);
	for (size_t i = 0; i < b->n_envs; i++)
		if (b->envs[i].skip_reason[0])
			fprintf(out, "skipped %s: %s\n", b->envs[i].driver, b->envs[i].skip_reason);
}

int bench_write_json(struct bench_ctx *b, const char *path, struct snap_error *err)
{
	struct utsname u;
	uname(&u);
	struct sysinfo si;
	sysinfo(&si);
	char started[48];
	cli_format_time(started, sizeof(started), snap_now_ns());

	json_t *drivers = json_array();
	for (size_t i = 0; i < b->n_envs; i++) {
		const struct bench_env *e = &b->envs[i];
		json_array_append_new(drivers, json_pack("{s:s, s:b, s:s?}", "name", e->driver, "peer",
							 e->peer, "skipped",
							 e->skip_reason[0] ? e->skip_reason : NULL));
	}
	json_t *results = json_array();
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		struct bench_stats s;
		bench_stats_compute(r->v, r->n, &s);
		json_t *samples = json_array();
		for (size_t j = 0; j < r->n; j++)
			json_array_append_new(samples, json_real(r->v[j]));
		json_array_append_new(results,
				      json_pack("{s:s, s:s, s:s, s:s, s:o, s:f, s:f, s:f, s:f, s:f}",
						"workload", r->workload, "metric", r->metric, "unit", r->unit,
						"driver", r->driver, "samples", samples, "median", s.median,
						"p90", s.p90, "min", s.min, "max", s.max, "ratio_to_best",
						ratio_to_best(b, r, s.median)));
	}
	json_t *doc = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:i, s:I}, s:s, s:i, s:i, s:I, s:o, s:o}",
				"schema", "snapctl-bench/1", "snapctl_version", SNAPCTL_VERSION,
				"created", started, "host", "kernel", u.release, "machine", u.machine,
				"cpus", (int)sysconf(_SC_NPROCESSORS_ONLN), "memory_bytes",
				(json_int_t)((uint64_t)si.totalram * si.mem_unit), "scale",
				b->scale->name, "runs", b->runs, "warmup", b->warmup, "seed",
				(json_int_t)b->seed, "drivers", drivers, "results", results);
	if (!doc)
		return snap_error_set(err, -ENOMEM, "bench: build JSON: out of memory");
	int r = 0;
	if (strcmp(path, "-") == 0) {
		if (json_dumpf(doc, stdout, JSON_INDENT(2)) < 0)
			r = snap_error_set(err, -EIO, "bench: write JSON to stdout failed");
		putchar('\n');
	} else if (json_dump_file(doc, path, JSON_INDENT(2)) < 0) {
		r = snap_error_set(err, -EIO, "bench: write JSON %s: %m", path);
	}
	json_decref(doc);
	return r;
}
