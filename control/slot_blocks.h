/*
 * Slot blocks of several collectors (issue 16; docs/store.md): each
 * collector hands out slots only inside blocks it owns (table
 * slot_blocks(block, collector) in PostgreSQL; block b is the slots
 * [b << SLOT_BLOCK_SHIFT, (b + 1) << SLOT_BLOCK_SHIFT)), so two collectors
 * registering at once never pick the same slot without asking the
 * database for each. This is the pure part: the blocks this collector
 * owns, which slot is the next fresh one, and whether it is running low.
 * The claims themselves are cluster_changes.c's (off the control thread).
 * Not thread-safe: the caller locks.
 */
#ifndef GLOURNET_SLOT_BLOCKS_H
#define GLOURNET_SLOT_BLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#define SLOT_BLOCK_SHIFT 16
#define SLOT_BLOCK_SIZE  (1u << SLOT_BLOCK_SHIFT)
#define SLOT_BLOCKS_MAX  (1u << (32 - SLOT_BLOCK_SHIFT)) /* blocks of the uint32 slot space */
/* Below this many fresh slots left, another block is claimed. */
#define SLOT_BLOCKS_LOW (SLOT_BLOCK_SIZE / 4)

struct slot_blocks {
	uint32_t *block; /* owned blocks, ascending */
	uint32_t n, cap;
};

/* Adds an owned block (idempotent); -ENOMEM, -EINVAL beyond the slot space. */
int slot_blocks_add(struct slot_blocks *b, uint32_t block);
void slot_blocks_free(struct slot_blocks *b);
bool slot_blocks_mine(const struct slot_blocks *b, uint32_t slot);
/* The smallest owned slot >= from; UINT32_MAX when no owned block has one. */
uint32_t slot_blocks_next(const struct slot_blocks *b, uint32_t from);
/* Owned slots >= from (what is left to hand out fresh). */
uint64_t slot_blocks_left(const struct slot_blocks *b, uint32_t from);

#endif
