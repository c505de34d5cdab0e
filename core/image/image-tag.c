/* SPDX-License-Identifier: Apache-2.0 */
/* snap_image_tag: one more name on an image (docker tag).  A name that
 * pointed at another image moves; that image keeps its other names, or is
 * left dangling (untagged) for `image prune`, as with docker. */
#include <stdlib.h>

#include "image/image-internal.h"

int snap_image_tag(struct snap_core *core, const char *src, const char *dst, char **ret_name,
		   struct snap_error *err)
{
	char id[SNAP_DIGEST_MAX];
	int r = img_db_resolve(core, src, id, NULL, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *name = NULL;
	r = snap_image_ref_normalize(dst, &name, err);
	if (r < 0)
		return r;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	r = snap_store_prepare(snap_core_store(core),
			       "INSERT OR REPLACE INTO image_tags (name, image_id, added_ns) VALUES (?, ?, ?)", &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)snap_now_ns());
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return snap_store_error(snap_core_store(core), rc, err, "tag image");
	if (ret_name)
		*ret_name = TAKE_PTR(name);
	return 0;
}
