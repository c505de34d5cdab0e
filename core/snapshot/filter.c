/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/filter.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"

enum op { OP_PRESENT, OP_EQ, OP_NE, OP_MATCH };

struct selector {
	char **path; /* fields */
	size_t n_path;
	enum op op;
	char *value;
	regex_t re;
	bool has_re;
};

struct conj {
	struct selector *v;
	size_t n;
};

struct snap_filter {
	struct conj *v; /* ORed */
	size_t n;
};

const char *snap_kind_name(int kind)
{
	switch (kind) {
	case SNAP_KIND_VIEW:
		return "view";
	case SNAP_KIND_ACTIVE:
		return "active";
	case SNAP_KIND_COMMITTED:
		return "committed";
	default:
		return "unknown";
	}
}

static void selector_done(struct selector *s)
{
	for (size_t i = 0; i < s->n_path; i++)
		free(s->path[i]);
	free(s->path);
	free(s->value);
	if (s->has_re)
		regfree(&s->re);
}

void snap_filter_free(struct snap_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		for (size_t j = 0; j < f->v[i].n; j++)
			selector_done(&f->v[i].v[j]);
		free(f->v[i].v);
	}
	free(f->v);
	free(f);
}

struct parser {
	const char *input;
	const char *p;
	struct snap_error *err;
};

static int parse_error(struct parser *ps, const char *what)
{
	return snap_error_set(ps->err, -EINVAL, "invalid filter '%s' at position %zu: %s", ps->input,
			      (size_t)(ps->p - ps->input), what);
}

static void skip_space(struct parser *ps)
{
	while (*ps->p && isspace((unsigned char)*ps->p))
		ps->p++;
}

