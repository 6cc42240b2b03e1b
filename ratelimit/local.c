/*
 * local.c - the in-process fallback limiter. One hash table (htab.h) of
 * entries named by the same keys as in Redis; each entry expires at the time
 * its Redis key would. Phase one of a decision only reads (and drops expired
 * leases); phase two writes, and runs only when every limit allows.
 */
#include "local.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "htab.h"
#include "util.h"

struct lmem {
	char *m;
	size_t len;
	int64_t exp_us;
};

struct lent {
	struct hnode node;	/* first: a struct hnode * is a struct lent * */
	char *key;
	size_t keylen;
	int64_t exp_us;
	int64_t tat;
	struct lmem *mem;
	size_t nmem, cap;
};

struct rl_local {
	pthread_mutex_t mu;
	struct htab t;
	size_t sweep;
};

#define SWEEP_BUCKETS 4

int64_t
rl_local_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct rl_local *
rl_local_new(void)
{
	struct rl_local *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	htab_init(&l->t, 1);
	return l;
}

static void
ent_free(void *p)
{
	struct lent *e = p;

	for (size_t i = 0; i < e->nmem; i++)
		free(e->mem[i].m);
	free(e->mem);
	free(e->key);
	free(e);
}

void
rl_local_free(struct rl_local *l)
{
	if (l == NULL)
		return;
	htab_free(&l->t, ent_free);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static void
sweep(struct rl_local *l, int64_t now)
{
	for (int n = 0; n < SWEEP_BUCKETS; n++) {
		struct hnode **pp = &l->t.b[l->sweep];

		while (*pp != NULL)
			if (((struct lent *)*pp)->exp_us <= now)
				ent_free(htab_del(&l->t, pp));
			else
				pp = &(*pp)->next;
		l->sweep = (l->sweep + 1) & (l->t.nb - 1);
	}
}

/* lookup - the live entry of key, or NULL; an expired one is dropped. */
static struct lent *
lookup(struct rl_local *l, const char *key, size_t len, int64_t now)
{
	uint64_t h = htab_fnv(HTAB_FNV_INIT, key, len);
	struct hnode **pp = htab_chain(&l->t, h);

	for (; *pp != NULL; pp = &(*pp)->next) {
		struct lent *e = (struct lent *)*pp;

		if (e->node.h != h || e->keylen != len ||
		    memcmp(e->key, key, len))
			continue;
		if (e->exp_us > now)
			return e;
		ent_free(htab_del(&l->t, pp));
		return NULL;
	}
	return NULL;
}

static struct lent *
create(struct rl_local *l, const char *key, size_t len)
{
	struct lent *e = xcalloc(1, sizeof(*e));

	e->key = xstrndup(key, len);
	e->keylen = len;
	if (htab_add(&l->t, &e->node, htab_fnv(HTAB_FNV_INIT, key, len)))
		l->sweep = 0;
	return e;
}

static struct lmem *
mem_find(struct lent *e, const char *m, size_t len)
{
	for (size_t i = 0; i < e->nmem; i++)
		if (e->mem[i].len == len && memcmp(e->mem[i].m, m, len) == 0)
			return &e->mem[i];
	return NULL;
}

static void
mem_add(struct lent *e, const char *m, size_t len, int64_t exp)
{
	e->mem = xgrow(e->mem, &e->cap, e->nmem + 1, sizeof(*e->mem), 4);
	e->mem[e->nmem].m = xstrndup(m, len);
	e->mem[e->nmem].len = len;
	e->mem[e->nmem].exp_us = exp;
	e->nmem++;
}

static void
mem_del(struct lent *e, size_t i)
{
	free(e->mem[i].m);
	e->mem[i] = e->mem[--e->nmem];
}

static void
leases_expire(struct lent *e, int64_t now)
{
	for (size_t i = 0; i < e->nmem;)
		if (e->mem[i].exp_us <= now)
			mem_del(e, i);
		else
			i++;
}

/* check - phase one for one item: -2 allows, else retry ms (or -1). */
static int64_t
check(struct rl_local *l, const struct rl_plan *p, const struct rl_item *it,
    int64_t now, int64_t *new_tat)
{
	struct lent *e = lookup(l, it->key, it->keylen, now);
	struct rl_gcra g;
	int64_t retry, first;

	switch (it->kind) {
	case RL_RATE:
		g.t_us = it->a;
		g.tau_us = it->b;
		if (rl_gcra_step(&g, e ? e->tat : 0, now, it->c, new_tat,
		    &retry))
			return -2;
		return retry;
	case RL_CONC:
		if (e == NULL)
			return -2;
		leases_expire(e, now);
		if (mem_find(e, p->lease, p->lease_len) != NULL ||
		    (int64_t)e->nmem < it->a)
			return -2;
		first = e->mem[0].exp_us;
		for (size_t i = 1; i < e->nmem; i++)
			first = MIN(first, e->mem[i].exp_us);
		return MAX(1, (first - now) / 1000);
	case RL_DISTINCT:
		if (e == NULL || mem_find(e, it->member, it->member_len) ||
		    (int64_t)e->nmem < it->a)
			return -2;
		return MAX(1, (e->exp_us - now) / 1000);
	case RL_LOCK:
		return -2;
	}
	return -2;
}

static void
commit(struct rl_local *l, const struct rl_plan *p, const struct rl_item *it,
    int64_t now, int64_t new_tat)
{
	struct lent *e = lookup(l, it->key, it->keylen, now);
	struct lmem *m;
	int64_t exp;

	switch (it->kind) {
	case RL_RATE:
		if (it->c == 0)
			return;
		if (e == NULL)
			e = create(l, it->key, it->keylen);
		e->tat = new_tat;
		e->exp_us = new_tat;
		break;
	case RL_CONC:
		exp = now + it->b * 1000;
		if (e == NULL)
			e = create(l, it->key, it->keylen);
		if ((m = mem_find(e, p->lease, p->lease_len)) != NULL)
			m->exp_us = exp;
		else
			mem_add(e, p->lease, p->lease_len, exp);
		e->exp_us = MAX(e->exp_us, exp);
		break;
	case RL_DISTINCT:
		if (e == NULL) {
			e = create(l, it->key, it->keylen);
			e->exp_us = now + it->b * 1000;
		}
		if (mem_find(e, it->member, it->member_len) == NULL)
			mem_add(e, it->member, it->member_len, e->exp_us);
		break;
	case RL_LOCK:
		break;
	}
}

void
rl_local_decide(struct rl_local *l, const struct rl_plan *p, int64_t now,
    struct rl_outcome *o)
{
	int64_t tat[RL_MAX_LIMITS];

	o->allow = 1;
	o->deny_index = -1;
	o->retry_ms = 0;
	pthread_mutex_lock(&l->mu);
	sweep(l, now);
	for (size_t i = 0; i < p->n; i++) {
		int64_t r = check(l, p, &p->item[i], now, &tat[i]);

		if (r == -2)
			continue;
		if (o->allow) {
			o->allow = 0;
			o->deny_index = (int)i;
		}
		if (r == -1 || o->retry_ms == -1)
			o->retry_ms = -1;
		else
			o->retry_ms = MAX(o->retry_ms, r);
	}
	if (o->allow)
		for (size_t i = 0; i < p->n; i++)
			commit(l, p, &p->item[i], now, tat[i]);
	pthread_mutex_unlock(&l->mu);
}

void
rl_local_release(struct rl_local *l, const struct rl_plan *p, int64_t now)
{

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < p->n; i++) {
		const struct rl_item *it = &p->item[i];
		struct lent *e;
		struct lmem *m;

		if (it->kind != RL_CONC ||
		    (e = lookup(l, it->key, it->keylen, now)) == NULL)
			continue;
		if ((m = mem_find(e, p->lease, p->lease_len)) != NULL)
			mem_del(e, (size_t)(m - e->mem));
	}
	pthread_mutex_unlock(&l->mu);
}

size_t
rl_local_entries(struct rl_local *l)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->t.n;
	pthread_mutex_unlock(&l->mu);
	return n;
}
