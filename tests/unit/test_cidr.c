/*
 * test_cidr.c - prefix parsing and longest-prefix match: table-driven cases
 * for both families, removal, v4-mapped lookups, and a randomized cross-check
 * of the trie against a linear scan.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cidr.h"
#include "err.h"
#include "suites.h"
#include "util.h"

static void
insert_str(struct cidr *t, const char *s)
{
	struct cidr_prefix p;
	char err[128];

	CU_ASSERT_EQUAL_FATAL(cidr_parse(&p, s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cidr_insert(t, &p, (void *)s, NULL), 0);
}

/* expect - looking up addr gives the value inserted as want (NULL: none). */
static void
expect(const struct cidr *t, const char *addr, const char *want)
{
	union sockaddr_any a;
	struct cidr_prefix p;
	const char *got;
	unsigned plen = 999;

	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, addr, 0), 0);
	got = cidr_lookup(t, &a, &plen);
	if (want == NULL) {
		CU_ASSERT_PTR_NULL(got);
		if (got != NULL)
			fprintf(stderr, "\n%s: got %s, want none\n", addr, got);
		return;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, want);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "\n%s: got %s, want %s\n", addr, got, want);
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&p, want, NULL, 0), 0);
	CU_ASSERT_EQUAL(plen, p.plen);
}

static void
test_parse(void)
{
	static const struct {
		const char *in, *out;	/* out NULL: rejected */
	} cases[] = {
		{ "100.64.0.0/10", "100.64.0.0/10" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "192.0.2.7", "192.0.2.7/32" },
		{ "192.0.2.7/32", "192.0.2.7/32" },
		{ "fd00:1::/48", "fd00:1::/48" },
		{ "FD00:0001:0000::/48", "fd00:1::/48" },
		{ "::/0", "::/0" },
		{ "2001:db8::1", "2001:db8::1/128" },
		{ "::ffff:100.64.0.0/106", "100.64.0.0/10" },
		{ "::ffff:192.0.2.1", "192.0.2.1/32" },
		{ "::ffff:0:0/96", "0.0.0.0/0" },
		{ "::/95", "::/95" },
		{ "100.64.0.1/10", NULL },
		{ "fd00:1::1/48", NULL },
		{ "fd00:1:0:0:8000::/64", NULL },
		{ "10.0.0.0/33", NULL },
		{ "fd00::/129", NULL },
		{ "10.0.0.0/", NULL },
		{ "10.0.0.0/08", NULL },
		{ "10.0.0.0/+8", NULL },
		{ "10.0.0.0/8x", NULL },
		{ "10.0.0.0/-1", NULL },
		{ "10.0.0.0/99999999999999999999", NULL },
		{ "10.0.0/24", NULL },
		{ "10.0.0.0.0/24", NULL },
		{ "/24", NULL },
		{ "", NULL },
		{ "mx.example.org/24", NULL },
		{ "[fd00::]/48", NULL },
		{ "10.0.0.0 /8", NULL },
		{ "fd00::%eth0/64", NULL },
	};
	struct cidr_prefix p;
	char err[128], buf[CIDR_STRLEN];
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		r = cidr_parse(&p, cases[i].in, err, sizeof(err));
		if (cases[i].out == NULL) {
			CU_ASSERT_EQUAL(r, SG_EINVAL);
			CU_ASSERT_TRUE(err[0] != '\0');
			if (r == 0)
				fprintf(stderr, "\naccepted %s\n", cases[i].in);
			continue;
		}
		CU_ASSERT_EQUAL(r, 0);
		if (r != 0) {
			fprintf(stderr, "\nrejected %s: %s\n", cases[i].in, err);
			continue;
		}
		CU_ASSERT_STRING_EQUAL(cidr_fmt(&p, buf, sizeof(buf)),
		    cases[i].out);
	}
	CU_ASSERT_EQUAL(cidr_parse(&p, "100.64.0.1/10", err, sizeof(err)),
	    SG_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "\"100.64.0.1/10\": host bits set after "
	    "/10 (the network is 100.64.0.0/10)");
	CU_ASSERT_EQUAL(cidr_parse(&p, "10.0.0.0/33", err, sizeof(err)),
	    SG_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "\"10.0.0.0/33\": prefix length above 32");
	CU_ASSERT_EQUAL(cidr_parse(&p, "10.0.0.0/8", NULL, 0), 0);
	CU_ASSERT_EQUAL(cidr_parse(&p, "10.0.0.1/8", NULL, 0), SG_EINVAL);
	/* the text is quoted escaped (fuzz_config: a tab, an escape
	 * sequence reached the operator's terminal) */
	CU_ASSERT_EQUAL(cidr_parse(&p, "10.0\t.\033[2J/8", err, sizeof(err)),
	    SG_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "\"10.0\\x09.\\x1b[2J/8\": not an IPv4 "
	    "or IPv6 address");
}

