/* SPDX-License-Identifier: Apache-2.0 */
/* inspect --format: {{.A.B}} and {{json .A.B}} over a JSON object. */
#include "inspect-format.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"

struct action {
	bool json;
	const char *path; /* after the first '.', up to path_end */
	const char *path_end;
};

/* Parse the action between "{{" and "}}" (begin..end): "-"-trimming as Go
 * does, an optional "json", then "." or ".Field[.Field...]". */
static int parse_action(const char *begin, const char *end, struct action *a)
{
	while (begin < end && (*begin == ' ' || *begin == '-'))
		begin++;
	while (end > begin && (end[-1] == ' ' || end[-1] == '-'))
		end--;
	a->json = false;
	if ((size_t)(end - begin) > 5 && strncmp(begin, "json ", 5) == 0) {
		a->json = true;
		begin += 5;
		while (begin < end && *begin == ' ')
			begin++;
	}
	if (begin >= end || *begin != '.')
		return -EINVAL;
	for (const char *p = begin + 1; p < end; p++)
		if (!(*p == '.' || *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			return -EINVAL;
	a->path = begin + 1;
	a->path_end = end;
	return 0;
}

/* Call fn for every literal run and action of tmpl; stops at the first
 * failure. */
typedef int (*part_fn)(const char *lit, size_t n, const struct action *a, const char *raw,
		       size_t raw_n, void *userdata);
static int walk(const char *tmpl, part_fn fn, void *userdata)
{
	const char *p = tmpl;
	for (;;) {
		const char *open = strstr(p, "{{");
		if (!open)
			return fn(p, strlen(p), NULL, NULL, 0, userdata);
		int r = fn(p, (size_t)(open - p), NULL, NULL, 0, userdata);
		if (r < 0)
			return r;
		const char *close = strstr(open + 2, "}}");
		if (!close)
			return fn(NULL, 0, NULL, open, strlen(open), userdata);
		struct action a;
		if (parse_action(open + 2, close, &a) < 0)
			r = fn(NULL, 0, NULL, open, (size_t)(close + 2 - open), userdata);
		else
			r = fn(NULL, 0, &a, NULL, 0, userdata);
		if (r < 0)
			return r;
		p = close + 2;
	}
}

struct check_ctx {
	char *why;
	size_t len;
};

static int check_part(const char *lit, size_t n, const struct action *a, const char *raw, size_t raw_n,
		      void *userdata)
{
	(void)lit, (void)n, (void)a;
	struct check_ctx *c = userdata;
	if (!raw)
		return 0;
	snprintf(c->why, c->len, "unsupported template action '%.*s' (only {{.Field}} and {{json .Field}})",
		 (int)raw_n, raw);
	return -EINVAL;
}

int inspect_format_check(const char *tmpl, char *why, size_t len)
{
	struct check_ctx c = { why, len };
	return walk(tmpl, check_part, &c);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's fmt %v of a decoded JSON value, as text/template prints it. */
static void print_value(FILE *out, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		fputs(json_string_value(v), out);
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		fputc('[', out);
		json_array_foreach (v, i, e) {
			if (i)
				fputc(' ', out);
			print_value(out, e);
		}
		fputc(']', out);
		break;
	}
	case JSON_OBJECT: {
		/* Go prints a map's keys sorted */
		size_t n = json_object_size(v), i = 0;
		_cleanup_free_ const char **keys = calloc(n ? n : 1, sizeof(*keys));
		if (!keys)
			return;
		const char *k;
		json_t *e;
		json_object_foreach ((json_t *)v, k, e)
			keys[i++] = k;
		qsort(keys, n, sizeof(*keys), cmp_key);
		fputs("map[", out);
		for (i = 0; i < n; i++) {
			fprintf(out, "%s%s:", i ? " " : "", keys[i]);
			print_value(out, json_object_get(v, keys[i]));
		}
		fputc(']', out);
		break;
	}
	case JSON_NULL:
		fputs("<nil>", out);
		break;
	default: {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (s)
			fputs(s, out);
		free(s);
	}
	}
}

struct print_ctx {
	FILE *out;
	const json_t *obj;
};

static int print_part(const char *lit, size_t n, const struct action *a, const char *raw, size_t raw_n,
		      void *userdata)
{
	(void)raw_n;
	struct print_ctx *c = userdata;
	if (raw)
		return -EINVAL;
	if (!a) {
		fwrite(lit, 1, n, c->out);
		return 0;
	}
	const json_t *v = c->obj;
	for (const char *p = a->path; v && p < a->path_end;) {
		const char *dot = memchr(p, '.', (size_t)(a->path_end - p));
		const char *e = dot ? dot : a->path_end;
		if (e > p) {
			char key[256];
			snprintf(key, sizeof(key), "%.*s", (int)(e - p), p);
			v = json_is_object(v) ? json_object_get(v, key) : NULL;
		}
		p = e + 1;
	}
	if (a->json) {
		char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
		fputs(s ? s : "null", c->out);
		free(s);
	} else if (!v) {
		fputs("<no value>", c->out);
	} else {
		print_value(c->out, v);
	}
	return 0;
}

int inspect_format_print(FILE *out, const char *tmpl, const json_t *obj)
{
	struct print_ctx c = { out, obj };
	int r = walk(tmpl, print_part, &c);
	fputc('\n', out);
	return r;
}
