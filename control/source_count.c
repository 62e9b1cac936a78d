/*
 * Per-source counts in a fixed table (source_count.h): entries chained
 * from a keyed hash, unused ones on a free list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "control/source_count.h"

struct sc_entry {
	struct source_key key;
	uint32_t count;
	uint32_t chain; /* next in the hash chain or the free list, index + 1 */
};

int sc_init(struct source_count *sc, uint32_t capacity)
{
	memset(sc, 0, sizeof(*sc));
	if (!capacity || capacity > (1u << 24))
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	uint32_t nb = 1;
	while (nb < capacity)
		nb <<= 1;
	sc->buckets = calloc(nb, sizeof(*sc->buckets));
	sc->e = calloc(capacity, sizeof(*sc->e));
	if (!sc->buckets || !sc->e) {
		sc_destroy(sc);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < capacity; i++)
		sc->e[i].chain = i + 1 < capacity ? i + 2 : 0;
	sc->free_head = 1;
	sc->capacity = capacity;
	sc->nbuckets = nb;
	randombytes_buf(sc->hash_key, sizeof(sc->hash_key));
	return 0;
}

void sc_destroy(struct source_count *sc)
{
	free(sc->buckets);
	free(sc->e);
	memset(sc, 0, sizeof(*sc));
}

static uint32_t bucket(const struct source_count *sc, const struct source_key *k)
{
	uint8_t out[crypto_shorthash_BYTES];
	crypto_shorthash(out, k->b, sizeof(k->b), sc->hash_key);
	uint32_t h;
	memcpy(&h, out, sizeof(h));
	return h & (sc->nbuckets - 1);
}

static uint32_t find(const struct source_count *sc, const struct source_key *k, uint32_t b)
{
	uint32_t i = sc->buckets[b];
	while (i && !source_key_eq(&sc->e[i - 1].key, k))
		i = sc->e[i - 1].chain;
	return i;
}

uint32_t sc_get(const struct source_count *sc, const struct source_key *k)
{
	uint32_t i = find(sc, k, bucket(sc, k));
	return i ? sc->e[i - 1].count : 0;
}

int sc_acquire(struct source_count *sc, const struct source_key *k)
{
	uint32_t b = bucket(sc, k);
	uint32_t i = find(sc, k, b);
	if (!i) {
		if (!sc->free_head)
			return -ENOSPC;
		i = sc->free_head;
		struct sc_entry *e = &sc->e[i - 1];
		sc->free_head = e->chain;
		e->key = *k;
		e->count = 0;
		e->chain = sc->buckets[b];
		sc->buckets[b] = i;
		sc->sources++;
	}
	sc->e[i - 1].count++;
	return (int)i;
}

void sc_release(struct source_count *sc, int handle)
{
	if (handle <= 0 || (uint32_t)handle > sc->capacity)
		return;
	uint32_t i = (uint32_t)handle;
	struct sc_entry *e = &sc->e[i - 1];
	if (!e->count || --e->count)
		return;
	uint32_t *p = &sc->buckets[bucket(sc, &e->key)];
	while (*p && *p != i)
		p = &sc->e[*p - 1].chain;
	if (*p)
		*p = e->chain;
	e->chain = sc->free_head;
	sc->free_head = i;
	sc->sources--;
}
