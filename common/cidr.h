/*
 * cidr.h - longest-prefix-match tables for IPv4 and IPv6: a prefix maps to an
 * opaque value (the subscriber and policy class behind an address block).
 *
 * One path-compressed binary trie per family. Lookups are read-only, walk at
 * most one node per prefix length and allocate nothing, so any number of
 * threads may look up concurrently as long as nobody inserts or removes.
 * The table owns its nodes; values belong to the caller, who gets each one
 * back when it is replaced or removed, and through the callback of
 * cidr_free().
 *
 * A v4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack socket reports
 * an IPv4 peer) is looked up in the IPv4 table, and a v4-mapped prefix of
 * length 96 or more is stored there too: it names IPv4 addresses.
 */
#ifndef SUBGATE_CIDR_H
#define SUBGATE_CIDR_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* CIDR_STRLEN - enough for "ffff:...:ffff/128". */
#define CIDR_STRLEN 50

/* A prefix in network byte order; bits past plen are always zero. */
struct cidr_prefix {
	int family;		/* AF_INET or AF_INET6 */
	unsigned plen;		/* 0..32 or 0..128 */
	uint8_t addr[16];	/* 4 bytes used for AF_INET */
};

struct cidr;

struct cidr *cidr_new(void);
/* cidr_free - free the table, passing every value to vfree (may be NULL). */
void cidr_free(struct cidr *t, void (*vfree)(void *));

/* cidr_prefix_set - fill p from raw address bytes (4 or 16) and a length;
 * SG_EINVAL if the family is unknown, plen too long or host bits are set. */
int cidr_prefix_set(struct cidr_prefix *p, int family, const void *addr,
    unsigned plen);

/* cidr_prefix_of - the prefix of length plen (of the address's family, a
 * v4-mapped address counting as IPv4; plen above its width means the whole
 * address) that holds a: host bits cleared. SG_EINVAL if a is neither IPv4
 * nor IPv6. */
int cidr_prefix_of(struct cidr_prefix *p, const union sockaddr_any *a,
    unsigned plen);

/* cidr_parse - "100.64.0.0/10", "fd00:1::/48", or a bare address (a host
 * route, /32 or /128). Strict: no host bits past the length, no leading zeros
 * or signs in the length, no names. On SG_EINVAL, err (if not NULL) holds a
 * message for the operator. */
int cidr_parse(struct cidr_prefix *p, const char *s, char *err, size_t errlen);

/* cidr_fmt - "100.64.0.0/10", "fd00:1::/48" (RFC 5952); returns buf. */
char *cidr_fmt(const struct cidr_prefix *p, char *buf, size_t len);

/* cidr_insert - map p to value (not NULL). An existing mapping for exactly p
 * is replaced and its value stored in *old (NULL if there was none; old may
 * be NULL when the caller keeps values elsewhere). 0 or SG_EINVAL. */
int cidr_insert(struct cidr *t, const struct cidr_prefix *p, void *value,
    void **old);

/* cidr_remove - unmap exactly p; returns its value, NULL if not mapped. */
void *cidr_remove(struct cidr *t, const struct cidr_prefix *p);

/* cidr_get - the value of exactly p (no longest-prefix match), or NULL. */
void *cidr_get(const struct cidr *t, const struct cidr_prefix *p);

/* cidr_lookup - value of the longest prefix containing a (port ignored), or
 * NULL; *plen (if not NULL) gets that prefix's length. */
void *cidr_lookup(const struct cidr *t, const union sockaddr_any *a,
    unsigned *plen);

/* cidr_lookup_raw - the same for 4 or 16 raw address bytes. */
void *cidr_lookup_raw(const struct cidr *t, int family, const void *addr,
    unsigned *plen);

/* cidr_count - number of prefixes mapped, both families. */
size_t cidr_count(const struct cidr *t);

/* cidr_walk - call fn for every mapping, IPv4 first, each family in address
 * order with shorter prefixes before the longer ones they contain. A nonzero
 * return from fn stops the walk and is returned. fn must not change t. */
int cidr_walk(const struct cidr *t,
    int (*fn)(const struct cidr_prefix *p, void *value, void *arg), void *arg);

#endif