static void
test_prefix_set(void)
{
	struct cidr_prefix p;
	uint8_t a4[4] = { 100, 64, 0, 0 }, a6[16] = { 0xfd, 0, 0, 1 };
	char buf[CIDR_STRLEN];

	CU_ASSERT_EQUAL(cidr_prefix_set(&p, AF_INET, a4, 10), 0);
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&p, buf, sizeof(buf)), "100.64.0.0/10");
	CU_ASSERT_EQUAL(cidr_prefix_set(&p, AF_INET, a4, 9), SG_EINVAL);
	CU_ASSERT_EQUAL(cidr_prefix_set(&p, AF_INET, a4, 33), SG_EINVAL);
	CU_ASSERT_EQUAL(cidr_prefix_set(&p, AF_INET6, a6, 32), 0);
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&p, buf, sizeof(buf)), "fd00:1::/32");
	CU_ASSERT_EQUAL(cidr_prefix_set(&p, AF_INET6, a6, 31), SG_EINVAL);
	CU_ASSERT_EQUAL(cidr_prefix_set(&p, AF_INET6, a6, 129), SG_EINVAL);
	CU_ASSERT_EQUAL(cidr_prefix_set(&p, AF_UNIX, a6, 0), SG_EINVAL);
}

static void
test_lpm_v4(void)
{
	struct cidr *t = cidr_new();

	expect(t, "100.64.3.7", NULL);
	insert_str(t, "100.64.0.0/10");
	insert_str(t, "100.64.3.0/24");
	insert_str(t, "100.64.3.7/32");
	insert_str(t, "100.64.3.128/25");
	insert_str(t, "100.127.255.255/32");
	insert_str(t, "192.0.2.0/24");
	insert_str(t, "192.0.2.0/25");
	CU_ASSERT_EQUAL(cidr_count(t), 7);
	expect(t, "100.64.3.7", "100.64.3.7/32");
	expect(t, "100.64.3.6", "100.64.3.0/24");
	expect(t, "100.64.3.8", "100.64.3.0/24");
	expect(t, "100.64.3.127", "100.64.3.0/24");
	expect(t, "100.64.3.128", "100.64.3.128/25");
	expect(t, "100.64.3.255", "100.64.3.128/25");
	expect(t, "100.64.4.0", "100.64.0.0/10");
	expect(t, "100.64.0.0", "100.64.0.0/10");
	expect(t, "100.127.255.254", "100.64.0.0/10");
	expect(t, "100.127.255.255", "100.127.255.255/32");
	expect(t, "100.128.0.0", NULL);
	expect(t, "100.63.255.255", NULL);
	expect(t, "192.0.2.1", "192.0.2.0/25");
	expect(t, "192.0.2.200", "192.0.2.0/24");
	expect(t, "192.0.3.0", NULL);
	expect(t, "fd00::1", NULL);
	insert_str(t, "0.0.0.0/0");
	expect(t, "192.0.3.0", "0.0.0.0/0");
	expect(t, "255.255.255.255", "0.0.0.0/0");
	expect(t, "0.0.0.0", "0.0.0.0/0");
	expect(t, "100.64.3.7", "100.64.3.7/32");
	expect(t, "fd00::1", NULL);
	cidr_free(t, NULL);
}

