/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl ps [-a] [-q] [--no-trunc]: containers, like docker ps; --json
 * also says where a running container's cgroup is. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "container-cgroup.h"
#include "container-cli.h"
#include "container-store.h"
#include "run-userns.h"
#include "spec/specs.h"
#include "util/macro.h"


struct ps_ctx {
	struct cli_ctx *cli;
	struct snap_core *core;
	bool all, quiet, no_trunc;
	struct cli_table *table;
	int failed;
};

/* "Up 3 minutes", "Exited (0) 2 hours ago", "Created" */
static void format_status(const struct snap_container_rec *rec, bool running, char *buf, size_t len)
{
	char ago[64];
	if (running) {
		cli_format_ago(ago, sizeof(ago), rec->created_ns);
		size_t n = strlen(ago);
		if (n > 4 && strcmp(ago + n - 4, " ago") == 0)
			ago[n - 4] = '\0';
		snprintf(buf, len, "Up %s", ago);
	} else if (rec->state == SNAP_CONTAINER_EXITED) {
		cli_format_ago(ago, sizeof(ago), rec->finished_ns);
		snprintf(buf, len, "Exited (%d) %s", rec->exit_code, ago);
	} else if (rec->state == SNAP_CONTAINER_RUNNING) {
		/* its snapctl died without recording the end (killed) */
		snprintf(buf, len, "Exited (unknown)");
	} else {
		snprintf(buf, len, "Created");
	}
}

static const char *state_name(const struct snap_container_rec *rec, bool running)
{
	if (running)
		return "running";
	return rec->state == SNAP_CONTAINER_CREATED ? "created" : "exited";
}

static int print_json(struct snap_core *core, const struct snap_container_rec *rec, bool running,
		      const char *status)
{
	json_t *cmd = json_loads(rec->command, 0, NULL);
	char created[64];
	cli_format_time(created, sizeof(created), rec->created_ns);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:i}",
			      "id", rec->id, "name", rec->name, "image", rec->image,
			      "image_id", rec->image_id, "snapshot", rec->snapshot,
			      "command", cmd ? cmd : json_array(), "created", created,
			      "state", state_name(rec, running), "status", status,
			      "exit_code", rec->state == SNAP_CONTAINER_EXITED ? rec->exit_code : -1);
	if (!o)
		return -ENOMEM;
	/* where its processes are counted and limited, while it runs */
	char cgroup[512] = "";
	if (running)
		snap_cgroup_describe(rec->id, cgroup, sizeof(cgroup));
	json_object_set_new(o, "cgroup", cgroup[0] ? json_string(cgroup) : json_null());
	/* the user namespace's mapping (run --userns), null without one */
	char userns[128];
	run_userns_describe(core, rec->snapshot, userns, sizeof(userns));
	json_object_set_new(o, "userns", userns[0] ? json_string(userns) : json_null());
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	puts(s);
	free(s);
	return 0;
}

static int add_row(const struct snap_container_rec *rec, void *userdata)
{
	struct ps_ctx *p = userdata;
	bool running = container_is_running(rec);
	if (!p->all && !running)
		return 0;
	char id[SNAP_CONTAINER_ID_LEN + 1];
	snprintf(id, sizeof(id), "%.*s", p->no_trunc ? SNAP_CONTAINER_ID_LEN : SNAP_CONTAINER_SHORT_ID_LEN,
		 rec->id);
	if (p->quiet) {
		puts(id);
		return 0;
	}
	char status[96];
	format_status(rec, running, status, sizeof(status));
	if (p->cli->json)
		return print_json(p->core, rec, running, status);

	_cleanup_free_ char *display = container_command_display(rec->command);
	if (!display)
		return -ENOMEM;
	char command[4096], created[64];
	if (!p->no_trunc && strlen(display) > 20)
		snprintf(command, sizeof(command), "\"%.19s…\"", display);
	else
		snprintf(command, sizeof(command), "\"%s\"", display);
	cli_format_ago(created, sizeof(created), rec->created_ns);
	const char *cells[] = { id, rec->image, command, created, status, rec->name };
	return cli_table_add(p->table, cells);
}

int cmd_ps(struct cli_ctx *ctx, int argc, char **argv)
{
	struct ps_ctx p = { .cli = ctx };
	struct cli_parser parser = { .spec = &cli_spec_ps };
	int c;
	while ((c = cli_next_flag(ctx, &parser, argc, argv)) > 0) {
		switch (c) {
		case 'a':
			p.all = true;
			break;
		case 'q':
			p.quiet = true;
			break;
		case 'T':
			p.no_trunc = true;
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);

	struct snap_core *core = cli_core_reader(ctx);
	p.core = core;
	if (!core)
		return EXIT_FAILURE;
	static const char *const headers[] = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES" };
	p.table = cli_table_new(ELEMENTSOF(headers), headers);
	if (!p.table)
		return cli_failf(ctx, "ps: %s", strerror(ENOMEM));
	struct snap_error err = { 0 };
	int r = snap_container_store_walk(core, add_row, &p, &err);
	if (r < 0 && !err.message[0])
		snap_error_set(&err, r, "list containers: %s", strerror(-r));
	if (r >= 0 && !p.quiet && !ctx->json)
		cli_table_print(p.table, stdout);
	cli_table_free(p.table);
	return r < 0 ? cli_fail(ctx, &err) : EXIT_SUCCESS;
}
