/*
 * srclimit.c - per-source session counts (see srclimit.h): a chained hash
 * table keyed by the counted prefix, doubled when it holds twice as many
 * entries as buckets. The hash is seeded at random so that a subscriber
 * choosing many IPv6 /64s cannot pile them into one chain.
 */
#include "srclimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "err.h"
#include "util.h"

#define INITIAL_BUCKETS 256u

struct sent {
	struct sent *next;
	struct cidr_prefix k;
	uint32_t n;
};

struct srclimit {
	pthread_mutex_t mu;
	struct sent **b;
	size_t nb, n;
	uint64_t seed;
};

struct srclimit *
srclimit_new(void)
{
	struct srclimit *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->mu, NULL);
	s->nb = INITIAL_BUCKETS;
	s->b = xcalloc(s->nb, sizeof(*s->b));
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != sizeof(s->seed))
		s->seed = (uint64_t)now_ms() * 0x9e3779b97f4a7c15ull;
	return s;
}

void
srclimit_free(struct srclimit *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nb; i++)
		while (s->b[i] != NULL) {
			struct sent *e = s->b[i];

			s->b[i] = e->next;
			free(e);
		}
	free(s->b);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int
srclimit_key(struct cidr_prefix *k, const union sockaddr_any *a)
{
	/* longer than 32: an IPv4 (or v4-mapped) address counts whole */
	return cidr_prefix_of(k, a, SRCLIMIT_V6_PLEN);
}

/* hash - FNV-1a over the seeded key. */
static size_t
hash(const struct srclimit *s, const struct cidr_prefix *k)
{
	uint64_t h = 0xcbf29ce484222325ull ^ s->seed;
	size_t len = k->family == AF_INET ? 4 : 16;

	h = (h ^ (uint64_t)k->family) * 0x100000001b3ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ k->addr[i]) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29)) & (s->nb - 1);
}

static int
same(const struct cidr_prefix *a, const struct cidr_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* find - the link that points at k's entry, or at the NULL ending its chain
 * (mu held). */
static struct sent **
find(struct srclimit *s, const struct cidr_prefix *k)
{
	struct sent **pp = &s->b[hash(s, k)];

	while (*pp != NULL && !same(&(*pp)->k, k))
		pp = &(*pp)->next;
	return pp;
}

static void
grow(struct srclimit *s)
{
	struct sent **old = s->b;
	size_t onb = s->nb;

	s->nb *= 2;
	s->b = xcalloc(s->nb, sizeof(*s->b));
	for (size_t i = 0; i < onb; i++)
		while (old[i] != NULL) {
			struct sent *e = old[i];
			size_t h = hash(s, &e->k);

			old[i] = e->next;
			e->next = s->b[h];
			s->b[h] = e;
		}
	free(old);
}

int
srclimit_take(struct srclimit *s, const struct cidr_prefix *k, uint32_t cap,
    int force, uint32_t *n)
{
	struct sent **pp, *e;
	int ok = 1;

	pthread_mutex_lock(&s->mu);
	pp = find(s, k);
	if ((e = *pp) == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->k = *k;
		*pp = e;
		s->n++;
	}
	if (cap > 0 && e->n >= cap && !force)
		ok = 0;
	else if (e->n < UINT32_MAX)
		e->n++;
	if (n != NULL)
		*n = e->n;
	if (s->n > 2 * s->nb)	/* a new entry is never refused: n >= 1 */
		grow(s);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

void
srclimit_put(struct srclimit *s, const struct cidr_prefix *k)
{
	struct sent **pp, *e;

	pthread_mutex_lock(&s->mu);
	pp = find(s, k);
	if ((e = *pp) != NULL && --e->n == 0) {
		*pp = e->next;
		free(e);
		s->n--;
	}
	pthread_mutex_unlock(&s->mu);
}

uint32_t
srclimit_count(struct srclimit *s, const struct cidr_prefix *k)
{
	struct sent *e;
	uint32_t n;

	pthread_mutex_lock(&s->mu);
	e = *find(s, k);
	n = e != NULL ? e->n : 0;
	pthread_mutex_unlock(&s->mu);
	return n;
}

size_t
srclimit_entries(struct srclimit *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}
