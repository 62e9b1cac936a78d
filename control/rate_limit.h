/*
 * A token bucket per source (source_key.h: an IPv4 /32, an IPv6 /64 by
 * default), for POST /v1/register: registration hands out keys and
 * allocates slots, so one source must not be able to burn through them.
 * The table of sources is bounded: when it is full, only a source whose
 * bucket has refilled completely is forgotten (the least recently seen
 * first); with none, new sources share one overflow bucket. A flood of
 * rotating sources costs a fixed amount of memory and refills nobody's
 * bucket early.
 *
 * Time is passed in (milliseconds, monotonic) so tests drive the clock.
 * One thread: the control thread.
 */
#ifndef GLOURNET_RATE_LIMIT_H
#define GLOURNET_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "control/source_key.h"

/* Sources remembered at once by the daemon (about 3 MiB). */
#define RL_MAX_SOURCES 65536

struct rl_entry;

struct rate_limit {
	uint32_t rate;  /* tokens per second per source, >= 1 */
	uint32_t burst; /* bucket size, >= 1 */
	uint32_t max_sources;
	uint32_t n;        /* sources in the table */
	uint32_t nbuckets; /* power of two */
	uint32_t *buckets; /* hash chain heads, index + 1 (0: empty) */
	struct rl_entry *e;
	uint32_t lru_head;    /* most recently seen, index + 1 */
	uint32_t lru_tail;    /* least recently seen, index + 1 */
	uint8_t hash_key[16]; /* random: chains cannot be aimed at */
	struct source_prefix prefix;
	uint64_t evicted;    /* full buckets handed to new sources */
	uint64_t overflowed; /* takes charged to the shared overflow bucket */
};

/* 0 or -EINVAL (a zero parameter) or -ENOMEM. Sources are cut to
 * SOURCE_PREFIX_DEFAULT until rl_set_prefix says otherwise. */
int rl_init(struct rate_limit *rl, uint32_t rate, uint32_t burst, uint32_t max_sources);
void rl_destroy(struct rate_limit *rl);
/* Call before the first rl_take. 0, or -EINVAL for a length out of range. */
int rl_set_prefix(struct rate_limit *rl, struct source_prefix p);

/* Takes one token for `addr`'s source (its address cut to the prefix; the
 * port is ignored; an IPv4-mapped IPv6 address is its IPv4 address) at
 * `now_ms`. True: taken. False: the bucket is empty and *retry_after_s is
 * the whole seconds until a token is back (at least 1). An address family
 * other than IPv4/IPv6 shares one bucket. `now_ms` must not go backwards
 * (it is clamped if it does). */
bool rl_take(struct rate_limit *rl, const struct sockaddr *addr, uint64_t now_ms,
	     uint32_t *retry_after_s);

/* Sources currently remembered (for tests and stats). */
static inline uint32_t rl_sources(const struct rate_limit *rl)
{
	return rl->n;
}

#endif
