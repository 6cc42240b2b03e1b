/*
 * cidr.c - longest-prefix match over a path-compressed binary trie.
 *
 * Each node holds a prefix (key, plen). A child's prefix extends its
 * parent's, and the bit of the key at the parent's plen says which child it
 * is. A node with a NULL value is glue: it exists only where two subtrees
 * part and therefore always has two children. Keys are stored with their
 * host bits zero.
 */
#include "cidr.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CIDR_MAXDEPTH - nodes on any root-to-leaf path: one per length 0..128. */
#define CIDR_MAXDEPTH 129

struct cidr_node {
	struct cidr_node *child[2];
	void *value;
	unsigned plen;
	uint8_t key[16];
};

struct cidr {
	struct cidr_node *root[2];	/* [0] IPv4, [1] IPv6 */
	size_t count;
};

static unsigned
family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static int
bit_at(const uint8_t *k, unsigned i)
{
	return (k[i >> 3] >> (7 - (i & 7))) & 1;
}

/* bits_eq - a and b agree on bits [from, to). */
static int
bits_eq(const uint8_t *a, const uint8_t *b, unsigned from, unsigned to)
{
	unsigned off, n;
	uint8_t mask;

	while (from < to) {
		off = from & 7;
		n = MIN(8 - off, to - from);
		mask = (uint8_t)((0xffu >> off) & (0xffu << (8 - off - n)));
		if ((a[from >> 3] ^ b[from >> 3]) & mask)
			return 0;
		from += n;
	}
	return 1;
}

/* common_bits - length of the common prefix of a and b, at most max. */
static unsigned
common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned i, x;

	for (i = 0; i < max; i += 8) {
		x = (unsigned)(a[i >> 3] ^ b[i >> 3]);
		if (x != 0) {
			while ((x & 0x80) == 0) {
				x <<= 1;
				i++;
			}
			return MIN(i, max);
		}
	}
	return max;
}

static int
host_bits_zero(const uint8_t *addr, unsigned plen, unsigned bits)
{
	static const uint8_t zero[16];

	return bits_eq(addr, zero, plen, bits);
}

static struct cidr_node *
node_new(const uint8_t *key, unsigned plen, void *value)
{
	struct cidr_node *n = xcalloc(1, sizeof(*n));

	memcpy(n->key, key, (plen + 7) / 8);
	if (plen & 7)
		n->key[plen >> 3] &= (uint8_t)(0xffu << (8 - (plen & 7)));
	n->plen = plen;
	n->value = value;
	return n;
}

static void
node_free(struct cidr_node *n, void (*vfree)(void *))
{
	if (n == NULL)
		return;
	node_free(n->child[0], vfree);
	node_free(n->child[1], vfree);
	if (n->value != NULL && vfree != NULL)
		vfree(n->value);
	free(n);
}

struct cidr *
cidr_new(void)
{
	return xcalloc(1, sizeof(struct cidr));
}

void
cidr_free(struct cidr *t, void (*vfree)(void *))
{
	if (t == NULL)
		return;
	node_free(t->root[0], vfree);
	node_free(t->root[1], vfree);
	free(t);
}

int
cidr_prefix_set(struct cidr_prefix *p, int family, const void *addr,
    unsigned plen)
{
	unsigned bits;

	if (family != AF_INET && family != AF_INET6)
		return SG_EINVAL;
	bits = family_bits(family);
	if (plen > bits || !host_bits_zero(addr, plen, bits))
		return SG_EINVAL;
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->plen = plen;
	memcpy(p->addr, addr, bits / 8);
	if (family == AF_INET6 && plen >= 96 && addr_is_v4mapped(p->addr)) {
		p->family = AF_INET;
		p->plen = plen - 96;
		memmove(p->addr, p->addr + 12, 4);
		memset(p->addr + 4, 0, 12);
	}
	return 0;
}

int
cidr_prefix_of(struct cidr_prefix *p, const union sockaddr_any *a,
    unsigned plen)
{
	uint8_t b[16];
	unsigned bits;
	int fam;

	if (addr_raw(a, &fam, b) != 0)
		return SG_EINVAL;
	bits = family_bits(fam);
	plen = MIN(plen, bits);
	for (unsigned i = plen; i < bits; i++)
		b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return cidr_prefix_set(p, fam, b, plen);
}