static void
test_lpm_v6(void)
{
	struct cidr *t = cidr_new();

	insert_str(t, "2001:db8::/32");
	insert_str(t, "2001:db8:1::/48");
	insert_str(t, "2001:db8:1:2::/64");
	insert_str(t, "2001:db8:1:2::42/128");
	insert_str(t, "2001:db8:1:2:8000::/65");
	insert_str(t, "2001:db8:8000::/33");
	expect(t, "2001:db8:1:2::42", "2001:db8:1:2::42/128");
	expect(t, "2001:db8:1:2::43", "2001:db8:1:2::/64");
	expect(t, "2001:db8:1:2:7fff:ffff:ffff:ffff", "2001:db8:1:2::/64");
	expect(t, "2001:db8:1:2:8000::", "2001:db8:1:2:8000::/65");
	expect(t, "2001:db8:1:2:ffff::1", "2001:db8:1:2:8000::/65");
	expect(t, "2001:db8:1:3::1", "2001:db8:1::/48");
	expect(t, "2001:db8:2::1", "2001:db8::/32");
	expect(t, "2001:db8:7fff::1", "2001:db8::/32");
	expect(t, "2001:db8:8000::1", "2001:db8:8000::/33");
	expect(t, "2001:db9::", NULL);
	expect(t, "::", NULL);
	expect(t, "100.64.3.7", NULL);
	insert_str(t, "::/0");
	expect(t, "2001:db9::", "::/0");
	expect(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0");
	/* a v4-mapped address is an IPv4 address: ::/0 does not cover it */
	expect(t, "::ffff:100.64.3.7", NULL);
	expect(t, "100.64.3.7", NULL);
	cidr_free(t, NULL);
}

static void
test_v4mapped(void)
{
	struct cidr *t = cidr_new();
	uint8_t raw[16] = { 0 };
	unsigned plen = 0;

	insert_str(t, "100.64.0.0/10");
	insert_str(t, "::ffff:100.64.3.0/120");
	CU_ASSERT_EQUAL(cidr_count(t), 2);
	expect(t, "::ffff:100.64.3.7", "::ffff:100.64.3.0/120");
	expect(t, "100.64.3.7", "::ffff:100.64.3.0/120");
	expect(t, "::ffff:100.65.0.1", "100.64.0.0/10");
	expect(t, "::100.65.0.1", NULL);
	raw[10] = raw[11] = 0xff;
	raw[12] = 100;
	raw[13] = 70;
	CU_ASSERT_STRING_EQUAL(cidr_lookup_raw(t, AF_INET6, raw, &plen),
	    "100.64.0.0/10");
	CU_ASSERT_EQUAL(plen, 10);
	CU_ASSERT_PTR_NULL(cidr_lookup_raw(t, AF_UNIX, raw, &plen));
	cidr_free(t, NULL);
}

static void
test_replace_remove(void)
{
	struct cidr *t = cidr_new();
	struct cidr_prefix p, q;
	void *old = (void *)1;
	char *v;

	CU_ASSERT_EQUAL_FATAL(cidr_parse(&p, "100.64.0.0/10", NULL, 0), 0);
	CU_ASSERT_EQUAL(cidr_insert(t, &p, "a", &old), 0);
	CU_ASSERT_PTR_NULL(old);
	CU_ASSERT_EQUAL(cidr_insert(t, &p, "b", &old), 0);
	CU_ASSERT_STRING_EQUAL(old, "a");
	CU_ASSERT_EQUAL(cidr_count(t), 1);
	CU_ASSERT_STRING_EQUAL(cidr_get(t, &p), "b");
	CU_ASSERT_EQUAL(cidr_insert(t, &p, NULL, &old), SG_EINVAL);
	q = p;
	q.addr[3] = 1;
	CU_ASSERT_EQUAL(cidr_insert(t, &q, "c", &old), SG_EINVAL);

	insert_str(t, "100.64.3.0/24");
	insert_str(t, "100.64.4.0/24");
	insert_str(t, "100.64.3.7");
	CU_ASSERT_EQUAL(cidr_count(t), 4);
	/* not mapped: a glue node, a longer and a shorter prefix */
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&q, "100.64.0.0/21", NULL, 0), 0);
	CU_ASSERT_PTR_NULL(cidr_get(t, &q));
	CU_ASSERT_PTR_NULL(cidr_remove(t, &q));
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&q, "100.64.3.7/32", NULL, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&q, "100.64.3.8", NULL, 0), 0);
	CU_ASSERT_PTR_NULL(cidr_remove(t, &q));
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&q, "100.0.0.0/8", NULL, 0), 0);
	CU_ASSERT_PTR_NULL(cidr_remove(t, &q));
	CU_ASSERT_EQUAL(cidr_count(t), 4);

	/* an inner prefix goes, its more specifics stay */
	v = cidr_remove(t, &p);
	CU_ASSERT_STRING_EQUAL(v, "b");
	CU_ASSERT_PTR_NULL(cidr_remove(t, &p));
	expect(t, "100.64.3.7", "100.64.3.7");
	expect(t, "100.64.3.9", "100.64.3.0/24");
	expect(t, "100.64.4.9", "100.64.4.0/24");
	expect(t, "100.64.5.9", NULL);
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&q, "100.64.3.0/24", NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(cidr_remove(t, &q), "100.64.3.0/24");
	expect(t, "100.64.3.7", "100.64.3.7");
	expect(t, "100.64.3.9", NULL);
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&q, "100.64.3.7", NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(cidr_remove(t, &q), "100.64.3.7");
	expect(t, "100.64.3.7", NULL);
	expect(t, "100.64.4.9", "100.64.4.0/24");
	CU_ASSERT_EQUAL(cidr_count(t), 1);
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&q, "100.64.4.0/24", NULL, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(cidr_remove(t, &q));
	CU_ASSERT_EQUAL(cidr_count(t), 0);
	expect(t, "100.64.4.9", NULL);

	/* reinsert after the trie emptied; /0 and /128 removable */
	insert_str(t, "::/0");
	insert_str(t, "fd00::1");
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&q, "::/0", NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(cidr_remove(t, &q), "::/0");
	expect(t, "fd00::1", "fd00::1");
	expect(t, "fd00::2", NULL);
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&q, "fd00::1", NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(cidr_remove(t, &q), "fd00::1");
	CU_ASSERT_EQUAL(cidr_count(t), 0);
	cidr_free(t, NULL);
}

