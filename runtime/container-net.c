/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's network.  By default a network namespace of its own (the
 * clone's CLONE_NEWNET, container.c) in which only lo exists; init brings
 * it up so that 127.0.0.1 works inside.  SNAP_NET_HOST shares the host's:
 * every interface, its 127.0.0.1 services and abstract unix sockets.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "container-internal.h"
#include "util/macro.h"

int container_net_setup(const struct snap_container_spec *spec, struct snap_error *err)
{
	if (spec->net == SNAP_NET_HOST)
		return 0;
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return snap_error_set(err, negative_errno(), "socket for lo: %m");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return snap_error_set(err, negative_errno(), "get flags of lo: %m");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return snap_error_set(err, negative_errno(), "bring lo up: %m");
	return 0;
}
