/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl check [--repair]: metadata against disk; snapctl gc. */
#include <jansson.h>
#include <string.h>

#include "check.h"
#include "commands.h"
#include "snapshot-output.h"
#include "spec/specs.h"

struct check_out {
	struct cli_ctx *ctx;
	json_t *arr;
	long found;
	long repairable; /* found and not yet repaired, but --repair would */
};

static void report(const struct snap_check_item *it, void *userdata)
{
	struct check_out *o = userdata;
	o->found++;
	if (it->repairable && !it->repaired)
		o->repairable++;
	if (o->arr) {
		json_array_append_new(o->arr, json_pack("{s:s, s:s, s:s, s:b, s:b, s:s?}", "kind",
							snap_check_kind_name(it->kind), "object", it->object,
							"message", it->message, "repairable", it->repairable,
							"repaired", it->repaired, "repair_error", it->repair_error));
		return;
	}
	const char *state = it->repaired ? "repaired" : it->repair_error ? "repair failed" :
			    it->repairable ? "repairable" : "needs attention";
	printf("%-18s %s: %s [%s]%s%s\n", snap_check_kind_name(it->kind), it->object, it->message, state,
	       it->repair_error ? ": " : "", it->repair_error ? it->repair_error : "");
}

int cmd_check(struct cli_ctx *ctx, int argc, char **argv)
{
	bool repair = false;
	struct cli_parser p = { .spec = &cli_spec_check };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0)
		if (c == 'r')
			repair = true;
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct check_out o = { .ctx = ctx, .arr = ctx->json ? json_array() : NULL };
	struct snap_error err = { 0 };
	int left = snap_check(core, repair, report, &o, &err);
	if (left < 0) {
		json_decref(o.arr);
		return cli_fail(ctx, &err);
	}
	if (o.arr)
		print_json(json_pack("{s:b, s:i, s:o}", "consistent", left == 0, "unrepaired", left,
				     "findings", o.arr), JSON_INDENT(2));
	else if (o.found == 0)
		printf("%s: consistent\n", snap_core_root(core));
	else
		printf("%ld finding%s, %d not repaired%s\n", o.found, o.found == 1 ? "" : "s", left,
		       o.repairable && !repair ? " (snapctl check --repair fixes the repairable ones)" : "");
	/* Inconsistencies left are a failed check: scripts see exit 1. */
	return left == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int cmd_gc(struct cli_ctx *ctx, int argc, char **argv)
{
	int c = cli_parse_plain(ctx, &cli_spec_gc, argc, argv);
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	if (ctx->verbosity > 0) {
		size_t n;
		const struct snap_gc_phase *p = snap_gc_phases(&n);
		for (size_t i = 0; i < n; i++)
			cli_verbose(ctx, "gc phase %zu: %s", i + 1, p[i].name);
	}
	struct snap_gc_stats st = { 0 };
	struct snap_error err = { 0 };
	if (snap_gc(core, &st, &err) < 0)
		return cli_fail(ctx, &err);
	if (ctx->json) {
		print_json(json_pack("{s:I, s:I, s:I, s:I}", "snapshots_removed", (json_int_t)st.snapshots_removed,
				     "staging_removed", (json_int_t)st.staging_removed, "blobs_removed",
				     (json_int_t)st.blobs_removed, "bytes_freed", (json_int_t)st.bytes_freed),
			   JSON_INDENT(2));
	} else {
		char freed[32];
		cli_format_size(freed, sizeof(freed), (int64_t)st.bytes_freed);
		printf("removed %llu snapshots, %llu staging leftovers, %llu blobs; %s freed\n",
		       (unsigned long long)st.snapshots_removed, (unsigned long long)st.staging_removed,
		       (unsigned long long)st.blobs_removed, freed);
	}
	return EXIT_SUCCESS;
}
