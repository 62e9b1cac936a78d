/* The owned slot blocks (slot_blocks.h): a sorted array, a few entries. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/slot_blocks.h"

int slot_blocks_add(struct slot_blocks *b, uint32_t block)
{
	if (block >= SLOT_BLOCKS_MAX)
		return -EINVAL;
	uint32_t i = 0;
	while (i < b->n && b->block[i] < block)
		i++;
	if (i < b->n && b->block[i] == block)
		return 0;
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 8;
		uint32_t *p = realloc(b->block, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->block = p;
		b->cap = cap;
	}
	memmove(b->block + i + 1, b->block + i, (b->n - i) * sizeof(*b->block));
	b->block[i] = block;
	b->n++;
	return 0;
}

void slot_blocks_free(struct slot_blocks *b)
{
	free(b->block);
	*b = (struct slot_blocks){0};
}

bool slot_blocks_mine(const struct slot_blocks *b, uint32_t slot)
{
	uint32_t blk = slot >> SLOT_BLOCK_SHIFT;
	for (uint32_t i = 0; i < b->n; i++)
		if (b->block[i] == blk)
			return true;
	return false;
}

uint32_t slot_blocks_next(const struct slot_blocks *b, uint32_t from)
{
	uint32_t blk = from >> SLOT_BLOCK_SHIFT;
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->block[i] == blk)
			return from;
		if (b->block[i] > blk)
			return b->block[i] << SLOT_BLOCK_SHIFT;
	}
	return UINT32_MAX;
}

uint64_t slot_blocks_left(const struct slot_blocks *b, uint32_t from)
{
	uint64_t left = 0;
	uint32_t blk = from >> SLOT_BLOCK_SHIFT;
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->block[i] == blk)
			left += SLOT_BLOCK_SIZE - (from & (SLOT_BLOCK_SIZE - 1));
		else if (b->block[i] > blk)
			left += SLOT_BLOCK_SIZE;
	}
	return left;
}