static int parse_quoted(struct parser *ps, char **ret)
{
	char q = *ps->p++;
	size_t cap = strlen(ps->p) + 1, n = 0;
	_cleanup_free_ char *out = malloc(cap);
	if (!out)
		return -ENOMEM;
	for (;;) {
		char c = *ps->p;
		if (!c)
			return parse_error(ps, "quoted literal not terminated");
		ps->p++;
		if (c == q)
			break;
		if (c == '\\') {
			char e = *ps->p;
			if (!e)
				return parse_error(ps, "quoted literal not terminated");
			ps->p++;
			switch (e) {
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'v': c = '\v'; break;
			case '\\': c = '\\'; break;
			default:
				if (e != q)
					return parse_error(ps, "unknown escape sequence");
				c = e;
			}
		}
		out[n++] = c;
	}
	out[n] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

static bool is_quote(char c)
{
	return c == '"' || c == '/' || c == '|';
}

static int parse_field(struct parser *ps, char **ret)
{
	if (is_quote(*ps->p))
		return parse_quoted(ps, ret);
	if (!isalpha((unsigned char)*ps->p))
		return parse_error(ps, "expected a field name");
	const char *s = ps->p;
	while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
		ps->p++;
	*ret = strndup(s, (size_t)(ps->p - s));
	return *ret ? 0 : -ENOMEM;
}

static int parse_selector(struct parser *ps, struct selector *sel)
{
	skip_space(ps);
	for (;;) {
		char *field = NULL;
		int r = parse_field(ps, &field);
		if (r < 0)
			return r;
		char **n = realloc(sel->path, (sel->n_path + 1) * sizeof(*n));
		if (!n) {
			free(field);
			return -ENOMEM;
		}
		sel->path = n;
		sel->path[sel->n_path++] = field;
		if (*ps->p != '.')
			break;
		ps->p++;
	}
	skip_space(ps);
	if (!*ps->p || *ps->p == ',') {
		sel->op = OP_PRESENT;
		return 0;
	}
	if (strncmp(ps->p, "==", 2) == 0)
		sel->op = OP_EQ;
	else if (strncmp(ps->p, "!=", 2) == 0)
		sel->op = OP_NE;
	else if (strncmp(ps->p, "~=", 2) == 0)
		sel->op = OP_MATCH;
	else
		return parse_error(ps, "expected operator ==, != or ~=");
	ps->p += 2;
	skip_space(ps);
	if (is_quote(*ps->p)) {
		int r = parse_quoted(ps, &sel->value);
		if (r < 0)
			return r;
	} else {
		const char *s = ps->p;
		while (*ps->p && *ps->p != ',' && !isspace((unsigned char)*ps->p))
			ps->p++;
		if (ps->p == s)
			return parse_error(ps, "expected a value");
		sel->value = strndup(s, (size_t)(ps->p - s));
		if (!sel->value)
			return -ENOMEM;
	}
	skip_space(ps);
	if (sel->op == OP_MATCH) {
		if (regcomp(&sel->re, sel->value, REG_EXTENDED | REG_NOSUB) != 0)
			return parse_error(ps, "invalid regular expression");
		sel->has_re = true;
	}
	return 0;
}

static int parse_one(const char *s, struct conj *c, struct snap_error *err)
{
	struct parser ps = { .input = s, .p = s, .err = err };
	for (;;) {
		struct selector *n = realloc(c->v, (c->n + 1) * sizeof(*n));
		if (!n)
			return snap_error_set(err, -ENOMEM, "parse filter: out of memory");
		c->v = n;
		c->v[c->n] = (struct selector){ 0 };
		c->n++;
		int r = parse_selector(&ps, &c->v[c->n - 1]);
		if (r == -ENOMEM)
			return snap_error_set(err, -ENOMEM, "parse filter: out of memory");
		if (r < 0)
			return r;
		if (!*ps.p)
			return 0;
		if (*ps.p != ',')
			return parse_error(&ps, "expected ','");
		ps.p++;
	}
}

int snap_filter_parse(const char *const *filters, size_t n, struct snap_filter **ret, struct snap_error *err)
{
	_cleanup_(snap_filter_freep) struct snap_filter *f = calloc(1, sizeof(*f));
	if (!f)
		return snap_error_set(err, -ENOMEM, "parse filter: out of memory");
	for (size_t i = 0; i < n; i++) {
		/* An empty filter string matches everything, as in containerd. */
		if (!filters[i] || !*filters[i]) {
			snap_filter_free(TAKE_PTR(f));
			*ret = NULL;
			return 0;
		}
		struct conj *nv = realloc(f->v, (f->n + 1) * sizeof(*nv));
		if (!nv)
			return snap_error_set(err, -ENOMEM, "parse filter: out of memory");
		f->v = nv;
		f->v[f->n] = (struct conj){ 0 };
		f->n++;
		int r = parse_one(filters[i], &f->v[f->n - 1], err);
		if (r < 0)
			return r;
	}
	if (f->n == 0)
		snap_filter_free(TAKE_PTR(f));
	*ret = TAKE_PTR(f);
	return 0;
}

/* The adaptor: value of a field path for one snapshot, and whether present. */
static const char *field_value(const struct selector *s, const struct snap_info *info, bool *present,
			       char **tmp)
{
	*present = false;
	const char *f0 = s->path[0];
	if (strcmp(f0, "kind") == 0) {
		*present = info->kind >= SNAP_KIND_VIEW && info->kind <= SNAP_KIND_COMMITTED;
		return *present ? snap_kind_name(info->kind) : "";
	}
	if (strcmp(f0, "name") == 0) {
		*present = true;
		return info->key ? info->key : "";
	}
	if (strcmp(f0, "parent") == 0) {
		*present = true;
		return info->parent ? info->parent : "";
	}
	if (strcmp(f0, "labels") == 0 && info->labels.n > 0 && s->n_path > 1) {
		/* containerd joins the rest of the path with '.' */
		size_t len = 0;
		for (size_t i = 1; i < s->n_path; i++)
			len += strlen(s->path[i]) + 1;
		char *k = malloc(len);
		if (!k)
			return "";
		k[0] = '\0';
		for (size_t i = 1; i < s->n_path; i++) {
			if (i > 1)
				strcat(k, ".");
			strcat(k, s->path[i]);
		}
		*tmp = k;
		const char *v = snap_labels_get(&info->labels, k);
		*present = v != NULL;
		return v ? v : "";
	}
	return "";
}

static bool selector_match(const struct selector *s, const struct snap_info *info)
{
	bool present;
	_cleanup_free_ char *tmp = NULL;
	const char *v = field_value(s, info, &present, &tmp);
	switch (s->op) {
	case OP_PRESENT:
		return present;
	case OP_EQ:
		return present && strcmp(v, s->value) == 0;
	case OP_NE:
		return strcmp(v, s->value) != 0;
	case OP_MATCH:
		return regexec(&s->re, v, 0, NULL, 0) == 0;
	}
	return false;
}

bool snap_filter_match(const struct snap_filter *f, const struct snap_info *info)
{
	if (!f)
		return true;
	for (size_t i = 0; i < f->n; i++) {
		bool all = true;
		for (size_t j = 0; j < f->v[i].n && all; j++)
			all = selector_match(&f->v[i].v[j], info);
		if (all)
			return true;
	}
	return false;
}
