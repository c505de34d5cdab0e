/* SPDX-License-Identifier: Apache-2.0 */
/* Read back a results document (docs/bench-schema.json) so that the table
 * and the charts of a saved run can be drawn again without measuring. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util/macro.h"

static char *dup_or_empty(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return strdup(s ? s : "");
}

int bench_load_json(struct bench_ctx *b, const char *path, struct snap_error *err)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	if (!doc)
		return snap_error_set(err, -EINVAL, "bench: read %s: line %d: %s", path, jerr.line, jerr.text);
	const char *schema = json_string_value(json_object_get(doc, "schema"));
	const char *scale = json_string_value(json_object_get(doc, "scale"));
	json_t *drivers = json_object_get(doc, "drivers"), *results = json_object_get(doc, "results");
	if (!schema || strcmp(schema, "snapctl-bench/1") != 0 || !json_is_array(drivers) || !json_is_array(results)) {
		json_decref(doc);
		return snap_error_set(err, -EINVAL, "bench: %s is not a snapctl-bench/1 document", path);
	}
	b->scale = scale && !strcmp(scale, "tiny")    ? &bench_scale_tiny
		   : scale && !strcmp(scale, "small") ? &bench_scale_small
						       : &bench_scale_full;
	b->runs = (int)json_integer_value(json_object_get(doc, "runs"));
	b->warmup = (int)json_integer_value(json_object_get(doc, "warmup"));
	b->seed = (uint64_t)json_integer_value(json_object_get(doc, "seed"));
	json_t *load = json_object_get(doc, "load_average");
	b->load_start = json_is_number(json_object_get(load, "start")) ? json_number_value(json_object_get(load, "start")) : -1;
	b->load_end = json_is_number(json_object_get(load, "end")) ? json_number_value(json_object_get(load, "end")) : -1;
	b->n_envs = 0;
	b->envs = calloc(json_array_size(drivers) + 1, sizeof(*b->envs));
	b->results = calloc(json_array_size(results) + 1, sizeof(*b->results));
	if (!b->envs || !b->results) {
		json_decref(doc);
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	}
	size_t i;
	json_t *v;
	json_array_foreach(drivers, i, v) {
		struct bench_env *e = &b->envs[b->n_envs++];
		e->driver = dup_or_empty(v, "name");
		e->peer = json_is_true(json_object_get(v, "peer"));
		e->reference = json_is_true(json_object_get(v, "reference"));
		const char *skip = json_string_value(json_object_get(v, "skipped"));
		if (skip)
			snprintf(e->skip_reason, sizeof(e->skip_reason), "%s", skip);
	}
	int r = 0;
	json_array_foreach(results, i, v) {
		struct bench_result *res = &b->results[b->n_results++];
		res->workload = dup_or_empty(v, "workload");
		res->metric = dup_or_empty(v, "metric");
		res->unit = dup_or_empty(v, "unit");
		res->driver = dup_or_empty(v, "driver");
		json_t *samples = json_object_get(v, "samples");
		res->v = calloc(json_array_size(samples) + 1, sizeof(double));
		res->load = calloc(json_array_size(samples) + 1, sizeof(double));
		const char *x_label = json_string_value(json_object_get(v, "x_label"));
		if (x_label) {
			res->x_label = strdup(x_label);
			res->x = json_number_value(json_object_get(v, "x"));
		}
		if (!res->workload || !res->metric || !res->unit || !res->driver || !res->v || !res->load ||
		    (x_label && !res->x_label)) {
			r = snap_error_set(err, -ENOMEM, "bench: out of memory");
			break;
		}
		size_t j;
		json_t *x;
		/* The document keeps the mean load of a result, not each sample's. */
		json_t *l = json_object_get(v, "load_average");
		json_array_foreach(samples, j, x) {
			res->load[res->n] = json_is_number(l) ? json_number_value(l) : -1;
			res->v[res->n++] = json_number_value(x);
		}
	}
	json_decref(doc);
	return r;
}
