/* SPDX-License-Identifier: Apache-2.0 */
/* The report: a table on stdout, and JSON (docs/fstest.schema.json). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fstest.h"
#include "util/macro.h"

static const char *status_name(const struct fst_config *c)
{
	switch (c->status) {
	case FST_DONE:
		return c->ref < 0 ? "reference" : c->n_unexpected ? "DIVERGES" : "ok";
	case FST_SKIPPED:
		return "skipped";
	case FST_FAILED:
		return "FAILED";
	default:
		return "not run";
	}
}

static const char *api_name(enum fst_api a)
{
	return a == FST_API_NEW ? "fsopen" : a == FST_API_LEGACY ? "mount2" : "-";
}

static void clip(char *dst, size_t len, const char *s, size_t max)
{
	if (strlen(s) <= max)
		snprintf(dst, len, "%s", s);
	else
		snprintf(dst, len, "%.*s...", (int)(max - 3), s);
}

static size_t family_count(const struct fst_run *run)
{
	(void)run;
	return fst_n_families;
}

void fst_report_table(const struct fst_run *run, bool verbose)
{
	size_t done = 0, skipped = 0, failed = 0, unexpected = 0;
	for (size_t i = 0; i < run->n_configs; i++) {
		const struct fst_config *c = &run->configs[i];
		done += c->status == FST_DONE;
		skipped += c->status == FST_SKIPPED;
		failed += c->status == FST_FAILED;
		unexpected += c->n_unexpected;
	}
	printf("snapctl fstest: %s\n", run->kernel);
	printf("%zu scenarios in %zu families x %zu configurations (%zu ran, %zu skipped, %zu failed) in %.1f s, load average %s\n",
	       run->n_sc, family_count(run), run->n_configs, done, skipped, failed, run->seconds, run->loadavg);
	printf("probed: %s\n\n", run->features);

	static const char *const head[] = { "CONFIGURATION", "STATUS", "REFERENCE", "EXPECTED", "UNEXPECTED", "TIME", "NOTE" };
	struct cli_table *t = cli_table_new(ELEMENTSOF(head), head);
	for (size_t i = 0; t && i < run->n_configs; i++) {
		const struct fst_config *c = &run->configs[i];
		char exp[32], unexp[32], time[32], note[200];
		snprintf(exp, sizeof(exp), "%zu", c->n_expected);
		snprintf(unexp, sizeof(unexp), "%zu", c->n_unexpected);
		snprintf(time, sizeof(time), "%.1fs", c->seconds);
		if (c->status == FST_SKIPPED || c->status == FST_FAILED)
			clip(note, sizeof(note), c->reason, 150);
		else if (c->fset && strstr(c->fset->name, "xino") && !(fst_config_features(c) & FST_FEAT_XINO))
			snprintf(note, sizeof(note), "%.100s [xino=on ignored: all layers on one filesystem]", c->effective);
		else
			clip(note, sizeof(note), c->effective, 150);
		const char *row[] = { c->name, status_name(c), c->ref >= 0 ? run->configs[c->ref].name : "-",
				      c->status == FST_DONE ? exp : "-", c->status == FST_DONE ? unexp : "-",
				      c->status == FST_PENDING ? "-" : time, note };
		cli_table_add(t, row);
	}
	if (t) {
		cli_table_print(t, stdout);
		cli_table_free(t);
	}

	for (int pass = 0; pass < 2; pass++) {
		bool want_expected = pass == 1;
		if (want_expected && !verbose)
			break;
		size_t n = 0;
		for (size_t i = 0; i < run->n_diffs; i++)
			n += (run->diffs[i].rule != NULL) == want_expected;
		if (n == 0)
			continue;
		printf("\n%s differences (%zu):\n", want_expected ? "Expected" : "UNEXPECTED", n);
		static const char *const dh[] = { "CONFIGURATION", "SCENARIO", "OBSERVATION", "FIELD", "REFERENCE", "GOT", "RULE" };
		struct cli_table *d = cli_table_new(ELEMENTSOF(dh), dh);
		for (size_t i = 0; d && i < run->n_diffs; i++) {
			const struct fst_diff *x = &run->diffs[i];
			if ((x->rule != NULL) != want_expected)
				continue;
			char key[80], a[60], b[60];
			clip(key, sizeof(key), x->key, 60);
			clip(a, sizeof(a), x->ref_value, 40);
			clip(b, sizeof(b), x->value, 40);
			const char *row[] = { run->configs[x->config].name, x->scenario, key, x->field, a, b,
					      x->rule ? x->rule->id : "-" };
			cli_table_add(d, row);
		}
		if (d) {
			cli_table_print(d, stdout);
			cli_table_free(d);
		}
	}

	/* Which rules explained what, once each. */
	bool any = false;
	for (size_t r = 0; r < fst_n_rules; r++) {
		size_t n = 0, nc = 0;
		ssize_t last = -1;
		for (size_t i = 0; i < run->n_diffs; i++)
			if (run->diffs[i].rule == &fst_rules[r]) {
				n++;
				if ((ssize_t)run->diffs[i].config != last)
					nc++;
				last = (ssize_t)run->diffs[i].config;
			}
		if (!n)
			continue;
		if (!any)
			printf("\nExpected differences by rule (docs/fstest.md):\n");
		any = true;
		printf("  %-30s %5zu in %3zu configurations%s: %s\n", fst_rules[r].id, n, nc,
		       fst_rules[r].known_issue ? " (known issue)" : "", fst_rules[r].reason);
	}
	printf("\n%s: %zu unexpected difference%s, %zu configuration%s failed\n",
	       unexpected || failed ? "FAIL" : "PASS", unexpected, unexpected == 1 ? "" : "s", failed,
	       failed == 1 ? "" : "s");
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

