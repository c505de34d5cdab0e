/* SPDX-License-Identifier: Apache-2.0 */
/* Output helpers shared by the commands: errors, tables, sizes, times,
 * progress.  The only place (with main.c and the commands) that prints. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/macro.h"

static void notice_cb(void *ctx, const char *message)
{
	struct cli_ctx *c = ctx;
	if (c->verbosity >= 0)
		fprintf(stderr, "snapctl: %s\n", message);
}

static struct snap_core *open_core(struct cli_ctx *ctx, unsigned flags)
{
	struct snap_core_opts opts = {
		.root = ctx->root,
		.driver = ctx->driver,
		.plugin_dir = ctx->plugin_dir,
		.btrfs_size = ctx->btrfs_size,
		.notice = notice_cb,
		.notice_ctx = ctx,
		.flags = flags | (strcmp(ctx->sync, "none") == 0   ? SNAP_CORE_NO_SYNC
				  : strcmp(ctx->sync, "full") == 0 ? SNAP_CORE_SYNC_TREES
								   : 0),
	};
	struct snap_error err = { 0 };
	if (snap_core_open(&opts, &ctx->core, &err) < 0) {
		cli_fail(ctx, &err);
		return NULL;
	}
	ctx->core_query_only = flags & SNAP_CORE_QUERY_ONLY;
	if (ctx->ns && snap_core_set_namespace(ctx->core, ctx->ns, &err) < 0) {
		snap_error_prefix(&err, "SNAPCTL_NAMESPACE");
		cli_fail(ctx, &err);
		snap_core_close(TAKE_PTR(ctx->core));
		return NULL;
	}
	return ctx->core;
}

struct snap_core *cli_core(struct cli_ctx *ctx)
{
	if (ctx->core && ctx->core_query_only) {
		snap_core_close(ctx->core);
		ctx->core = NULL;
	}
	if (ctx->core)
		return ctx->core;
	return open_core(ctx, 0);
}

struct snap_core *cli_core_reader(struct cli_ctx *ctx)
{
	if (ctx->core)
		return ctx->core;
	return open_core(ctx, SNAP_CORE_QUERY_ONLY);
}

int cli_fail(struct cli_ctx *ctx, const struct snap_error *err)
{
	(void)ctx;
	fflush(stdout);
	if (err && err->message[0])
		fprintf(stderr, "snapctl: %s\n", err->message);
	else if (err && err->code)
		fprintf(stderr, "snapctl: %s\n", strerror(-err->code));
	else
		fprintf(stderr, "snapctl: operation failed\n");
	return EXIT_FAILURE;
}

int cli_failf(struct cli_ctx *ctx, const char *fmt, ...)
{
	(void)ctx;
	va_list ap;
	fflush(stdout);
	fputs("snapctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

int cli_usage_error(struct cli_ctx *ctx, const char *cmd_usage, const char *fmt, ...)
{
	(void)ctx;
	va_list ap;
	fputs("snapctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd_usage)
		fprintf(stderr, "usage: snapctl %s\n", cmd_usage);
	fprintf(stderr, "See 'snapctl --help'.\n");
	return EXIT_USAGE;
}

void cli_notice(struct cli_ctx *ctx, const char *fmt, ...)
{
	if (ctx->verbosity < 0)
		return;
	va_list ap;
	fputs("snapctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_verbose(struct cli_ctx *ctx, const char *fmt, ...)
{
	if (ctx->verbosity < 1)
		return;
	va_list ap;
	fputs("snapctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* docker's units.HumanSize: decimal units, 3 significant digits. */
void cli_format_size(char *buf, size_t len, int64_t bytes)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1000.0 && u + 1 < ELEMENTSOF(units)) {
		v /= 1000.0;
		u++;
	}
	snprintf(buf, len, "%.3g%s", v, units[u]);
}

