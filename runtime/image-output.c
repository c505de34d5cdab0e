/* SPDX-License-Identifier: Apache-2.0 */
#include "image-output.h"

#include <string.h>
#include <unistd.h>

void image_short_id(char *buf, size_t len, const char *id)
{
	const char *hex = strchr(id, ':');
	snprintf(buf, len, "%.12s", hex ? hex + 1 : id);
}

void image_progress_fn(void *userdata, const char *phase, const char *what, uint64_t done,
		       uint64_t total)
{
	struct image_progress *p = userdata;
	char key[128];
	snprintf(key, sizeof(key), "%s %s", phase, what);
	if (!p->bar || strcmp(key, p->key) != 0) {
		cli_progress_done(p->bar);
		/* "copy 3f4a5b6c7d8e", "copy busybox.tar", "unpack layer 2/3" */
		char label[64];
		const char *hex = strstr(what, "sha256");
		const char *base = strrchr(what, '/');
		if (hex && (hex[6] == ':' || hex[6] == '/'))
			snprintf(label, sizeof(label), "%s %.12s", phase, hex + 7);
		else if (strcmp(phase, "copy") == 0 && base)
			snprintf(label, sizeof(label), "%s %s", phase, base + 1);
		else
			snprintf(label, sizeof(label), "%s %s", phase, what);
		p->bar = cli_progress_new(p->ctx, label, total);
		snprintf(p->key, sizeof(p->key), "%s", key);
	}
	cli_progress_update(p->bar, done);
}

void image_progress_done(struct image_progress *p)
{
	cli_progress_done(p->bar);
	p->bar = NULL;
}

bool image_progress_wanted(const struct cli_ctx *ctx)
{
	return ctx->verbosity >= 0 && isatty(STDERR_FILENO);
}