struct dump {
	char out[512];
	size_t n;
	int stop_after;
};

static int
dump_one(const struct cidr_prefix *p, void *value, void *arg)
{
	struct dump *d = arg;
	char buf[CIDR_STRLEN];
	size_t len = strlen(d->out);

	snprintf(d->out + len, sizeof(d->out) - len, "%s%s",
	    len ? " " : "", cidr_fmt(p, buf, sizeof(buf)));
	CU_ASSERT_EQUAL(cidr_parse(&(struct cidr_prefix){ 0 }, value, NULL, 0),
	    0);
	return ++d->n == (size_t)d->stop_after ? 7 : 0;
}

static void
test_walk(void)
{
	struct cidr *t = cidr_new();
	struct dump d = { .stop_after = -1 };

	CU_ASSERT_EQUAL(cidr_walk(t, dump_one, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.out, "");
	insert_str(t, "fd00:1::/48");
	insert_str(t, "192.0.2.0/25");
	insert_str(t, "100.64.3.0/24");
	insert_str(t, "::/0");
	insert_str(t, "100.64.0.0/10");
	insert_str(t, "192.0.2.0/24");
	insert_str(t, "100.64.3.7");
	insert_str(t, "10.0.0.0/8");
	CU_ASSERT_EQUAL(cidr_walk(t, dump_one, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.out, "10.0.0.0/8 100.64.0.0/10 100.64.3.0/24 "
	    "100.64.3.7/32 192.0.2.0/24 192.0.2.0/25 ::/0 fd00:1::/48");
	memset(&d, 0, sizeof(d));
	d.stop_after = 3;
	CU_ASSERT_EQUAL(cidr_walk(t, dump_one, &d), 7);
	CU_ASSERT_EQUAL(d.n, 3);
	cidr_free(t, NULL);
}

static int nfreed;

static void
count_free(void *v)
{
	nfreed++;
	free(v);
}

static void
test_free_values(void)
{
	struct cidr *t = cidr_new();
	struct cidr_prefix p;
	void *old;

	CU_ASSERT_EQUAL_FATAL(cidr_parse(&p, "100.64.0.0/10", NULL, 0), 0);
	cidr_insert(t, &p, xstrdup("a"), &old);
	cidr_insert(t, &p, xstrdup("b"), &old);
	free(old);
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&p, "fd00::/8", NULL, 0), 0);
	cidr_insert(t, &p, xstrdup("c"), NULL);
	CU_ASSERT_EQUAL_FATAL(cidr_parse(&p, "fd00::/16", NULL, 0), 0);
	cidr_insert(t, &p, xstrdup("d"), NULL);
	nfreed = 0;
	cidr_free(t, count_free);
	CU_ASSERT_EQUAL(nfreed, 3);
	cidr_free(NULL, count_free);
}

