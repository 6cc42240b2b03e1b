/*
 * test_htab.c - the hash table under srclimit.c and local.c: doubling at
 * the load, every entry in its chain afterwards, unlinking and freeing.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>

#include "htab.h"
#include "suites.h"

#define N 2000

static int freed;

static void
count_free(void *p)
{
	(void)p;
	freed++;
}

/* in - whether node e is in the chain of hash h. */
static int
in(struct htab *t, struct hnode *e, uint64_t h)
{
	for (struct hnode *p = *htab_chain(t, h); p != NULL; p = p->next)
		if (p == e)
			return 1;
	return 0;
}

static void
test_grow(void)
{
	static struct hnode e[N];
	struct hnode **pp;
	struct htab t;
	size_t grew = 0, bad = 0, nb;

	htab_init(&t, 2);
	nb = t.nb;
	for (size_t i = 0; i < N; i++) {
		uint64_t h = htab_fnv(HTAB_FNV_INIT, &i, sizeof(i));

		if (htab_add(&t, &e[i], h)) {
			grew++;
			bad += i + 1 != 2 * nb + 1;	/* the first past load */
			nb = t.nb;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(grew > 0);
	CU_ASSERT_EQUAL(t.n, N);
	CU_ASSERT_TRUE(t.n <= 2 * t.nb);
	for (size_t i = 0; i < N; i++)
		bad += !in(&t, &e[i], e[i].h);
	CU_ASSERT_EQUAL(bad, 0);

	pp = htab_chain(&t, e[7].h);
	while (*pp != &e[7])
		pp = &(*pp)->next;
	CU_ASSERT_PTR_EQUAL(htab_del(&t, pp), &e[7]);
	CU_ASSERT_FALSE(in(&t, &e[7], e[7].h));
	CU_ASSERT_EQUAL(t.n, N - 1);
	freed = 0;
	htab_free(&t, count_free);
	CU_ASSERT_EQUAL(freed, N - 1);
	CU_ASSERT_PTR_NULL(t.b);
}

int
suite_htab_register(void)
{
	CU_pSuite s = CU_add_suite("htab", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "grow", test_grow) == NULL)
		return -1;
	return 0;
}
