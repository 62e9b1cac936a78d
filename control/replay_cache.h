/*
 * What makes a captured poll, event or registration proof worth nothing
 * the second time (issue 13 item 5, docs/protocol.md §3): the kind, id and
 * time of every authenticated request accepted while its time is inside
 * the acceptance window, so that a second one with the same three is
 * refused. Bounded: a fixed table of 8-way buckets, allocated once; sized
 * at some 4 times the requests of one window, it hardly ever evicts. An
 * entry leaves when its time falls out of the window (a request that old
 * is refused as stale anyway). When a bucket is full of entries still in
 * the window, the oldest is forgotten and the bucket's floor rises to its
 * time: from then on a request of that bucket whose time is not above the
 * floor is refused too, since the cache can no longer tell whether it is a
 * replay. So a cache too small for the load refuses more, never accepts a
 * replay; it is counted and logged.
 */
#ifndef GLOURNET_REPLAY_CACHE_H
#define GLOURNET_REPLAY_CACHE_H

#include <stdint.h>

#define REPLAY_WAYS 8

struct replay_entry {
	uint64_t id;
	uint32_t time; /* 0: empty (no request is accepted with time 0) */
	uint32_t kind;
};

struct replay_cache {
	struct replay_entry *e; /* (mask + 1) * REPLAY_WAYS */
	uint32_t *floor;        /* per bucket: the newest time forgotten */
	uint32_t mask;          /* buckets - 1 */
	uint64_t seen;          /* refused: the same kind, id and time again */
	uint64_t forgotten;     /* refused: at or under the bucket's floor */
	uint64_t evicted;       /* entries forgotten while still in the window */
};

enum replay_result {
	REPLAY_FRESH,     /* first of its kind, id and time: now remembered */
	REPLAY_SEEN,      /* a second one */
	REPLAY_FORGOTTEN, /* cannot tell (the floor): refused all the same */
};

/* Room for `entries` requests (rounded up to a power of two, at least
 * REPLAY_WAYS). 0 or -ENOMEM. */
int replay_init(struct replay_cache *c, uint32_t entries);
void replay_destroy(struct replay_cache *c);

/* Checks and remembers one accepted request; `oldest` is the oldest time
 * the window still accepts (entries before it are free). `time` > 0. */
enum replay_result replay_check(struct replay_cache *c, uint32_t kind, uint64_t id, uint32_t time,
				uint32_t oldest);

#endif