/* The cross-check: thousands of random prefixes per family, lookups of
 * random and of near-prefix addresses compared against a linear scan, then
 * again after removing a third of them. */

#define XN 3000

struct xent {
	struct cidr_prefix p;
	int alive;
};

static uint64_t rng = 0x5ab6a7e5eedULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void
mask(uint8_t *a, unsigned plen, unsigned bits)
{
	unsigned i;

	for (i = plen; i < bits; i++)
		a[i >> 3] &= (uint8_t)~(0x80u >> (i & 7));
}

static int
contains(const struct cidr_prefix *p, const uint8_t *a)
{
	unsigned full = p->plen / 8, rest = p->plen % 8;

	if (memcmp(p->addr, a, full) != 0)
		return 0;
	return rest == 0 ||
	    ((p->addr[full] ^ a[full]) & (0xff00u >> rest) & 0xff) == 0;
}

static struct xent *
brute(struct xent *e, size_t n, int family, const uint8_t *a)
{
	struct xent *best = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (e[i].alive && e[i].p.family == family &&
		    contains(&e[i].p, a) &&
		    (best == NULL || e[i].p.plen > best->p.plen))
			best = &e[i];
	return best;
}

static int
check_all(struct cidr *t, struct xent *e, size_t n, int family, int queries)
{
	unsigned plen, i, bad = 0, hits = 0;
	uint8_t a[16];
	struct xent *want, *got;
	int q;

	for (q = 0; q < queries; q++) {
		for (i = 0; i < 16; i++)
			a[i] = (uint8_t)rnd();
		if (q & 1) {
			/* an address inside (or just beside) a random prefix */
			want = &e[rnd() % n];
			memcpy(a, want->p.addr, (want->p.plen + 7) / 8);
			if (want->p.plen > 0 && (q & 2) == 0)
				a[(want->p.plen - 1) >> 3] ^=
				    (uint8_t)(0x80u >> ((want->p.plen - 1) & 7));
		}
		if (family == AF_INET6 && (q % 7) == 0)
			a[0] = 0xfd;	/* a dense region */
		want = brute(e, n, family, a);
		plen = 999;
		got = cidr_lookup_raw(t, family, a, &plen);
		if (got != want || (want != NULL && plen != want->p.plen))
			bad++;
		hits += want != NULL && want->p.plen > 0;
	}
	CU_ASSERT_TRUE(hits > (unsigned)queries / 4);
	return bad;
}

static void
xfill(struct xent *e, size_t n, int family)
{
	unsigned bits = family == AF_INET ? 32 : 128, plen, i;
	size_t k;

	for (k = 0; k < n; k++) {
		memset(&e[k], 0, sizeof(e[k]));
		e[k].p.family = family;
		switch (rnd() % 8) {
		case 0:
			plen = rnd() % (bits + 1);
			break;
		case 1:
			plen = bits;
			break;
		default:
			plen = family == AF_INET ? 8 + rnd() % 25
			    : 16 + rnd() % 113;
			break;
		}
		if (rnd() % 200 == 0)
			plen = 0;
		for (i = 0; i < bits / 8; i++)
			e[k].p.addr[i] = (uint8_t)rnd();
		if (family == AF_INET6) {
			if (k % 3 == 0) {
				e[k].p.addr[0] = 0xfd;
				e[k].p.addr[1] = (uint8_t)(rnd() % 4);
			}
			if (memcmp(e[k].p.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff",
			    12) == 0)
				e[k].p.addr[0] = 0x20;
		}
		mask(e[k].p.addr, plen, bits);
		e[k].p.plen = plen;
	}
}

