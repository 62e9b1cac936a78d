/*
 * The replay cache of replay_cache.h: one bucket of REPLAY_WAYS entries
 * (two cache lines) per hash of kind, id and time, so a check is two lines
 * read and no allocation.
 */
#include <errno.h>
#include <stdlib.h>

#include "control/replay_cache.h"

int replay_init(struct replay_cache *c, uint32_t entries)
{
	uint32_t buckets = 1;
	while ((uint64_t)buckets * REPLAY_WAYS < entries && buckets < (1u << 28))
		buckets <<= 1;
	*c = (struct replay_cache){.mask = buckets - 1};
	c->e = calloc((size_t)buckets * REPLAY_WAYS, sizeof(*c->e));
	c->floor = calloc(buckets, sizeof(*c->floor));
	if (!c->e || !c->floor) {
		replay_destroy(c);
		return -ENOMEM;
	}
	return 0;
}

void replay_destroy(struct replay_cache *c)
{
	free(c->e);
	free(c->floor);
	c->e = NULL;
	c->floor = NULL;
}

static uint32_t bucket_of(const struct replay_cache *c, uint32_t kind, uint64_t id, uint32_t time)
{
	uint64_t x = id ^ ((uint64_t)time << 32 | kind) * 0x9e3779b97f4a7c15ull;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (uint32_t)x & c->mask;
}

enum replay_result replay_check(struct replay_cache *c, uint32_t kind, uint64_t id, uint32_t time,
				uint32_t oldest)
{
	uint32_t b = bucket_of(c, kind, id, time);
	struct replay_entry *w = &c->e[(size_t)b * REPLAY_WAYS], *victim = NULL;
	for (unsigned i = 0; i < REPLAY_WAYS; i++) {
		if (w[i].time == time && w[i].id == id && w[i].kind == kind) {
			c->seen++;
			return REPLAY_SEEN;
		}
	}
	if (time <= c->floor[b]) {
		c->forgotten++;
		return REPLAY_FORGOTTEN;
	}
	for (unsigned i = 0; i < REPLAY_WAYS; i++) {
		if (w[i].time == 0 || w[i].time < oldest) { /* empty, or out of the window */
			victim = &w[i];
			break;
		}
		if (!victim || w[i].time < victim->time)
			victim = &w[i];
	}
	if (victim->time && victim->time >= oldest) {
		/* Full of requests still in the window: forget the oldest of
		 * them and the new one; not above the floor is refused from now. */
		c->evicted++;
		if (time < victim->time) {
			c->floor[b] = time;
			return REPLAY_FRESH;
		}
		if (victim->time > c->floor[b])
			c->floor[b] = victim->time;
	}
	*victim = (struct replay_entry){.id = id, .time = time, .kind = kind};
	return REPLAY_FRESH;
}
