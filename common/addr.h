/*
 * addr.h - socket addresses: one union for IPv4 and IPv6, parsing of
 * "host:port" / "[v6]:port" (numeric only: a gateway must not depend on DNS to
 * start), formatting for logs and audit records (RFC 5952 text for IPv6).
 */
#ifndef SUBGATE_ADDR_H
#define SUBGATE_ADDR_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_storage ss;
};

/* ADDR_STRLEN - enough for an address without port (INET6_ADDRSTRLEN). */
#define ADDR_STRLEN 46
/* ADDRPORT_STRLEN - enough for "[addr]:port". */
#define ADDRPORT_STRLEN 56

/* addr_parse - numeric "a.b.c.d:port", "[v6]:port"; when defport >= 0 the
 * port may be omitted ("a.b.c.d", "v6"). 0 or SG_EINVAL. */
int addr_parse(union sockaddr_any *out, const char *s, int defport);

socklen_t addr_len(const union sockaddr_any *a);
uint16_t addr_port(const union sockaddr_any *a);
void addr_set_port(union sockaddr_any *a, uint16_t port);

/* addr_is_v4mapped - the 16 octets at a16 (any alignment) are a v4-mapped
 * IPv6 address, ::ffff:a.b.c.d (RFC 4291 2.5.5.2), as a dual-stack socket
 * reports an IPv4 peer; its IPv4 address is then a16 + 12. */
int addr_is_v4mapped(const void *a16);

/* addr_unmap - turn a v4-mapped IPv6 address (::ffff:a.b.c.d) into AF_INET. */
void addr_unmap(union sockaddr_any *a);

/* addr_raw - a's family and address octets (4 or 16 at out), a v4-mapped
 * IPv6 address as the IPv4 address it names. 0, or SG_EINVAL when a is
 * neither AF_INET nor AF_INET6. */
int addr_raw(const union sockaddr_any *a, int *family, uint8_t out[16]);

/* addr_ntop - the address alone ("100.64.0.2", "fd00::2"); returns buf. */
char *addr_ntop(const union sockaddr_any *a, char *buf, size_t len);
/* addr_fmt - "100.64.0.2:41234" or "[fd00::2]:41234"; returns buf. */
char *addr_fmt(const union sockaddr_any *a, char *buf, size_t len);

/* addr_eq - same family, address and port. */
int addr_eq(const union sockaddr_any *a, const union sockaddr_any *b);
/* addr_eq_host - same family and address, any port. */
int addr_eq_host(const union sockaddr_any *a, const union sockaddr_any *b);

#endif