static void
crosscheck(int family)
{
	struct xent *e = xcalloc(XN, sizeof(*e));
	struct cidr *t = cidr_new();
	size_t k, alive = 0;
	void *old;
	int bad;

	xfill(e, XN, family);
	for (k = 0; k < XN; k++) {
		CU_ASSERT_EQUAL_FATAL(cidr_insert(t, &e[k].p, &e[k], &old), 0);
		if (old != NULL)
			((struct xent *)old)->alive = 0;
		else
			alive++;
		e[k].alive = 1;
	}
	CU_ASSERT_EQUAL(cidr_count(t), alive);
	bad = check_all(t, e, XN, family, 4000);
	CU_ASSERT_EQUAL(bad, 0);
	if (bad)
		fprintf(stderr, "\nfamily %d: %d mismatches\n", family, bad);
	for (k = 0; k < XN; k += 3) {
		if (!e[k].alive)
			continue;
		CU_ASSERT_PTR_EQUAL(cidr_remove(t, &e[k].p), &e[k]);
		CU_ASSERT_PTR_NULL(cidr_remove(t, &e[k].p));
		e[k].alive = 0;
		alive--;
	}
	CU_ASSERT_EQUAL(cidr_count(t), alive);
	bad = check_all(t, e, XN, family, 4000);
	CU_ASSERT_EQUAL(bad, 0);
	for (k = 0; k < XN; k++)
		if (e[k].alive)
			CU_ASSERT_PTR_EQUAL(cidr_get(t, &e[k].p), &e[k]);
	for (k = 0; k < XN; k++)
		if (e[k].alive)
			cidr_remove(t, &e[k].p);
	CU_ASSERT_EQUAL(cidr_count(t), 0);
	cidr_free(t, NULL);
	free(e);
}

static void
test_crosscheck_v4(void)
{
	crosscheck(AF_INET);
}

static void
test_crosscheck_v6(void)
{
	crosscheck(AF_INET6);
}

static void
test_prefix_of(void)
{
	static const struct {
		const char *addr;
		unsigned plen;
		const char *want;
	} t[] = {
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64" },
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 61, "2001:db8:1::/61" },
		{ "2001:db8::1", 128, "2001:db8::1/128" },
		{ "2001:db8::1", 200, "2001:db8::1/128" },	/* capped */
		{ "198.51.100.77", 24, "198.51.100.0/24" },
		{ "198.51.100.77", 64, "198.51.100.77/32" },
		{ "198.51.100.77", 0, "0.0.0.0/0" },
		{ "::ffff:198.51.100.77", 28, "198.51.100.64/28" },
	};
	struct cidr_prefix p;
	union sockaddr_any a;
	char out[64];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		CU_ASSERT_EQUAL_FATAL(addr_parse(&a, t[i].addr, 0), 0);
		CU_ASSERT_EQUAL_FATAL(cidr_prefix_of(&p, &a, t[i].plen), 0);
		cidr_fmt(&p, out, sizeof(out));
		CU_ASSERT_STRING_EQUAL(out, t[i].want);
	}
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(cidr_prefix_of(&p, &a, 8), SG_EINVAL);
}

int
suite_cidr_register(void)
{
	CU_pSuite s = CU_add_suite("cidr", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "parse", test_parse) == NULL ||
	    CU_add_test(s, "prefix_set", test_prefix_set) == NULL ||
	    CU_add_test(s, "lpm_v4", test_lpm_v4) == NULL ||
	    CU_add_test(s, "lpm_v6", test_lpm_v6) == NULL ||
	    CU_add_test(s, "v4mapped", test_v4mapped) == NULL ||
	    CU_add_test(s, "replace_remove", test_replace_remove) == NULL ||
	    CU_add_test(s, "walk", test_walk) == NULL ||
	    CU_add_test(s, "free_values", test_free_values) == NULL ||
	    CU_add_test(s, "crosscheck_v4", test_crosscheck_v4) == NULL ||
	    CU_add_test(s, "crosscheck_v6", test_crosscheck_v6) == NULL ||
	    CU_add_test(s, "prefix_of", test_prefix_of) == NULL)
		return -1;
	return 0;
}
