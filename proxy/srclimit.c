/*
 * srclimit.c - per-source session counts (see srclimit.h): a hash table
 * (htab.h) keyed by the counted prefix, doubled when it holds twice as many
 * entries as buckets. The hash is seeded at random so that a subscriber
 * choosing many IPv6 /64s cannot pile them into one chain.
 */
#include "srclimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "err.h"
#include "htab.h"
#include "util.h"

struct sent {
	struct hnode node;	/* first: a struct hnode * is a struct sent * */
	struct cidr_prefix k;
	uint32_t n;
};

struct srclimit {
	pthread_mutex_t mu;
	struct htab t;
	uint64_t seed;
};

struct srclimit *
srclimit_new(void)
{
	struct srclimit *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->mu, NULL);
	htab_init(&s->t, 2);
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != sizeof(s->seed))
		s->seed = (uint64_t)now_ms() * 0x9e3779b97f4a7c15ull;
	return s;
}

void
srclimit_free(struct srclimit *s)
{
	if (s == NULL)
		return;
	htab_free(&s->t, free);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int
srclimit_key(struct cidr_prefix *k, const union sockaddr_any *a)
{
	/* longer than 32: an IPv4 (or v4-mapped) address counts whole */
	return cidr_prefix_of(k, a, SRCLIMIT_V6_PLEN);
}

/* hash - FNV-1a over the seeded key, its high bits folded into the low
 * ones that pick the bucket. */
static uint64_t
hash(const struct srclimit *s, const struct cidr_prefix *k)
{
	uint64_t h;

	h = htab_fnv(HTAB_FNV_INIT ^ s->seed, &k->family, sizeof(k->family));
	h = htab_fnv(h, k->addr, k->family == AF_INET ? 4 : 16);
	return h ^ (h >> 29);
}

static int
same(const struct cidr_prefix *a, const struct cidr_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* find - the link that points at k's entry, or at the NULL ending its chain
 * (mu held); h is hash(s, k). */
static struct hnode **
find(struct srclimit *s, const struct cidr_prefix *k, uint64_t h)
{
	struct hnode **pp = htab_chain(&s->t, h);

	while (*pp != NULL &&
	    ((*pp)->h != h || !same(&((struct sent *)*pp)->k, k)))
		pp = &(*pp)->next;
	return pp;
}

int
srclimit_take(struct srclimit *s, const struct cidr_prefix *k, uint32_t cap,
    int force, uint32_t *n)
{
	uint64_t h = hash(s, k);
	struct sent *e;
	int ok = 1;

	pthread_mutex_lock(&s->mu);
	if ((e = (struct sent *)*find(s, k, h)) == NULL) {
		/* n 0 is under any cap: a new entry always ends counted */
		e = xcalloc(1, sizeof(*e));
		e->k = *k;
		htab_add(&s->t, &e->node, h);
	}
	if (cap > 0 && e->n >= cap && !force)
		ok = 0;
	else if (e->n < UINT32_MAX)
		e->n++;
	if (n != NULL)
		*n = e->n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

void
srclimit_put(struct srclimit *s, const struct cidr_prefix *k)
{
	struct hnode **pp;

	pthread_mutex_lock(&s->mu);
	pp = find(s, k, hash(s, k));
	if (*pp != NULL && --((struct sent *)*pp)->n == 0)
		free(htab_del(&s->t, pp));
	pthread_mutex_unlock(&s->mu);
}

uint32_t
srclimit_count(struct srclimit *s, const struct cidr_prefix *k)
{
	struct sent *e;
	uint32_t n;

	pthread_mutex_lock(&s->mu);
	e = (struct sent *)*find(s, k, hash(s, k));
	n = e != NULL ? e->n : 0;
	pthread_mutex_unlock(&s->mu);
	return n;
}

size_t
srclimit_entries(struct srclimit *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->t.n;
	pthread_mutex_unlock(&s->mu);
	return n;
}
