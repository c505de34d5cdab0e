/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/labels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void label_free(struct snap_label *l)
{
	free((char *)l->key);
	free((char *)l->value);
}

int snap_labels_set(struct snap_labels *l, const char *key, const char *value)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].key, key) != 0)
			continue;
		if (!value) {
			label_free(&l->v[i]);
			l->v[i] = l->v[--l->n];
			return 0;
		}
		char *nv = strdup(value);
		if (!nv)
			return -ENOMEM;
		free((char *)l->v[i].value);
		l->v[i].value = nv;
		return 0;
	}
	if (!value)
		return 0;
	struct snap_label *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	char *k = strdup(key), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	l->v[l->n].key = k;
	l->v[l->n].value = v;
	l->n++;
	return 0;
}

const char *snap_labels_get(const struct snap_labels *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].value;
	return NULL;
}

int snap_labels_parse_kv(struct snap_labels *l, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return -EINVAL;
	char *k = strndup(kv, (size_t)(eq - kv));
	if (!k)
		return -ENOMEM;
	int r = snap_labels_set(l, k, eq + 1);
	free(k);
	return r;
}

int snap_labels_copy(struct snap_labels *dst, const struct snap_labels *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int r = snap_labels_set(dst, src->v[i].key, src->v[i].value);
		if (r < 0)
			return r;
	}
	return 0;
}

void snap_labels_done(struct snap_labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		label_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
