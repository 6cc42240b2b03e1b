/*
 * htab.c - intrusive chained hash table (see htab.h).
 */
#include "htab.h"

#include <stdlib.h>

#include "util.h"

#define HTAB_INITIAL 256u

uint64_t
htab_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

void
htab_init(struct htab *t, size_t load)
{
	t->nb = HTAB_INITIAL;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	t->n = 0;
	t->load = load;
}

void
htab_free(struct htab *t, void (*efree)(void *))
{
	for (size_t i = 0; i < t->nb; i++)
		while (t->b[i] != NULL)
			efree(htab_del(t, &t->b[i]));
	free(t->b);
	t->b = NULL;
}

struct hnode **
htab_chain(struct htab *t, uint64_t h)
{
	return &t->b[h & (t->nb - 1)];
}

static void
grow(struct htab *t)
{
	size_t nb = t->nb * 2;
	struct hnode **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < t->nb; i++)
		while (t->b[i] != NULL) {
			struct hnode *e = t->b[i];

			t->b[i] = e->next;
			e->next = b[e->h & (nb - 1)];
			b[e->h & (nb - 1)] = e;
		}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

int
htab_add(struct htab *t, struct hnode *e, uint64_t h)
{
	struct hnode **pp = htab_chain(t, h);

	e->h = h;
	e->next = *pp;
	*pp = e;
	if (++t->n <= t->load * t->nb)
		return 0;
	grow(t);
	return 1;
}

struct hnode *
htab_del(struct htab *t, struct hnode **pp)
{
	struct hnode *e = *pp;

	*pp = e->next;
	t->n--;
	return e;
}
