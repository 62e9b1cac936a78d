/*
 * Per-source token buckets (rate_limit.h). Tokens are counted in
 * thousandths so a rate of N per second refills exactly N thousandths per
 * millisecond: integer arithmetic, no drift. The table is a fixed array of
 * entries, chained from a keyed hash, with an LRU list through it. When it
 * is full, a new source takes over the least recently seen entry only if
 * that entry's bucket has refilled completely (forgetting it then gives
 * nothing away: it would come back with a full bucket anyway); otherwise
 * the new source is charged to one shared overflow bucket. So neither
 * cycling through sources nor flooding the table refills anyone's bucket
 * early, and the memory stays fixed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "control/rate_limit.h"

#define MILLI 1000u /* credit units per token */
/* Entries looked at from the LRU end for a full bucket to take over. */
#define EVICT_SCAN 8

struct rl_entry {
	struct source_key key;
	uint64_t credit;     /* thousandths of a token */
	uint64_t last_ms;    /* when credit was last brought up to date */
	uint32_t chain;      /* next in the hash chain, index + 1 */
	uint32_t prev, next; /* LRU neighbours, index + 1 */
};

int rl_init(struct rate_limit *rl, uint32_t rate, uint32_t burst, uint32_t max_sources)
{
	memset(rl, 0, sizeof(*rl));
	if (!rate || !burst || !max_sources || max_sources > (1u << 30))
		return -EINVAL;
	uint32_t nb = 1;
	while (nb < max_sources)
		nb <<= 1;
	rl->buckets = calloc(nb, sizeof(*rl->buckets));
	rl->e = calloc(max_sources + 1, sizeof(*rl->e)); /* + the overflow bucket */
	if (!rl->buckets || !rl->e) {
		rl_destroy(rl);
		return -ENOMEM;
	}
	if (sodium_init() < 0) {
		rl_destroy(rl);
		return -ENOMEM;
	}
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	rl->rate = rate;
	rl->burst = burst;
	rl->max_sources = max_sources;
	rl->nbuckets = nb;
	rl->prefix = SOURCE_PREFIX_DEFAULT;
	rl->e[max_sources].credit = (uint64_t)burst * MILLI;
	return 0;
}

int rl_set_prefix(struct rate_limit *rl, struct source_prefix p)
{
	if (p.v4 < 1 || p.v4 > 32 || p.v6 < 1 || p.v6 > 128)
		return -EINVAL;
	rl->prefix = p;
	return 0;
}

void rl_destroy(struct rate_limit *rl)
{
	free(rl->buckets);
	free(rl->e);
	memset(rl, 0, sizeof(*rl));
}

static uint32_t hash(const struct rate_limit *rl, const struct source_key *key)
{
	uint8_t out[crypto_shorthash_BYTES];
	crypto_shorthash(out, key->b, sizeof(key->b), rl->hash_key);
	uint32_t h;
	memcpy(&h, out, sizeof(h));
	return h & (rl->nbuckets - 1);
}

static void lru_unlink(struct rate_limit *rl, uint32_t i)
{
	struct rl_entry *e = &rl->e[i - 1];
	if (e->prev)
		rl->e[e->prev - 1].next = e->next;
	else
		rl->lru_head = e->next;
	if (e->next)
		rl->e[e->next - 1].prev = e->prev;
	else
		rl->lru_tail = e->prev;
	e->prev = e->next = 0;
}

static void lru_push_front(struct rate_limit *rl, uint32_t i)
{
	struct rl_entry *e = &rl->e[i - 1];
	e->prev = 0;
	e->next = rl->lru_head;
	if (rl->lru_head)
		rl->e[rl->lru_head - 1].prev = i;
	rl->lru_head = i;
	if (!rl->lru_tail)
		rl->lru_tail = i;
}

static void chain_unlink(struct rate_limit *rl, uint32_t i)
{
	uint32_t *p = &rl->buckets[hash(rl, &rl->e[i - 1].key)];
	while (*p && *p != i)
		p = &rl->e[*p - 1].chain;
	if (*p)
		*p = rl->e[i - 1].chain;
	rl->e[i - 1].chain = 0;
}

/* Brings `e`'s credit up to `now_ms`, never beyond the burst. */
static void refill(const struct rate_limit *rl, struct rl_entry *e, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)rl->burst * MILLI;
	if (now_ms <= e->last_ms)
		return;
	uint64_t elapsed = now_ms - e->last_ms;
	/* elapsed * rate may overflow for a long-idle source: full anyway */
	if (elapsed >= cap / rl->rate + 1)
		e->credit = cap;
	else
		e->credit =
			e->credit + elapsed * rl->rate > cap ? cap : e->credit + elapsed * rl->rate;
	e->last_ms = now_ms;
}

/* An entry near the LRU end whose bucket is full again, or 0. */
static uint32_t full_victim(struct rate_limit *rl, uint64_t now_ms)
{
	uint32_t i = rl->lru_tail;
	for (unsigned n = 0; i && n < EVICT_SCAN; n++, i = rl->e[i - 1].prev) {
		struct rl_entry *e = &rl->e[i - 1];
		refill(rl, e, now_ms);
		if (e->credit == (uint64_t)rl->burst * MILLI)
			return i;
	}
	return 0;
}

/* The entry for `key`, created (full bucket) if absent: index + 1. A full
 * table with no full bucket to take over: the overflow bucket. */
static uint32_t lookup(struct rate_limit *rl, const struct source_key *key, uint64_t now_ms)
{
	uint32_t b = hash(rl, key);
	for (uint32_t i = rl->buckets[b]; i; i = rl->e[i - 1].chain) {
		if (source_key_eq(&rl->e[i - 1].key, key)) {
			lru_unlink(rl, i);
			lru_push_front(rl, i);
			return i;
		}
	}
	uint32_t i;
	if (rl->n < rl->max_sources) {
		i = ++rl->n;
	} else if ((i = full_victim(rl, now_ms))) {
		lru_unlink(rl, i);
		chain_unlink(rl, i);
		rl->evicted++;
	} else {
		rl->overflowed++;
		return rl->max_sources + 1;
	}
	struct rl_entry *e = &rl->e[i - 1];
	e->key = *key;
	e->credit = (uint64_t)rl->burst * MILLI;
	e->last_ms = now_ms;
	e->chain = rl->buckets[b];
	rl->buckets[b] = i;
	lru_push_front(rl, i);
	return i;
}

bool rl_take(struct rate_limit *rl, const struct sockaddr *addr, uint64_t now_ms,
	     uint32_t *retry_after_s)
{
	struct source_key key = source_key_of(addr, rl->prefix);
	struct rl_entry *e = &rl->e[lookup(rl, &key, now_ms) - 1];
	refill(rl, e, now_ms);
	if (e->credit >= MILLI) {
		e->credit -= MILLI;
		return true;
	}
	uint64_t ms = (MILLI - e->credit + rl->rate - 1) / rl->rate;
	uint64_t s = (ms + 999) / 1000;
	*retry_after_s = s ? (uint32_t)s : 1;
	return false;
}
