/*
 * The slot table: what a worker needs to check a heartbeat (the slot's id
 * and key) and where it records it (its own timestamp, in the same 64-byte
 * entry for workers 0..SLOT_INLINE_WORKERS-1). Chunked as docs/design.md
 * says: a directory of fixed chunks that never move, so growing publishes a
 * new directory under RCU and loses no heartbeat written meanwhile. Workers
 * are QSBR readers; only the control thread writes, except each worker's
 * own timestamps.
 */
#ifndef GLOURNET_SLOT_TABLE_H
#define GLOURNET_SLOT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <urcu-qsbr.h>

#include "glournet/heartbeat.h"

#define SLOT_CHUNK_SHIFT 16
#define SLOT_CHUNK_SLOTS (1u << SLOT_CHUNK_SHIFT)
#define SLOT_CHUNK_MASK  (SLOT_CHUNK_SLOTS - 1)
#define GN_MAX_WORKERS   64

/* Workers whose timestamp lives in the entry itself: 9 fill a 64-byte
 * line. A worker past them keeps one uint32 array per chunk (the
 * overflow), as every worker did before: two lines a heartbeat for it, one
 * for the others. */
#define SLOT_INLINE_WORKERS 9

/*
 * One endpoint's slot: one cache line at most, so a heartbeat touches one
 * line (its check reads id and key, its store writes seen[worker];
 * FACTS.md "Costs": 42 ns a heartbeat with the timestamp in its own array,
 * 19-20.5 ns in the entry on 2 MiB pages). The entry's size depends on the
 * workers (slot_dir.shift): 32 bytes with one worker (seen[0] only: no
 * more memory than before, issue 15 item 5), 64 bytes with 2 or more
 * (seen[0..8]), aligned to its size so none straddles two lines. Each
 * worker writes only its own seen[worker]; the control thread writes id,
 * key and src_tag, rarely. RSS pins a source to one queue, so normally
 * one worker writes an endpoint's line; with one worker two endpoints
 * share a line and one writer.
 */
struct slot_entry {
	uint64_t id; /* 0: slot unassigned */
	uint8_t key[HB_KEY_LEN];
	/* slot_src_tag of the address the control thread last saw the
	 * endpoint at (its notify address, docs/protocol.md §2); 0: none, or
	 * "report the next heartbeat". A worker compares each accepted
	 * heartbeat's source with it and tells the control thread when they
	 * differ (worker.c). Written by the control thread only. */
	uint32_t src_tag;
	/* The newest heartbeat time worker w recorded (steady clock, 0: never),
	 * for w below slot_dir.ninline; written by worker w only, plain
	 * stores. As many as the entry's size holds: 1 or 9. */
	uint32_t seen[];
};
_Static_assert(offsetof(struct slot_entry, seen) == 28, "id, key, tag, then the timestamps");
_Static_assert(28 + 4 * SLOT_INLINE_WORKERS == 64, "9 timestamps fill a 64-byte entry");

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

/* A chunk is 64 Ki entries and nothing else, 2 MiB (32-byte entries) or
 * 4 MiB (64-byte): a whole number of 2 MiB pages. */

/* The overflow timestamps of workers ninline.. live behind the chunk
 * pointers: nover arrays of SLOT_CHUNK_SLOTS uint32 per chunk, one per such
 * worker, each its own allocation (no shared lines). The arrays belong to
 * their chunk and never move; a new directory copies the pointers. */
struct slot_dir {
	uint32_t nchunks;
	uint8_t shift;    /* log2 of the entry's size: 5 (one worker) or 6 */
	uint8_t ninline;  /* workers with their timestamp in the entry: 1..9 */
	uint16_t nover;   /* workers past them (nworkers - ninline) */
	uint8_t *chunk[]; /* then uint32_t *over[nchunks * nover] */
};

struct slot_table {
	struct slot_dir *dir; /* RCU-published */
	uint32_t nworkers;
	uint32_t max_slots;
	/* Chunks on 2 MiB hugetlb pages and on 4 KiB pages (gn_mem.h): each
	 * chunk takes hugepages while the reserved pool has them. */
	uint32_t huge_chunks, small_chunks;
	bool fallback_noted; /* the pool running out was logged */
};