static int
parse_fail(char *err, size_t errlen, const char *s, size_t n, const char *why)
{
	char q[4 * 64 + 8];

	/* the text quoted escaped: it ends up on a terminal or in a log */
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", log_esc(q, sizeof(q), s,
		    MIN(n, 64)), why);
	return SG_EINVAL;
}

int
cidr_parse(struct cidr_prefix *p, const char *s, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN], fixed[CIDR_STRLEN], q[4 * 64 + 8];
	uint8_t addr[16];
	const char *slash, *d;
	size_t hlen, slen = strlen(s);
	unsigned plen = 0, bits;
	int family;

	slash = strchr(s, '/');
	hlen = slash != NULL ? (size_t)(slash - s) : slen;
	if (hlen == 0 || hlen >= sizeof(host))
		return parse_fail(err, errlen, s, slen,
		    "not an IPv4 or IPv6 address");
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		family = AF_INET6;
	else
		return parse_fail(err, errlen, s, slen,
		    "not an IPv4 or IPv6 address");
	bits = family_bits(family);
	if (slash == NULL) {
		plen = bits;
	} else {
		d = slash + 1;
		if (*d == '\0' || (d[0] == '0' && d[1] != '\0'))
			return parse_fail(err, errlen, s, slen,
			    "prefix length is not a decimal number");
		for (; *d != '\0'; d++) {
			if (*d < '0' || *d > '9' || plen > bits)
				return parse_fail(err, errlen, s, slen,
				    "prefix length is not a decimal number");
			plen = plen * 10 + (unsigned)(*d - '0');
		}
		if (plen > bits)
			return parse_fail(err, errlen, s, slen,
			    family == AF_INET ? "prefix length above 32"
			    : "prefix length above 128");
	}
	if (!host_bits_zero(addr, plen, bits)) {
		if (err != NULL && errlen > 0) {
			struct cidr_prefix want;

			memset(&want, 0, sizeof(want));
			want.family = family;
			want.plen = plen;
			memcpy(want.addr, addr, (plen + 7) / 8);
			if (plen & 7)
				want.addr[plen >> 3] &=
				    (uint8_t)(0xffu << (8 - (plen & 7)));
			snprintf(err, errlen, "%s: host bits set after "
			    "/%u (the network is %s)", log_esc(q, sizeof(q), s,
			    MIN(slen, 64)), plen, cidr_fmt(&want, fixed,
			    sizeof(fixed)));
		}
		return SG_EINVAL;
	}
	return cidr_prefix_set(p, family, addr, plen);
}

char *
cidr_fmt(const struct cidr_prefix *p, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    inet_ntop(p->family, p->addr, host, sizeof(host)) == NULL)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%s/%u", host, p->plen);
	return buf;
}

