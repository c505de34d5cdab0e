/* SPDX-License-Identifier: Apache-2.0 */
#include "image-output.h"

#include <string.h>

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
		char label[64];
		/* "copy 3f4a5b6c7d8e" / "unpack layer 2/3" */
		const char *hex = strncmp(what, "sha256:", 7) == 0 ? what + 7 : NULL;
		if (hex)
			snprintf(label, sizeof(label), "%s %.12s", phase, hex);
		else
			snprintf(label, sizeof(label), "%s %s", phase, strrchr(what, '/') && !strstr(what, "layer")
								   ? strrchr(what, '/') + 1
								   : what);
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
