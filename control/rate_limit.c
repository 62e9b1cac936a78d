/*
 * Per-source token buckets (rate_limit.h). Tokens are counted in
 * thousandths so a rate of N per second refills exactly N thousandths per
 * millisecond: integer arithmetic, no drift. The table is a fixed array of
 * entries, chained from a keyed hash, with an LRU list through it: when it
 * is full the least recently seen source is forgotten (it comes back, if
 * ever, with a full bucket - the same as a source never seen).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "control/rate_limit.h"

#define MILLI 1000u /* credit units per token */

struct rl_entry {
	uint8_t addr[16];
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
	rl->e = calloc(max_sources, sizeof(*rl->e));
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
	return 0;
}

void rl_destroy(struct rate_limit *rl)
{
	free(rl->buckets);
	free(rl->e);
	memset(rl, 0, sizeof(*rl));
}

/* IPv4 as IPv4-mapped IPv6, so both spellings of one address are one key. */
static void addr_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static uint32_t hash(const struct rate_limit *rl, const uint8_t key[16])
{
	uint8_t out[crypto_shorthash_BYTES];
	crypto_shorthash(out, key, 16, rl->hash_key);
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
	uint32_t *p = &rl->buckets[hash(rl, rl->e[i - 1].addr)];
	while (*p && *p != i)
		p = &rl->e[*p - 1].chain;
	if (*p)
		*p = rl->e[i - 1].chain;
	rl->e[i - 1].chain = 0;
}

/* The entry for `key`, created (full bucket) if absent: index + 1. */
static uint32_t lookup(struct rate_limit *rl, const uint8_t key[16], uint64_t now_ms)
{
	uint32_t b = hash(rl, key);
	for (uint32_t i = rl->buckets[b]; i; i = rl->e[i - 1].chain) {
		if (!memcmp(rl->e[i - 1].addr, key, 16)) {
			lru_unlink(rl, i);
			lru_push_front(rl, i);
			return i;
		}
	}
	uint32_t i;
	if (rl->n < rl->max_sources) {
		i = ++rl->n;
	} else {
		i = rl->lru_tail; /* forget the least recently seen source */
		lru_unlink(rl, i);
		chain_unlink(rl, i);
		rl->evicted++;
	}
	struct rl_entry *e = &rl->e[i - 1];
	memcpy(e->addr, key, 16);
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
	uint8_t key[16];
	addr_key(addr, key);
	struct rl_entry *e = &rl->e[lookup(rl, key, now_ms) - 1];
	uint64_t cap = (uint64_t)rl->burst * MILLI;
	if (now_ms > e->last_ms) {
		uint64_t elapsed = now_ms - e->last_ms;
		/* elapsed * rate may overflow for a long-idle source: full anyway */
		if (elapsed >= cap / rl->rate + 1)
			e->credit = cap;
		else
			e->credit = e->credit + elapsed * rl->rate > cap
					    ? cap
					    : e->credit + elapsed * rl->rate;
		e->last_ms = now_ms;
	}
	if (e->credit >= MILLI) {
		e->credit -= MILLI;
		return true;
	}
	uint64_t ms = (MILLI - e->credit + rl->rate - 1) / rl->rate;
	uint64_t s = (ms + 999) / 1000;
	*retry_after_s = s ? (uint32_t)s : 1;
	return false;
}
