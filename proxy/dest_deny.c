/*
 * dest_deny.c - the destinations a port-25 session is refused (see
 * dest_deny.h): upstream.deny / upstream.allow in one longest-prefix table,
 * and the gateway's own addresses as host routes in another, swapped whole
 * when the netlink watcher sees them change.
 */
#include "dest_deny.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "util.h"

/* The values of the prefix table: only their addresses matter. */
static char deny_mark, allow_mark;

struct dest_deny {
	struct cidr *t;
};

struct dest_deny *
dest_deny_new(const struct config *c)
{
	struct dest_deny *d = xcalloc(1, sizeof(*d));
	size_t i;

	d->t = cidr_new();
	for (i = 0; i < c->upstream.ndeny; i++)
		(void)cidr_insert(d->t, &c->upstream.deny[i], &deny_mark, NULL);
	/* after deny: the same prefix in both lists is allowed */
	for (i = 0; i < c->upstream.nallow; i++)
		(void)cidr_insert(d->t, &c->upstream.allow[i], &allow_mark, NULL);
	return d;
}

void
dest_deny_free(struct dest_deny *d)
{
	if (d == NULL)
		return;
	cidr_free(d->t, NULL);
	free(d);
}

int
dest_deny_match(const struct dest_deny *d, const union sockaddr_any *a,
    struct cidr_prefix *hit)
{
	unsigned plen;

	if (d == NULL || cidr_lookup(d->t, a, &plen) != &deny_mark)
		return 0;
	if (hit != NULL && cidr_prefix_of(hit, a, plen) < 0)
		memset(hit, 0, sizeof(*hit));
	return 1;
}

static struct dest_deny *table;

void
dest_deny_init(const struct config *c)
{
	dest_deny_free(table);
	table = c != NULL ? dest_deny_new(c) : NULL;
}

int
dest_deny_refuses(const union sockaddr_any *a, struct cidr_prefix *hit)
{
	return dest_deny_match(table, a, hit);
}

/* The gateway's own addresses ---------------------------------------- */

static pthread_rwlock_t own_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct cidr *own;		/* host routes, value &deny_mark */

void
dest_own_set(const union sockaddr_any *a, size_t n)
{
	struct cidr *t = cidr_new(), *old;
	struct cidr_prefix p;

	for (size_t i = 0; i < n; i++)
		if (cidr_prefix_of(&p, &a[i], 128) == 0)
			(void)cidr_insert(t, &p, &deny_mark, NULL);
	pthread_rwlock_wrlock(&own_lock);
	old = own;
	own = t;
	pthread_rwlock_unlock(&own_lock);
	cidr_free(old, NULL);
}

int
dest_own_is(const union sockaddr_any *a)
{
	int r;

	pthread_rwlock_rdlock(&own_lock);
	r = own != NULL && cidr_lookup(own, a, NULL) != NULL;
	pthread_rwlock_unlock(&own_lock);
	return r;
}

size_t
dest_own_count(void)
{
	size_t n;

	pthread_rwlock_rdlock(&own_lock);
	n = own != NULL ? cidr_count(own) : 0;
	pthread_rwlock_unlock(&own_lock);
	return n;
}

/* one_addr - the address of one RTM_NEWADDR message (payload p, n octets):
 * IFA_LOCAL (the interface's own address on a point-to-point link, where
 * IFA_ADDRESS is the peer's), else IFA_ADDRESS. 0 found, 1 none, or
 * SG_EINVAL. */
static int
one_addr(const uint8_t *p, size_t n, union sockaddr_any *out)
{
	struct ifaddrmsg ifa;
	struct rtattr rta;
	const uint8_t *local = NULL, *addr = NULL;
	size_t off, alen;

	if (n < NLMSG_ALIGN(sizeof(ifa)))
		return SG_EINVAL;
	memcpy(&ifa, p, sizeof(ifa));
	alen = ifa.ifa_family == AF_INET ? 4 : ifa.ifa_family == AF_INET6 ? 16 : 0;
	for (off = NLMSG_ALIGN(sizeof(ifa)); off + sizeof(rta) <= n;
	    off += RTA_ALIGN(rta.rta_len)) {
		memcpy(&rta, p + off, sizeof(rta));
		if (rta.rta_len < sizeof(rta) || rta.rta_len > n - off)
			return SG_EINVAL;
		if (alen == 0 || rta.rta_len - sizeof(rta) != alen)
			continue;
		if (rta.rta_type == IFA_LOCAL)
			local = p + off + RTA_LENGTH(0);
		else if (rta.rta_type == IFA_ADDRESS)
			addr = p + off + RTA_LENGTH(0);
		if (RTA_ALIGN(rta.rta_len) >= n - off)
			break;
	}
	if (local == NULL)
		local = addr;
	if (local == NULL)
		return 1;
	memset(out, 0, sizeof(*out));
	if (alen == 4) {
		out->sin.sin_family = AF_INET;
		memcpy(&out->sin.sin_addr, local, 4);
	} else {
		out->sin6.sin6_family = AF_INET6;
		memcpy(&out->sin6.sin6_addr, local, 16);
	}
	return 0;
}

int
dest_own_parse(const void *buf, size_t len,
    void (*fn)(const union sockaddr_any *a, void *arg), void *arg)
{
	const uint8_t *p = buf;
	struct nlmsghdr h;
	union sockaddr_any a;
	size_t off = 0;
	int rc;

	while (off + sizeof(h) <= len) {
		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
			return SG_EINVAL;
		if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR)
			return 1;
		if (h.nlmsg_type == RTM_NEWADDR) {
			rc = one_addr(p + off + NLMSG_HDRLEN,
			    (size_t)h.nlmsg_len - (size_t)NLMSG_HDRLEN, &a);
			if (rc < 0)
				return rc;
			if (rc == 0)
				fn(&a, arg);
		}
		if (NLMSG_ALIGN(h.nlmsg_len) >= len - off)
			break;
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	return 0;
}
