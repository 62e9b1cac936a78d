/*
 * An open-addressing index from a 64-bit hash to slots, for the registry's
 * id and guid lookups. It stores slots only; the caller confirms a hit
 * against the endpoint itself (ids and guids live there once).
 */
#ifndef GLOURNET_SLOT_INDEX_H
#define GLOURNET_SLOT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slot_index_cell {
	uint64_t hash;           /* kept whole so the table can grow */
	uint32_t slot_plus1;     /* 0: empty */
};

struct slot_index {
	struct slot_index_cell *cells;
	size_t mask;
	size_t used;
};

typedef bool (*slot_index_match_fn)(void *ctx, uint32_t slot, const void *key);

int slot_index_init(struct slot_index *ix, size_t initial);
void slot_index_destroy(struct slot_index *ix);
/* Returns the slot, or UINT32_MAX when absent. */
uint32_t slot_index_find(const struct slot_index *ix, uint64_t hash, slot_index_match_fn match,
			 void *ctx, const void *key);
int slot_index_insert(struct slot_index *ix, uint64_t hash, uint32_t slot);
/* Removes the entry (hash, slot): 0, or -ENOENT when there is none. No
 * tombstones: the entries after it in its cluster shift back, so lookups
 * stay as short as if it had never been inserted. */
int slot_index_remove(struct slot_index *ix, uint64_t hash, uint32_t slot);

#endif
