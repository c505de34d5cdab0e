/* SPDX-License-Identifier: Apache-2.0 */
/* The table on stdout and the JSON document (docs/bench-schema.json). */
#include <jansson.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "util/fs-util.h"
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
		if (strcmp(o->workload, r->workload) || strcmp(o->metric, r->metric) || o->n == 0 ||
		    !o->x_label != !r->x_label || o->x != r->x)
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

/* The metric's name, and for a point of a curve where it was taken. */
static const char *metric_name(char *buf, size_t len, const struct bench_result *r)
{
	if (!r->x_label)
		return r->metric;
	snprintf(buf, len, "%s, %.4g %s", r->metric, r->x, r->x_label);
	return buf;
}

/* Mean of the load averages beside a result's samples; -1 if unknown. */
/* Where the roots were: the work directory's filesystem, and whether
 * --fs made it for the run. */
static json_t *work_fs_json(const struct bench_ctx *b)
{
	struct statfs sf;
	const char *type = b->work && statfs(b->work, &sf) == 0 ? snap_fs_type_name(sf.f_type) : NULL;
	json_t *o = json_pack("{s:o, s:b}", "type", type ? json_string(type) : json_null(), "made_for_run",
			      b->fs.type != NULL);
	if (o && b->fs.type) {
		json_object_set_new(o, "image_bytes", json_integer((json_int_t)b->fs.size));
		json_object_set_new(o, "loop_direct_io", json_boolean(b->fs.direct_io));
	}
	return o;
}

static double mean_load(const struct bench_result *r)
{
	double sum = 0;
	size_t n = 0;
	for (size_t i = 0; r->load && i < r->n; i++)
		if (r->load[i] >= 0) {
			sum += r->load[i];
			n++;
		}
	return n ? sum / (double)n : -1;
}

void bench_print_table(struct bench_ctx *b, FILE *out)
{
	static const char *const headers[] = { "WORKLOAD", "METRIC", "DRIVER", "UNIT", "MEDIAN",
					       "P90", "MIN", "MAX", "N", "VS BEST", "LOAD" };
	struct cli_table *t = cli_table_new(ELEMENTSOF(headers), headers);
	if (!t)
		return;
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		struct bench_stats s;
		bench_stats_compute(r->v, r->n, &s);
		char med[32], p90[32], mn[32], mx[32], n[16], ratio[32], load[16], metric[200];
		snprintf(n, sizeof(n), "%zu", s.n);
		snprintf(ratio, sizeof(ratio), "%.2fx", ratio_to_best(b, r, s.median));
		double l = mean_load(r);
		if (l >= 0)
			snprintf(load, sizeof(load), "%.1f", l);
		else
			snprintf(load, sizeof(load), "-");
		const char *cells[] = { r->workload, metric_name(metric, sizeof(metric), r), r->driver, r->unit,
					fmt_value(med, sizeof(med), s.median, r->unit),
					fmt_value(p90, sizeof(p90), s.p90, r->unit),
					fmt_value(mn, sizeof(mn), s.min, r->unit),
					fmt_value(mx, sizeof(mx), s.max, r->unit), n, ratio, load };
		cli_table_add(t, cells);
	}
	cli_table_print(t, out);
	cli_table_free(t);
	for (size_t i = 0; i < b->n_envs; i++)
		if (b->envs[i].skip_reason[0])
			fprintf(out, "skipped %s: %s\n", b->envs[i].driver, b->envs[i].skip_reason);
}

/* The curves: for each (workload, metric, driver) measured at several x,
 * its points (x, median) in x order and the log-log slope. */
static json_t *curves_json(struct bench_ctx *b)
{
	json_t *curves = json_array();
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		bool first = r->x_label != NULL;
		for (size_t j = 0; first && j < i; j++) {
			const struct bench_result *o = &b->results[j];
			first = !(o->x_label && !strcmp(o->workload, r->workload) && !strcmp(o->metric, r->metric) &&
				  !strcmp(o->driver, r->driver));
		}
		if (!first)
			continue;
		_cleanup_free_ double *xs = calloc(b->n_results, sizeof(double));
		_cleanup_free_ double *ys = calloc(b->n_results, sizeof(double));
		if (!xs || !ys)
			break;
		size_t n = bench_curve_points(b, r, r->driver, xs, ys);
		json_t *points = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(points, json_pack("{s:f, s:f}", "x", xs[k], "median", ys[k]));
		struct bench_curve_fit fit;
		json_t *slope = bench_curve_fit(xs, ys, n, &fit) == 0 ? json_real(fit.slope) : json_null();
		json_array_append_new(curves, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "workload", r->workload,
							"metric", r->metric, "unit", r->unit, "x_label", r->x_label,
							"driver", r->driver, "points", points, "loglog_slope", slope));
	}
	return curves;
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
		json_t *d = json_pack("{s:s, s:b, s:s?}", "name", e->driver, "peer", e->peer, "skipped",
				      e->skip_reason[0] ? e->skip_reason : NULL);
		if (e->reference)
			json_object_set_new(d, "reference", json_true());
		json_array_append_new(drivers, d);
	}
	json_t *results = json_array();
	for (size_t i = 0; i < b->n_results; i++) {
		const struct bench_result *r = &b->results[i];
		struct bench_stats s;
		bench_stats_compute(r->v, r->n, &s);
		json_t *samples = json_array();
		for (size_t j = 0; j < r->n; j++)
			json_array_append_new(samples, json_real(r->v[j]));
		double load = mean_load(r);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:f, s:f, s:f, s:f, s:f, s:o}", "workload",
				      r->workload, "metric", r->metric, "unit", r->unit, "driver", r->driver,
				      "samples", samples, "median", s.median, "p90", s.p90, "min", s.min, "max",
				      s.max, "ratio_to_best", ratio_to_best(b, r, s.median), "load_average",
				      load >= 0 ? json_real(load) : json_null());
		if (o && r->x_label) {
			json_object_set_new(o, "x_label", json_string(r->x_label));
			json_object_set_new(o, "x", json_real(r->x));
		}
		json_array_append_new(results, o);
	}
	json_t *doc = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:i, s:I}, s:s, s:i, s:i, s:I, s:o, s:o}",
				"schema", "snapctl-bench/1", "snapctl_version", SNAPCTL_VERSION,
				"created", started, "host", "kernel", u.release, "machine", u.machine,
				"cpus", (int)sysconf(_SC_NPROCESSORS_ONLN), "memory_bytes",
				(json_int_t)((uint64_t)si.totalram * si.mem_unit), "scale",
				b->scale->name, "runs", b->runs, "warmup", b->warmup, "seed",
				(json_int_t)b->seed, "drivers", drivers, "results", results);
	if (doc) {
		json_object_set_new(doc, "curves", curves_json(b));
		json_object_set_new(doc, "work_filesystem", work_fs_json(b));
		json_object_set_new(doc, "load_average",
				    json_pack("{s:o, s:o}", "start",
					      b->load_start >= 0 ? json_real(b->load_start) : json_null(), "end",
					      b->load_end >= 0 ? json_real(b->load_end) : json_null()));
	}
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
