/*
 * A token bucket per source address, for POST /v1/register: registration
 * hands out keys and allocates slots, so one source must not be able to
 * burn through them. The table of sources is bounded (the least recently
 * seen source is forgotten first), so a flood of spoofed or rotating
 * sources costs a fixed amount of memory, never more.
 *
 * Time is passed in (milliseconds, monotonic) so tests drive the clock.
 * One thread: the control thread.
 */
#ifndef GLOURNET_RATE_LIMIT_H
#define GLOURNET_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

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
	uint64_t evicted;
};

/* 0 or -EINVAL (a zero parameter) or -ENOMEM. */
int rl_init(struct rate_limit *rl, uint32_t rate, uint32_t burst, uint32_t max_sources);
void rl_destroy(struct rate_limit *rl);

/* Takes one token for `addr`'s address (the port is ignored; an IPv4-mapped
 * IPv6 address is its IPv4 address) at `now_ms`. True: taken. False: the
 * bucket is empty and *retry_after_s is the whole seconds until a token is
 * back (at least 1). An address family other than IPv4/IPv6 shares one
 * bucket. `now_ms` must not go backwards (it is clamped if it does). */
bool rl_take(struct rate_limit *rl, const struct sockaddr *addr, uint64_t now_ms,
	     uint32_t *retry_after_s);

/* Sources currently remembered (for tests and stats). */
static inline uint32_t rl_sources(const struct rate_limit *rl)
{
	return rl->n;
}

#endif
