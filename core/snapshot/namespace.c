/* SPDX-License-Identifier: Apache-2.0 */
/* The containerd namespace a core's snapshot calls are scoped to (core.h). */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "core-internal.h"

/* containerd's identifiers.Validate: ^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$,
 * at most 76 characters. */
bool snap_namespace_valid(const char *ns)
{
	size_t n = ns ? strlen(ns) : 0;
	if (n == 0 || n > SNAP_NAMESPACE_MAX)
		return false;
	bool after_sep = true; /* the first character may not be a separator */
	for (const char *p = ns; *p; p++) {
		if (isascii((unsigned char)*p) && isalnum((unsigned char)*p)) {
			after_sep = false;
		} else if (strchr("._-", *p) && !after_sep) {
			after_sep = true;
		} else {
			return false;
		}
	}
	return !after_sep;
}

int snap_core_set_namespace(struct snap_core *core, const char *ns, struct snap_error *err)
{
	if (!ns) {
		core->ns_from_key = true;
		core->ns[0] = '\0';
		return 0;
	}
	if (*ns && !snap_namespace_valid(ns))
		return snap_error_set(err, -EINVAL,
				      "namespace '%.*s' is not valid: letters and digits joined by single "
				      "'.', '_' or '-', at most %d characters",
				      SNAP_NAMESPACE_MAX + 8, ns, SNAP_NAMESPACE_MAX);
	core->ns_from_key = false;
	memcpy(core->ns, ns, strlen(ns) + 1);
	return 0;
}

int snap_core_key_namespace(const struct snap_core *core, const char *key, char buf[SNAP_NAMESPACE_MAX + 1],
			    struct snap_error *err)
{
	if (!core->ns_from_key) {
		memcpy(buf, core->ns, strlen(core->ns) + 1);
		return 0;
	}
	const char *slash = key ? strchr(key, '/') : NULL;
	size_t n = slash ? (size_t)(slash - key) : 0;
	if (n > 0 && n <= SNAP_NAMESPACE_MAX) {
		memcpy(buf, key, n);
		buf[n] = '\0';
		if (snap_namespace_valid(buf))
			return 0;
	}
	return snap_error_set(err, -EINVAL,
			      "snapshot '%.200s' names no namespace: send the containerd-namespace header, "
			      "or name keys NAMESPACE/... as containerd does", key ? key : "");
}