static int
family_index(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

int
cidr_insert(struct cidr *t, const struct cidr_prefix *p, void *value,
    void **old)
{
	struct cidr_node **pp, *n, *leaf, *glue;
	unsigned common;
	int fi = family_index(p->family);

	if (old != NULL)
		*old = NULL;
	if (fi < 0 || value == NULL || p->plen > family_bits(p->family) ||
	    !host_bits_zero(p->addr, p->plen, family_bits(p->family)))
		return SG_EINVAL;
	pp = &t->root[fi];
	while ((n = *pp) != NULL) {
		common = common_bits(n->key, p->addr, MIN(n->plen, p->plen));
		if (common < n->plen) {
			if (common == p->plen) {
				leaf = node_new(p->addr, p->plen, value);
				leaf->child[bit_at(n->key, common)] = n;
				*pp = leaf;
			} else {
				glue = node_new(p->addr, common, NULL);
				leaf = node_new(p->addr, p->plen, value);
				glue->child[bit_at(p->addr, common)] = leaf;
				glue->child[bit_at(n->key, common)] = n;
				*pp = glue;
			}
			t->count++;
			return 0;
		}
		if (n->plen == p->plen) {
			if (n->value == NULL)
				t->count++;
			else if (old != NULL)
				*old = n->value;
			n->value = value;
			return 0;
		}
		pp = &n->child[bit_at(p->addr, n->plen)];
	}
	*pp = node_new(p->addr, p->plen, value);
	t->count++;
	return 0;
}

/* collapse - drop node n at *pp if it is glue with fewer than two children. */
static void
collapse(struct cidr_node **pp, struct cidr_node *n)
{
	if (n->value != NULL || (n->child[0] != NULL && n->child[1] != NULL))
		return;
	*pp = n->child[0] != NULL ? n->child[0] : n->child[1];
	free(n);
}

void *
cidr_remove(struct cidr *t, const struct cidr_prefix *p)
{
	struct cidr_node **pp, **parent = NULL, *n;
	void *v;
	int fi = family_index(p->family);

	if (fi < 0)
		return NULL;
	pp = &t->root[fi];
	while ((n = *pp) != NULL && n->plen < p->plen) {
		if (!bits_eq(n->key, p->addr, 0, n->plen))
			return NULL;
		parent = pp;
		pp = &n->child[bit_at(p->addr, n->plen)];
	}
	if (n == NULL || n->plen != p->plen || n->value == NULL ||
	    !bits_eq(n->key, p->addr, 0, n->plen))
		return NULL;
	v = n->value;
	n->value = NULL;
	t->count--;
	collapse(pp, n);
	if (parent != NULL)
		collapse(parent, *parent);
	return v;
}

void *
cidr_get(const struct cidr *t, const struct cidr_prefix *p)
{
	const struct cidr_node *n;
	int fi = family_index(p->family);

	if (fi < 0)
		return NULL;
	for (n = t->root[fi]; n != NULL && n->plen < p->plen;
	    n = n->child[bit_at(p->addr, n->plen)])
		;
	if (n == NULL || n->plen != p->plen ||
	    !bits_eq(n->key, p->addr, 0, n->plen))
		return NULL;
	return n->value;
}

void *
cidr_lookup_raw(const struct cidr *t, int family, const void *addr,
    unsigned *plen)
{
	const struct cidr_node *n, *best = NULL;
	const uint8_t *a = addr;
	unsigned from = 0, bits;
	int fi;

	if (family == AF_INET6 && addr_is_v4mapped(a)) {
		family = AF_INET;
		a += 12;
	}
	if ((fi = family_index(family)) < 0)
		return NULL;
	bits = family_bits(family);
	for (n = t->root[fi]; n != NULL; n = n->child[bit_at(a, n->plen)]) {
		if (!bits_eq(n->key, a, from, n->plen))
			break;
		if (n->value != NULL)
			best = n;
		if (n->plen == bits)
			break;
		from = n->plen + 1;
	}
	if (best == NULL)
		return NULL;
	if (plen != NULL)
		*plen = best->plen;
	return best->value;
}

void *
cidr_lookup(const struct cidr *t, const union sockaddr_any *a, unsigned *plen)
{
	if (a->sa.sa_family == AF_INET)
		return cidr_lookup_raw(t, AF_INET, &a->sin.sin_addr, plen);
	if (a->sa.sa_family == AF_INET6)
		return cidr_lookup_raw(t, AF_INET6, &a->sin6.sin6_addr, plen);
	return NULL;
}

size_t
cidr_count(const struct cidr *t)
{
	return t->count;
}

static int
walk(const struct cidr_node *n, int family,
    int (*fn)(const struct cidr_prefix *, void *, void *), void *arg)
{
	struct cidr_prefix p;
	int r;

	if (n == NULL)
		return 0;
	if (n->value != NULL) {
		memset(&p, 0, sizeof(p));
		p.family = family;
		p.plen = n->plen;
		memcpy(p.addr, n->key, sizeof(p.addr));
		if ((r = fn(&p, n->value, arg)) != 0)
			return r;
	}
	if ((r = walk(n->child[0], family, fn, arg)) != 0)
		return r;
	return walk(n->child[1], family, fn, arg);
}

int
cidr_walk(const struct cidr *t,
    int (*fn)(const struct cidr_prefix *p, void *value, void *arg), void *arg)
{
	int r;

	if ((r = walk(t->root[0], AF_INET, fn, arg)) != 0)
		return r;
	return walk(t->root[1], AF_INET6, fn, arg);
}