int fst_report_json(const struct fst_run *run, const char *path, struct snap_error *err)
{
	json_t *root = json_object();
	json_object_set_new(root, "schema", json_string("snapctl-fstest/1"));
	json_object_set_new(root, "kernel", json_string(run->kernel));
	json_object_set_new(root, "probed_features", json_string(run->features));
	json_object_set_new(root, "seconds", json_real(run->seconds));
	json_object_set_new(root, "loadavg", json_string(run->loadavg));

	json_t *sc = json_array();
	for (size_t i = 0; i < run->n_sc; i++) {
		const char *slash = strchr(run->sc[i]->name, '/');
		json_array_append_new(sc, json_pack("{s:s, s:s%, s:s, s:b}", "name", run->sc[i]->name, "family",
						    run->sc[i]->name, slash ? (size_t)(slash - run->sc[i]->name) : strlen(run->sc[i]->name),
						    "what", run->sc[i]->what, "metadata_only", run->sc[i]->meta_only));
	}
	json_object_set_new(root, "scenarios", sc);

	json_t *cfgs = json_array();
	size_t unexpected = 0, failed = 0;
	for (size_t i = 0; i < run->n_configs; i++) {
		const struct fst_config *c = &run->configs[i];
		unexpected += c->n_unexpected;
		failed += c->status == FST_FAILED;
		json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:I, s:I}", "name", c->name, "driver",
				      c->driver, "feature_set", str_or_null(c->fset ? c->fset->name : NULL), "backing",
				      c->backing->name, "mount_path", api_name(c->api), "status", status_name(c), "reason",
				      str_or_null(c->status == FST_SKIPPED || c->status == FST_FAILED ? c->reason : NULL),
				      "effective_options", str_or_null(c->effective), "reference",
				      str_or_null(c->ref >= 0 ? run->configs[c->ref].name : NULL), "seconds", c->seconds,
				      "expected", (json_int_t)c->n_expected, "unexpected", (json_int_t)c->n_unexpected);
		json_array_append_new(cfgs, o);
	}
	json_object_set_new(root, "configurations", cfgs);

	json_t *diffs = json_array();
	for (size_t i = 0; i < run->n_diffs; i++) {
		const struct fst_diff *d = &run->diffs[i];
		json_array_append_new(diffs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "configuration",
						       run->configs[d->config].name, "scenario", d->scenario, "observation",
						       d->key, "field", d->field, "reference_value", d->ref_value, "value",
						       d->value, "expected", d->rule != NULL, "rule",
						       str_or_null(d->rule ? d->rule->id : NULL)));
	}
	json_object_set_new(root, "differences", diffs);

	json_t *rules = json_array();
	for (size_t r = 0; r < fst_n_rules; r++)
		json_array_append_new(rules, json_pack("{s:s, s:s, s:s}", "id", fst_rules[r].id, "kind",
								       fst_rules[r].known_issue ? "known-issue" : "kernel",
								       "reason", fst_rules[r].reason));
	json_object_set_new(root, "rules", rules);
	json_object_set_new(root, "unexpected", json_integer((json_int_t)unexpected));
	json_object_set_new(root, "failed", json_integer((json_int_t)failed));
	json_object_set_new(root, "result", json_string(unexpected || failed ? "fail" : "pass"));

	int r = json_dump_file(root, path, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	if (r < 0)
		return snap_error_set(err, -EIO, "write %s: %s", path, strerror(errno ? errno : EIO));
	return 0;
}
