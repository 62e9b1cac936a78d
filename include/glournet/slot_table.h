/*
 * The slot table: what a worker needs to check a heartbeat (the slot's id
 * and key) and where it records it (its own timestamp array). Chunked as
 * docs/design.md says: a directory of fixed chunks that never move, so growing
 * publishes a new directory under RCU and loses no heartbeat written
 * meanwhile. Workers are QSBR readers; only the control thread writes.
 */
#ifndef GLOURNET_SLOT_TABLE_H
#define GLOURNET_SLOT_TABLE_H

#include <stdint.h>
#include <urcu-qsbr.h>

#include "glournet/heartbeat.h"

#define SLOT_CHUNK_SHIFT 16
#define SLOT_CHUNK_SLOTS (1u << SLOT_CHUNK_SHIFT)
#define SLOT_CHUNK_MASK  (SLOT_CHUNK_SLOTS - 1)
#define GN_MAX_WORKERS   64

struct slot_entry {
	uint64_t id;                 /* 0: slot unassigned */
	uint8_t  key[HB_KEY_LEN];
	/* slot_src_tag of the address the control thread last saw the
	 * endpoint at (its notify address, docs/protocol.md §2); 0: none, or
	 * "report the next heartbeat". A worker compares each accepted
	 * heartbeat's source with it and tells the control thread when they
	 * differ (worker.c). Written by the control thread only. */
	uint32_t src_tag;
	uint32_t spare;
};
/* 32 bytes: two entries a cache line, none across two (a chunk is 2 MiB,
 * one huge page). */
_Static_assert(sizeof(struct slot_entry) == 32, "two slot entries a cache line");

/*
 * A 32-bit tag of a source address: an IPv4 address is its own tag (as
 * loaded, no byte swap), an IPv6 address a multiplicative hash of its two
 * halves; never 0 (0 is "none"). Two addresses that share a tag are taken
 * for the same one: for IPv4 never, for IPv6 with odds of 2^-32, after
 * which the notify address stays the old one until the next change or
 * poll. `family` is AF_INET (2) or AF_INET6 (10): this header includes no
 * socket header.
 */
static inline uint32_t slot_src_tag(uint8_t family, const uint8_t *bytes)
{
	uint32_t t;
	if (family == 2) {
		memcpy(&t, bytes, 4);
	} else {
		uint64_t hi, lo;
		memcpy(&hi, bytes, 8);
		memcpy(&lo, bytes + 8, 8);
		t = (uint32_t)((hi * 0x9E3779B97F4A7C15ull ^ lo * 0xC2B2AE3D27D4EB4Full) >> 32);
	}
	return t ? t : 1;
}

struct slot_chunk {
	struct slot_entry ent[SLOT_CHUNK_SLOTS];
	/* One array per worker, each its own allocation: no shared lines. */
	uint32_t *seen[GN_MAX_WORKERS];
};

struct slot_dir {
	uint32_t nchunks;
	struct slot_chunk *chunk[];
};

struct slot_table {
	struct slot_dir *dir;        /* RCU-published */
	uint32_t nworkers;
	uint32_t max_slots;
};

int slot_table_init(struct slot_table *t, uint32_t nworkers, uint32_t max_slots);
void slot_table_destroy(struct slot_table *t);

/* Control thread only. Makes `slot` addressable, growing by whole chunks;
 * waits one grace period before freeing the old directory. */
int slot_table_reserve(struct slot_table *t, uint32_t slot);

/* Control thread only. Key first, id last: a worker that sees the new id
 * also sees the new key (a heartbeat racing a re-key may fail its MAC). */
void slot_table_assign(struct slot_table *t, uint32_t slot, uint64_t id,
		       const uint8_t key[HB_KEY_LEN]);

/* Control thread only. The slot stops belonging to anyone: workers count
 * its heartbeats as HB_UNKNOWN_SLOT from now on. A worker already past the
 * id check may still record one, so the slot is reused only after a grace
 * period and slot_table_clear_seen (registry_reclaim does both). */
void slot_table_release(struct slot_table *t, uint32_t slot);

/* Control thread only, a grace period after slot_table_release: no worker
 * can write the slot's timestamps any more; they are zeroed (and the old
 * key wiped), so the next owner starts from "never seen". */
void slot_table_clear_seen(struct slot_table *t, uint32_t slot);

/* Control thread only, before the workers are launched (a restart
 * restoring the store): `slot` starts with `last_seen` as its newest
 * timestamp, written into worker 0's array as if worker 0 had recorded it,
 * so slot_table_last_seen reports it until a worker records a newer one.
 * A plain store: no worker runs yet, and launching them orders it before
 * anything they do. `slot` must be reserved. */
void slot_table_restore_seen(struct slot_table *t, uint32_t slot, uint32_t last_seen);

/* Control thread: the newest timestamp any worker recorded for `slot`. */
uint32_t slot_table_last_seen(const struct slot_table *t, uint32_t slot);

uint32_t slot_table_capacity(const struct slot_table *t);

static inline const struct slot_entry *slot_dir_entry(const struct slot_dir *d, uint32_t slot)
{
	uint32_t c = slot >> SLOT_CHUNK_SHIFT;
	if (c >= d->nchunks)
		return NULL;
	return &d->chunk[c]->ent[slot & SLOT_CHUNK_MASK];
}

static inline uint32_t *slot_dir_seen(const struct slot_dir *d, uint32_t slot, unsigned worker)
{
	return &d->chunk[slot >> SLOT_CHUNK_SHIFT]->seen[worker][slot & SLOT_CHUNK_MASK];
}

/* Control thread only. The tag workers compare heartbeat sources with; a
 * relaxed store: a worker that still sees the old one reports once more. */
static inline void slot_table_set_tag(struct slot_table *t, uint32_t slot, uint32_t tag)
{
	struct slot_entry *e = (struct slot_entry *)slot_dir_entry(t->dir, slot);
	if (e)
		__atomic_store_n(&e->src_tag, tag, __ATOMIC_RELAXED);
}

#endif
