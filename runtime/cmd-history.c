/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl history IMAGE: docker history's view, newest first: IMAGE,
 * CREATED, CREATED BY, SIZE, COMMENT.  The top line carries the image ID;
 * older lines show <missing>, as docker does for layers that are not
 * images of their own.
 */
#include <jansson.h>
#include <string.h>

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image-output.h"
#include "spec/specs.h"
#include "util/macro.h"

#define CREATED_BY_WIDTH 45

/* Cut s to `width` characters, the last one an ellipsis, like docker's
 * stringutils.Ellipsis; characters, not bytes, so UTF-8 stays whole.  s
 * has room for 3 more bytes. */
static void ellipsize(char *s, size_t width)
{
	size_t chars = 0, cut = 0;
	for (size_t i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (chars == width - 1)
			cut = i;
		chars++;
	}
	if (chars > width)
		strcpy(s + cut, "…");
}

static char *one_line(const char *s)
{
	char *d = strdup(s);
	for (char *p = d; p && *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	return d;
}

/* The IMAGE column: the image itself on the newest line, a local image a
 * line built (a base image), else <missing>, as docker shows. */
static const char *line_id(const struct snap_history *h, size_t i, bool no_trunc, char *buf16)
{
	const char *id = i + 1 == h->n ? h->id : h->v[i].image_id;
	if (!id)
		return "<missing>";
	if (no_trunc)
		return id;
	image_short_id(buf16, 16, id);
	return buf16;
}

int cmd_history(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = ctx->json, no_trunc = false, human = true, quiet = false;
	struct cli_parser p = { .spec = &cli_spec_history };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'T':
			no_trunc = true;
			break;
		case 'H':
			/* docker spells it -H=false (pflag); getopt hands "=false" */
			if (optarg && *optarg == '=')
				optarg++;
			if (!optarg || strcmp(optarg, "true") == 0 || strcmp(optarg, "1") == 0)
				human = true;
			else if (strcmp(optarg, "false") == 0 || strcmp(optarg, "0") == 0)
				human = false;
			else
				return cli_spec_usage_error(ctx, &cli_spec_history, "--human takes true or false");
			break;
		case 'q':
			quiet = true;
			break;
		case 'j':
			json = true;
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	struct snap_core *core = cli_core_reader(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct snap_history h = { 0 };
	struct snap_error err = { 0 };
	if (snap_image_history(core, argv[optind], &h, &err) < 0)
		return cli_fail(ctx, &err);

	char short_id[16];
	image_short_id(short_id, sizeof(short_id), h.id);
	if (json) {
		json_t *a = json_array();
		for (size_t k = h.n; k > 0; k--) {
			const struct snap_history_entry *e = &h.v[k - 1];
			char created[64] = "";
			if (e->created_ns)
				cli_format_time(created, sizeof(created), e->created_ns);
			json_array_append_new(
				a, json_pack("{s:s, s:s?, s:s, s:s, s:s, s:I, s:b, s:s?}", "id",
					     k == h.n ? h.id : e->image_id ? e->image_id : "<missing>", "created", *created ? created : NULL,
					     "created_by", e->created_by, "author", e->author, "comment",
					     e->comment, "size", (json_int_t)e->size, "empty_layer", e->empty_layer,
					     "layer", e->layer_chain_id));
		}
		char *s = json_dumps(a, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
		json_decref(a);
		snap_history_done(&h);
		return EXIT_SUCCESS;
	}
	if (quiet) {
		for (size_t k = h.n; k > 0; k--)
			puts(line_id(&h, k - 1, no_trunc, short_id));
		snap_history_done(&h);
		return EXIT_SUCCESS;
	}
	static const char *const headers[] = { "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" };
	struct cli_table *t = cli_table_new(ELEMENTSOF(headers), headers);
	if (!t) {
		snap_history_done(&h);
		return cli_failf(ctx, "history: out of memory");
	}
	for (size_t k = h.n; k > 0; k--) {
		const struct snap_history_entry *e = &h.v[k - 1];
		char created[64] = "N/A", size[32];
		if (e->created_ns) {
			if (human)
				cli_format_ago(created, sizeof(created), e->created_ns);
			else
				cli_format_time(created, sizeof(created), e->created_ns);
		}
		if (human)
			cli_format_size(size, sizeof(size), (int64_t)e->size);
		else
			snprintf(size, sizeof(size), "%llu", (unsigned long long)e->size);
		_cleanup_free_ char *by = one_line(e->created_by);
		_cleanup_free_ char *by_cut = NULL;
		if (by && !no_trunc && strlen(by) > CREATED_BY_WIDTH) {
			by_cut = malloc(CREATED_BY_WIDTH * 4 + 8);
			if (by_cut) {
				snprintf(by_cut, CREATED_BY_WIDTH * 4 + 8, "%s", by);
				ellipsize(by_cut, CREATED_BY_WIDTH);
			}
		}
		const char *id = line_id(&h, k - 1, no_trunc, short_id);
		const char *row[] = { id, created, by_cut ? by_cut : by ? by : "", size, e->comment };
		cli_table_add(t, row);
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	snap_history_done(&h);
	return EXIT_SUCCESS;
}
