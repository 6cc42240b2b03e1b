/*
 * addr.c - parsing and formatting of socket addresses.
 */
#include "addr.h"
#include "err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return SG_EINVAL;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > 65535)
		return SG_EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int
addr_parse(union sockaddr_any *out, const char *s, int defport)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *portstr = NULL, *end;
	uint16_t port = defport >= 0 ? (uint16_t)defport : 0;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return SG_EINVAL;
		hlen = (size_t)(end - s - 1);
		s++;
		if (end[1] == ':')
			portstr = end + 2;
		else if (end[1] != '\0')
			return SG_EINVAL;
	} else {
		end = strrchr(s, ':');
		if (end != NULL && strchr(s, ':') == end) {	/* one colon: v4:port */
			hlen = (size_t)(end - s);
			portstr = end + 1;
		} else {
			hlen = strlen(s);	/* bare v4 or bare v6 */
		}
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return SG_EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (portstr != NULL) {
		if (parse_port(portstr, &port) < 0)
			return SG_EINVAL;
	} else if (defport < 0) {
		return SG_EINVAL;
	}
	if (inet_pton(AF_INET, host, &out->sin.sin_addr) == 1) {
		out->sin.sin_family = AF_INET;
		out->sin.sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &out->sin6.sin6_addr) == 1) {
		out->sin6.sin6_family = AF_INET6;
		out->sin6.sin6_port = htons(port);
		return 0;
	}
	return SG_EINVAL;
}

socklen_t
addr_len(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in);
}

uint16_t
addr_port(const union sockaddr_any *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->sin6.sin6_port
						 : a->sin.sin_port);
}

void
addr_set_port(union sockaddr_any *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->sin6.sin6_port = htons(port);
	else
		a->sin.sin_port = htons(port);
}

int
addr_is_v4mapped(const void *a16)
{
	static const uint8_t prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(a16, prefix, sizeof(prefix)) == 0;
}

void
addr_unmap(union sockaddr_any *a)
{
	struct sockaddr_in sin;

	if (a->sa.sa_family != AF_INET6 ||
	    !addr_is_v4mapped(&a->sin6.sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = a->sin6.sin6_port;
	memcpy(&sin.sin_addr, &a->sin6.sin6_addr.s6_addr[12], 4);
	memset(a, 0, sizeof(*a));
	a->sin = sin;
}

int
addr_raw(const union sockaddr_any *a, int *family, uint8_t out[16])
{
	const uint8_t *b = a->sin6.sin6_addr.s6_addr;

	if (a->sa.sa_family == AF_INET) {
		*family = AF_INET;
		memcpy(out, &a->sin.sin_addr, 4);
	} else if (a->sa.sa_family == AF_INET6 && addr_is_v4mapped(b)) {
		*family = AF_INET;
		memcpy(out, b + 12, 4);
	} else if (a->sa.sa_family == AF_INET6) {
		*family = AF_INET6;
		memcpy(out, b, 16);
	} else {
		return SG_EINVAL;
	}
	return 0;
}

char *
addr_ntop(const union sockaddr_any *a, char *buf, size_t len)
{
	const void *src = a->sa.sa_family == AF_INET6
	    ? (const void *)&a->sin6.sin6_addr : (const void *)&a->sin.sin_addr;

	if ((a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6) ||
	    inet_ntop(a->sa.sa_family, src, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "unknown");
	return buf;
}

char *
addr_fmt(const union sockaddr_any *a, char *buf, size_t len)
{
	char host[ADDR_STRLEN];

	addr_ntop(a, host, sizeof(host));
	snprintf(buf, len, a->sa.sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    host, addr_port(a));
	return buf;
}

int
addr_eq_host(const union sockaddr_any *a, const union sockaddr_any *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16) == 0;
	return 0;
}

int
addr_eq(const union sockaddr_any *a, const union sockaddr_any *b)
{
	return addr_eq_host(a, b) && addr_port(a) == addr_port(b);
}