void cli_format_ago(char *buf, size_t len, int64_t then_ns)
{
	int64_t d = (snap_now_ns() - then_ns) / 1000000000LL;
	if (d < 1)
		snprintf(buf, len, "Less than a second ago");
	else if (d < 60)
		snprintf(buf, len, "%lld seconds ago", (long long)d);
	else if (d < 3600)
		snprintf(buf, len, "%lld minute%s ago", (long long)(d / 60), d / 60 == 1 ? "" : "s");
	else if (d < 86400 * 2)
		snprintf(buf, len, "%lld hour%s ago", (long long)(d / 3600), d / 3600 == 1 ? "" : "s");
	else if (d < 86400 * 14)
		snprintf(buf, len, "%lld days ago", (long long)(d / 86400));
	else if (d < 86400 * 60)
		snprintf(buf, len, "%lld weeks ago", (long long)(d / (86400 * 7)));
	else if (d < 86400 * 730)
		snprintf(buf, len, "%lld months ago", (long long)(d / (86400 * 30)));
	else
		snprintf(buf, len, "%lld years ago", (long long)(d / (86400 * 365)));
}

void cli_format_time(char *buf, size_t len, int64_t ns)
{
	time_t s = (time_t)(ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&s, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lldZ", base, (long long)(ns % 1000000000LL));
}

struct cli_table {
	size_t ncols, nrows;
	char **cells; /* nrows * ncols, row 0 = headers */
};

struct cli_table *cli_table_new(size_t ncols, const char *const *headers)
{
	struct cli_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	if (cli_table_add(t, headers) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

int cli_table_add(struct cli_table *t, const char *const *cells)
{
	char **nc = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
	if (!nc)
		return -ENOMEM;
	t->cells = nc;
	for (size_t i = 0; i < t->ncols; i++) {
		nc[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "");
		if (!nc[t->nrows * t->ncols + i]) {
			for (size_t j = 0; j < i; j++)
				free(nc[t->nrows * t->ncols + j]);
			return -ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

/* Columns padded to the widest cell plus three spaces, as docker prints. */
/* Columns on the terminal: UTF-8 continuation bytes take none (cells
 * carry docker's "…" for cut text). */
static size_t display_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void cli_table_print(struct cli_table *t, FILE *out)
{
	_cleanup_free_ size_t *w = calloc(t->ncols, sizeof(size_t));
	if (!w)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = display_width(t->cells[r * t->ncols + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			fputs(s, out);
			if (c + 1 < t->ncols)
				fprintf(out, "%*s", (int)(w[c] - display_width(s) + 3), "");
		}
		fputc('\n', out);
	}
}

void cli_table_free(struct cli_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

struct cli_progress {
	char what[64];
	uint64_t total, done;
	int64_t last_ns;
	bool on;
};

struct cli_progress *cli_progress_new(struct cli_ctx *ctx, const char *what, uint64_t total)
{
	struct cli_progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->total = total;
	p->on = ctx->verbosity >= 0 && isatty(STDERR_FILENO);
	return p;
}

void cli_progress_update(struct cli_progress *p, uint64_t done)
{
	if (!p)
		return;
	p->done = done;
	if (!p->on)
		return;
	int64_t now = snap_now_ns();
	if (now - p->last_ns < 100000000LL && done < p->total) /* at most 10 redraws/s */
		return;
	p->last_ns = now;
	char d[16], t[16];
	cli_format_size(d, sizeof(d), (int64_t)done);
	if (p->total) {
		cli_format_size(t, sizeof(t), (int64_t)p->total);
		int width = 30, fill = (int)((double)done / (double)p->total * width);
		if (fill > width)
			fill = width;
		fprintf(stderr, "\r%-24.24s [%.*s>%*s] %s/%s", p->what, fill,
			"==============================", width - fill, "", d, t);
	} else {
		fprintf(stderr, "\r%-24.24s %s", p->what, d);
	}
	fflush(stderr);
}

void cli_progress_done(struct cli_progress *p)
{
	if (!p)
		return;
	if (p->on) {
		p->last_ns = 0;
		if (p->total)
			p->done = p->total;
		cli_progress_update(p, p->done);
		fputc('\n', stderr);
	}
	free(p);
}
