/* SPDX-License-Identifier: Apache-2.0 */
/* Messages from the starting container to the host on a SOCK_SEQPACKET
 * pair: one datagram per message, an fd riding along as SCM_RIGHTS. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "container-internal.h"
#include "util/macro.h"

static int send_msg(int sock, const struct container_msg *msg, int fd)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return negative_errno();
	return 0;
}

int container_send_error(int sock, const struct snap_error *err)
{
	struct container_msg msg = { .type = CONTAINER_MSG_ERROR, .code = err->code ? err->code : -EIO };
	snprintf(msg.text, sizeof(msg.text), "%s", err->message);
	return send_msg(sock, &msg, -EBADF);
}

int container_send_fd(int sock, int type, int fd)
{
	struct container_msg msg = { .type = type };
	return send_msg(sock, &msg, fd);
}

int container_recv(int sock, struct container_msg *msg, int *ret_fd)
{
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t n;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return negative_errno();
	*ret_fd = -EBADF;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
	if (n == 0)
		return 0;
	if ((size_t)n != sizeof(*msg)) {
		if (*ret_fd >= 0)
			close(*ret_fd);
		*ret_fd = -EBADF;
		return -EBADMSG;
	}
	msg->text[sizeof(msg->text) - 1] = '\0';
	return 1;
}