int slot_table_init(struct slot_table *t, uint32_t nworkers, uint32_t max_slots);
void slot_table_destroy(struct slot_table *t);

/* Control thread only. Makes `slot` addressable, growing by whole chunks
 * (each on hugetlb pages while the pool lasts, else on normal pages: the
 * first such fallback after hugepages is logged once, every one counted in
 * small_chunks); publishes the new directory with rcu_assign_pointer,
 * after its chunks are zeroed, and waits one grace period before freeing
 * the old directory. -ENOSPC past max_slots, -ENOMEM (nothing changed). */
int slot_table_reserve(struct slot_table *t, uint32_t slot);

/* Control thread, once at start after the restore: makes sure the first
 * chunk exists and logs one line saying which pages the table is on
 * ("slot table: 2 MiB hugetlb pages (N chunks, M MiB)", or 4 KiB pages and
 * how to reserve hugepages). */
int slot_table_note_pages(struct slot_table *t);

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
 * key and tag wiped), so the next owner starts from "never seen". Relaxed
 * stores: the next owner's slot_table_assign publishes its id with
 * release, after these. */
void slot_table_clear_seen(struct slot_table *t, uint32_t slot);

/* Control thread only, before the workers are launched (a restart
 * restoring the store): `slot` starts with `last_seen` as its newest
 * timestamp, written as worker 0's as if worker 0 had recorded it (in the
 * entry), so slot_table_last_seen reports it until a worker records a
 * newer one. A plain store: no worker runs yet, and launching them orders
 * it before anything they do. `slot` must be reserved. */
void slot_table_restore_seen(struct slot_table *t, uint32_t slot, uint32_t last_seen);

/* Control thread: the newest timestamp any worker recorded for `slot` (the
 * max over workers; 0 for a slot outside the table). Relaxed loads of the
 * workers' plain stores: a value at most one store old, never torn. */
uint32_t slot_table_last_seen(const struct slot_table *t, uint32_t slot);

uint32_t slot_table_capacity(const struct slot_table *t);

static inline const struct slot_entry *slot_dir_entry(const struct slot_dir *d, uint32_t slot)
{
	uint32_t c = slot >> SLOT_CHUNK_SHIFT;
	if (c >= d->nchunks)
		return NULL;
	return (const struct slot_entry *)(const void *)(d->chunk[c] +
							 ((size_t)(slot & SLOT_CHUNK_MASK)
							  << d->shift));
}

/* A chunk's bytes: 64 Ki entries of 1 << shift bytes (2 or 4 MiB). */
static inline size_t slot_dir_chunk_bytes(const struct slot_dir *d)
{
	return (size_t)SLOT_CHUNK_SLOTS << d->shift;
}

static inline uint32_t *const *slot_dir_over(const struct slot_dir *d)
{
	return (uint32_t *const *)(const void *)&d->chunk[d->nchunks];
}

/* Where `worker` records `slot`'s timestamp, given the slot's entry e
 * (slot_dir_entry(d, slot)): in the entry for a worker below d->ninline,
 * with no further load, else in its overflow array. The cast: an entry
 * is read-only to a worker except its own seen[worker]. */
static inline uint32_t *slot_entry_seen(const struct slot_dir *d, const struct slot_entry *e,
					uint32_t slot, unsigned worker)
{
	if (worker < d->ninline)
		return (uint32_t *)&e->seen[worker];
	return &slot_dir_over(d)[(size_t)(slot >> SLOT_CHUNK_SHIFT) * d->nover + worker -
				 d->ninline][slot & SLOT_CHUNK_MASK];
}

/* The same from the slot alone. `slot` must be inside the directory. */
static inline uint32_t *slot_dir_seen(const struct slot_dir *d, uint32_t slot, unsigned worker)
{
	return slot_entry_seen(d, slot_dir_entry(d, slot), slot, worker);
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
