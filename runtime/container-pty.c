/* SPDX-License-Identifier: Apache-2.0 */
/* The container's terminal: a pty pair from the container's own devpts
 * instance (so the command sees /dev/pts/0 of its namespace, as with
 * docker run -t), opened by init after pivot_root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "container-internal.h"
#include "util/macro.h"

int container_pty_open(const struct winsize *ws, int *ret_master, int *ret_slave,
		       struct snap_error *err)
{
	_cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return snap_error_set(err, negative_errno(), "open /dev/pts/ptmx: %m");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return snap_error_set(err, negative_errno(), "unlock pty: %m");
	/* TIOCGPTPEER opens the peer of this very master, with no path lookup
	 * that a process racing in the container could redirect; older
	 * kernels lack it (EINVAL/ENOTTY) and get the path of the peer. */
	_cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0 && (errno == EINVAL || errno == ENOTTY)) {
		unsigned n;
		if (ioctl(master, TIOCGPTN, &n) < 0)
			return snap_error_set(err, negative_errno(), "pty number: %m");
		char path[32];
		snprintf(path, sizeof(path), "/dev/pts/%u", n);
		slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	}
	if (slave < 0)
		return snap_error_set(err, negative_errno(), "open pty peer: %m");
	if (ws && ioctl(master, TIOCSWINSZ, ws) < 0)
		return snap_error_set(err, negative_errno(), "set pty window size: %m");
	*ret_master = TAKE_FD(master);
	*ret_slave = TAKE_FD(slave);
	return 0;
}
