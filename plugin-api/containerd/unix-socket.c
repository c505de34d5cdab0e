/* SPDX-License-Identifier: Apache-2.0 */
/* The unix socket path of `snapctl serve`: its form, its directory, and
 * what is already there. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/macro.h"
#include "unix-socket.h"

/*
 * A socket file left by a server that died is replaced; one that a live
 * server answers on is not taken over.  Anything else at the path is the
 * user's and is left alone.
 */
int snap_socket_check(const char *path, bool remove_stale, struct snap_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return snap_error_set(err, -errno, "socket %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return snap_error_set(err, -EEXIST, "socket %s: exists and is not a socket", path);

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return snap_error_set(err, -errno, "socket: %s", strerror(errno));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return snap_error_set(err, -EADDRINUSE, "socket %s: another server is listening on it",
				      path);
	if (remove_stale && unlink(path) < 0 && errno != ENOENT)
		return snap_error_set(err, -errno, "remove stale socket %s: %s", path, strerror(errno));
	return 0;
}

/* mkdir -p the socket's directory (/run/snapctl is usually missing). */
int snap_socket_make_parents(const char *path, struct snap_error *err)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return snap_error_set(err, -ENOMEM, "socket %s: %s", path, strerror(ENOMEM));
	for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return snap_error_set(err, -errno, "create %s: %s", dir, strerror(errno));
		*p = '/';
	}
	return 0;
}

int snap_socket_normalize(const char *address, char **ret, struct snap_error *err)
{
	if (!address || !*address)
		return snap_error_set(err, -EINVAL, "serve: no socket address given");
	/* containerd's configs spell addresses as plain paths; accept the URI
	 * forms too. */
	if (strncmp(address, "unix://", 7) == 0)
		address += 7;
	else if (strncmp(address, "unix:", 5) == 0)
		address += 5;
	if (strlen(address) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return snap_error_set(err, -ENAMETOOLONG, "socket %s: path longer than %zu bytes",
				      address, sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
	char *p = strdup(address);
	if (!p)
		return snap_error_set(err, -ENOMEM, "socket %s: %s", address, strerror(ENOMEM));
	*ret = p;
	return 0;
}
