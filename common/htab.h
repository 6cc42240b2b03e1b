/*
 * htab.h - the chained hash table under the per-source session counts
 * (proxy/srclimit.c) and the fallback limiter (ratelimit/local.c).
 *
 * Intrusive: the caller's entry starts with a struct hnode, and the caller
 * hashes and compares its keys itself; the table only links nodes into a
 * power-of-two array of buckets (the low bits of the hash pick one) and
 * doubles the array when the entries outnumber the buckets `load` times,
 * so a chain stays short however many entries there are. It allocates
 * only buckets, owns no entry and takes no lock: the owner's mutex guards
 * it.
 */
#ifndef SUBGATE_HTAB_H
#define SUBGATE_HTAB_H

#include <stddef.h>
#include <stdint.h>

/* HTAB_FNV_INIT - the FNV-1a offset basis, where htab_fnv starts. */
#define HTAB_FNV_INIT 0xcbf29ce484222325ull

struct hnode {
	struct hnode *next;
	uint64_t h;		/* the hash the entry was added with */
};

struct htab {
	struct hnode **b;
	size_t nb;		/* buckets, a power of two */
	size_t n;		/* entries */
	size_t load;
};

/* htab_fnv - h with the n bytes at p hashed in (FNV-1a). */
uint64_t htab_fnv(uint64_t h, const void *p, size_t n);

/* htab_init - an empty table that doubles past load entries a bucket. */
void htab_init(struct htab *t, size_t load);
/* htab_free - every entry to efree (which may free it), then the buckets. */
void htab_free(struct htab *t, void (*efree)(void *));

/* htab_chain - the link at the head of h's chain: walk it by ->next,
 * comparing ->h before the key. */
struct hnode **htab_chain(struct htab *t, uint64_t h);
/* htab_add - e at the head of h's chain. 1 if the table doubled (every
 * chain, and the bucket of every hash, changed), else 0. */
int htab_add(struct htab *t, struct hnode *e, uint64_t h);
/* htab_del - unlink the entry *pp points at (a link of a chain) and
 * return it. */
struct hnode *htab_del(struct htab *t, struct hnode **pp);

#endif
