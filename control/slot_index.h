/*
 * An open-addressing index from a 64-bit hash to slots, for the registry's
 * id and guid lookups. It stores slots only; the caller confirms a hit
 * against the endpoint itself (ids and guids live there once).
 *
 * A cell is 8 bytes: the hash's upper 32 bits (which also give the home
 * cell, so the table can be rebuilt without the keys) and the slot. It
 * grows without stopping the world: a full table gets a successor twice
 * its size, new entries go there, and the old cells move over a few at a
 * time (on each insert and on slot_index_step from the event loop) while
 * lookups consult both. 10 M endpoints never pay a 10 M-cell rehash in one
 * request.
 */
#ifndef GLOURNET_SLOT_INDEX_H
#define GLOURNET_SLOT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slot_index_cell {
	uint32_t tag;        /* hash >> 32 */
	uint32_t slot_plus1; /* 0: empty; SLOT_INDEX_TOMB: removed (old table only) */
};

struct slot_index_table {
	struct slot_index_cell *cells;
	uint32_t bits; /* 2^bits cells */
	size_t used;   /* live entries */
};

struct slot_index {
	struct slot_index_table cur;
	struct slot_index_table old; /* being emptied into cur; cells NULL when not */
	size_t cursor;               /* old cells below this have moved */
	uint64_t migrations;         /* growths started, for stats and tests */
};

typedef bool (*slot_index_match_fn)(void *ctx, uint32_t slot, const void *key);

int slot_index_init(struct slot_index *ix, size_t initial);
void slot_index_destroy(struct slot_index *ix);
/* Returns the slot, or UINT32_MAX when absent. */
uint32_t slot_index_find(const struct slot_index *ix, uint64_t hash, slot_index_match_fn match,
			 void *ctx, const void *key);
int slot_index_insert(struct slot_index *ix, uint64_t hash, uint32_t slot);
/* Starts loading the cell a find or insert of `hash` reads first: a loop
 * over many keys (the restore) prefetches a few ahead, so their cache
 * misses overlap instead of queueing (one a lookup in a 10 M table). */
void slot_index_prefetch(const struct slot_index *ix, uint64_t hash);
/* Removes the entry (hash, slot): 0, or -ENOENT when there is none. No
 * tombstones in the live table: the entries after it in its cluster shift
 * back, so lookups stay as short as if it had never been inserted. */
int slot_index_remove(struct slot_index *ix, uint64_t hash, uint32_t slot);
/* Room for `n` entries without growing, when the index is still empty
 * (a restart sizes it once); a no-op otherwise. */
int slot_index_reserve(struct slot_index *ix, size_t n);
/* Moves up to `budget` old cells; true while a growth is in progress. */
bool slot_index_step(struct slot_index *ix, size_t budget);
size_t slot_index_count(const struct slot_index *ix);
size_t slot_index_bytes(const struct slot_index *ix);

#endif
