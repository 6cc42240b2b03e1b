/*
 * intercept.c - listening sockets, original destination, loop check and
 * upstream sockets (see intercept.h). The gateway's own addresses are
 * dest_deny.h's set, kept current by netwatch.c.
 */
#include "intercept.h"

#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dest_deny.h"
#include "err.h"
#include "log.h"
#include "util.h"

/* From linux/netfilter_ipv6/ip6_tables.h, which cannot be included next to
 * glibc's netinet/in.h without clashes. */
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static int
is_unspecified(const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&a->sin6.sin6_addr);
	return 0;
}

static int
is_loopback(const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->sin.sin_addr.s_addr) >> 24) == 127;
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&a->sin6.sin6_addr);
	return 0;
}

static int
set_int_opt(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

/* set_transparent - IPV6_TRANSPARENT or IP_TRANSPARENT by fd's family fam
 * (TPROXY: accept for and bind to foreign addresses; CAP_NET_ADMIN). */
static int
set_transparent(int fd, int fam)
{
	if (fam == AF_INET6)
		return set_int_opt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, 1);
	return set_int_opt(fd, IPPROTO_IP, IP_TRANSPARENT, 1);
}

int
intercept_listen(const struct listener_conf *lc, const char **what)
{
	int fd, fam = lc->addr.sa.sa_family, e;

	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*what = "socket";
		return -errno;
	}
	*what = "setsockopt(SO_REUSEADDR/SO_REUSEPORT)";
	if (set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
	    set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
		goto fail;
	if (fam == AF_INET6) {
		*what = "setsockopt(IPV6_V6ONLY)";
		/* [::] takes IPv4 too (v4-mapped; addr_unmap on accept). */
		if (set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) < 0)
			goto fail;
	}
	if (lc->intercept == INTERCEPT_TPROXY) {
		/* Needs CAP_NET_ADMIN. On a v6 socket the IP_TRANSPARENT call
		 * may fail; IPV6_TRANSPARENT sets the same socket flag. */
		*what = "setsockopt(IP_TRANSPARENT) (needs CAP_NET_ADMIN)";
		if (set_transparent(fd, fam) < 0)
			goto fail;
		if (fam == AF_INET6)
			(void)set_int_opt(fd, IPPROTO_IP, IP_TRANSPARENT, 1);
	}
	*what = "bind";
	if (bind(fd, &lc->addr.sa, addr_len(&lc->addr)) < 0)
		goto fail;
	*what = "listen";
	if (listen(fd, lc->backlog > 0 ? lc->backlog : 511) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}

int
intercept_orig_dst(int fd, const struct listener_conf *lc,
    const union sockaddr_any *local, const union sockaddr_any *peer,
    union sockaddr_any *dst)
{
	socklen_t len;

	memset(dst, 0, sizeof(*dst));
	switch (lc->intercept) {
	case INTERCEPT_NONE:
		*dst = lc->upstream;
		break;
	case INTERCEPT_TPROXY:
		/* The socket was accepted on the destination's address. */
		*dst = *local;
		break;
	case INTERCEPT_REDIRECT:
		/* Conntrack's view; for a v4 connection on a [::] socket the
		 * SOL_IP call reaches the IPv4 hook (ipv6_getsockopt hands
		 * SOL_IP to ip_getsockopt). ENOENT: not NATed, i.e. the
		 * subscriber dialled the gateway itself. */
		if (peer->sa.sa_family == AF_INET) {
			len = sizeof(dst->sin);
			if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst->sin, &len) < 0)
				return SG_ENOORIGDST;
		} else {
			len = sizeof(dst->sin6);
			if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst->sin6,
			    &len) < 0)
				return SG_ENOORIGDST;
		}
		break;
	}
	addr_unmap(dst);
	return 0;
}

static int
is_local_host(const union sockaddr_any *a)
{
	return is_loopback(a) || is_unspecified(a) || dest_own_is(a);
}

int
intercept_is_loop(const struct config *c, const struct listener_conf *lc,
    const union sockaddr_any *local, const union sockaddr_any *dst)
{
	/* One of our own listeners. */
	for (size_t i = 0; i < c->nlisteners; i++) {
		union sockaddr_any la = c->listeners[i].addr;

		addr_unmap(&la);
		if (addr_port(&la) == addr_port(dst) && (addr_eq_host(&la, dst) ||
		    (is_unspecified(&la) && is_local_host(dst))))
			return 1;
	}
	/* The configured upstream of a plain listener may well be local (a
	 * smarthost on the same box): only a listener of ours is a loop. */
	if (lc->intercept == INTERCEPT_NONE)
		return 0;
	if (lc->intercept == INTERCEPT_REDIRECT && addr_eq(local, dst))
		return 1;
	return is_local_host(dst);
}

int
intercept_upstream_socket(const struct config *c,
    const struct listener_conf *lc, const union sockaddr_any *src,
    const union sockaddr_any *dst)
{
	int fd, fam = dst->sa.sa_family, e;
	union sockaddr_any b;

	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (c->upstream_source == SOURCE_SUBSCRIBER &&
	    lc->intercept == INTERCEPT_TPROXY && src->sa.sa_family == fam) {
		/* Fully transparent: the destination sees the subscriber's
		 * address. Replies must be routed back to us (deploy/). */
		if (set_transparent(fd, fam) < 0)
			goto fail;
		(void)set_int_opt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
		b = *src;
		addr_set_port(&b, 0);
		if (bind(fd, &b.sa, addr_len(&b)) < 0)
			goto fail;
	}
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}
