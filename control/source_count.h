/*
 * How many of something each source holds at once (for the HTTP API: open
 * connections), in a table of fixed size. A source is in the table only
 * while its count is above zero, so a table as large as the most that can
 * be held at once (every listener's connection limit together) can never
 * be full of sources holding nothing, and needs no eviction: there is no
 * way to be forgotten, and so no way to start again from zero.
 *
 * One thread (the control thread).
 */
#ifndef GLOURNET_SOURCE_COUNT_H
#define GLOURNET_SOURCE_COUNT_H

#include <stdint.h>

#include "control/source_key.h"

struct sc_entry;

struct source_count {
	uint32_t capacity; /* entries; also the most held at once */
	uint32_t nbuckets; /* power of two */
	uint32_t *buckets; /* chain heads, index + 1 (0: empty) */
	struct sc_entry *e;
	uint32_t free_head;   /* free entries, index + 1 */
	uint32_t sources;     /* entries in use */
	uint8_t hash_key[16]; /* random: chains cannot be aimed at */
};

/* 0, -EINVAL (capacity 0 or over 2^24) or -ENOMEM. */
int sc_init(struct source_count *sc, uint32_t capacity);
void sc_destroy(struct source_count *sc);

/* What `k` holds now (0 when absent). */
uint32_t sc_get(const struct source_count *sc, const struct source_key *k);
/* One more for `k`: its entry's handle (> 0), for sc_release; -ENOSPC when
 * the table is full (more held than the capacity allows for). */
int sc_acquire(struct source_count *sc, const struct source_key *k);
/* One less for the entry `handle` from sc_acquire; the source leaves the
 * table when it holds nothing. */
void sc_release(struct source_count *sc, int handle);

#endif
