/*
 * Linear probing with a load factor up to 3/4 (8 cells a cache line: even
 * a miss reads one or two lines at that load); removal by backward shift
 * in the live table (no tombstones to pile up over years of removals and
 * re-registrations). Growth is incremental (slot_index.h): while the old
 * table drains, its cells become tombstones as they move (a stale copy
 * left there would answer for an entry since removed from the new table)
 * or are removed (the old table is thrown away whole; tombstones keep its
 * probe chains as they were). Only the control thread touches it.
 */
#include <errno.h>
#include <stdlib.h>

#include "control/slot_index.h"

#define SLOT_INDEX_TOMB UINT32_MAX
#define STEP_PER_INSERT 8 /* drains the old table long before the new one is 3/4 full */

static inline size_t home_of(uint32_t tag, uint32_t bits)
{
	return (size_t)(tag >> (32 - bits));
}

static inline size_t mask_of(const struct slot_index_table *t)
{
	return ((size_t)1 << t->bits) - 1;
}

static int table_alloc(struct slot_index_table *t, uint32_t bits)
{
	/* calloc of a large block maps fresh zero pages: no memset, no stall. */
	t->cells = calloc((size_t)1 << bits, sizeof(*t->cells));
	t->bits = bits;
	t->used = 0;
	return t->cells ? 0 : -ENOMEM;
}

int slot_index_init(struct slot_index *ix, size_t initial)
{
	uint32_t bits = 4;
	while (((size_t)1 << bits) * 3 < initial * 4 && bits < 32)
		bits++;
	ix->old = (struct slot_index_table){0};
	ix->cursor = 0;
	ix->migrations = 0;
	return table_alloc(&ix->cur, bits);
}

void slot_index_destroy(struct slot_index *ix)
{
	free(ix->cur.cells);
	free(ix->old.cells);
	ix->cur.cells = ix->old.cells = NULL;
}

static void place(struct slot_index_table *t, uint32_t tag, uint32_t slot_plus1)
{
	size_t mask = mask_of(t), i = home_of(tag, t->bits);
	while (t->cells[i].slot_plus1)
		i = (i + 1) & mask;
	t->cells[i].tag = tag;
	t->cells[i].slot_plus1 = slot_plus1;
	t->used++;
}

static uint32_t table_find(const struct slot_index_table *t, uint32_t tag,
			   slot_index_match_fn match, void *ctx, const void *key)
{
	size_t mask = mask_of(t);
	for (size_t i = home_of(tag, t->bits);; i = (i + 1) & mask) {
		const struct slot_index_cell *c = &t->cells[i];
		if (!c->slot_plus1)
			return UINT32_MAX;
		if (c->tag == tag && c->slot_plus1 != SLOT_INDEX_TOMB &&
		    match(ctx, c->slot_plus1 - 1, key))
			return c->slot_plus1 - 1;
	}
}

uint32_t slot_index_find(const struct slot_index *ix, uint64_t hash, slot_index_match_fn match,
			 void *ctx, const void *key)
{
	uint32_t tag = (uint32_t)(hash >> 32);
	uint32_t s = table_find(&ix->cur, tag, match, ctx, key);
	if (s == UINT32_MAX && ix->old.cells)
		s = table_find(&ix->old, tag, match, ctx, key);
	return s;
}

void slot_index_prefetch(const struct slot_index *ix, uint64_t hash)
{
	/* For writing: the restore's insert follows its find. */
	__builtin_prefetch(&ix->cur.cells[home_of((uint32_t)(hash >> 32), ix->cur.bits)], 1, 3);
}

int slot_index_reserve(struct slot_index *ix, size_t n)
{
	if (slot_index_count(ix) || ix->old.cells)
		return 0;
	uint32_t bits = ix->cur.bits;
	while (((size_t)1 << bits) * 3 < n * 4 && bits < 32)
		bits++;
	if (bits == ix->cur.bits)
		return 0;
	struct slot_index_table t;
	if (table_alloc(&t, bits) < 0)
		return -ENOMEM;
	free(ix->cur.cells);
	ix->cur = t;
	return 0;
}

bool slot_index_step(struct slot_index *ix, size_t budget)
{
	if (!ix->old.cells)
		return false;
	size_t n = (size_t)1 << ix->old.bits;
	for (; budget && ix->cursor < n; budget--, ix->cursor++) {
		struct slot_index_cell *c = &ix->old.cells[ix->cursor];
		if (c->slot_plus1 && c->slot_plus1 != SLOT_INDEX_TOMB) {
			place(&ix->cur, c->tag, c->slot_plus1);
			/* Moved: a tombstone keeps the probe chains of the cells
			 * still to move, and no stale copy outlives a removal
			 * from the new table. */
			c->slot_plus1 = SLOT_INDEX_TOMB;
			ix->old.used--;
		}
	}
	if (ix->cursor < n)
		return true;
	free(ix->old.cells);
	ix->old = (struct slot_index_table){0};
	return false;
}

static int start_growth(struct slot_index *ix)
{
	if (ix->old.cells) /* cannot happen with STEP_PER_INSERT >= 2; be safe */
		slot_index_step(ix, SIZE_MAX);
	struct slot_index_table next;
	if (ix->cur.bits >= 32 || table_alloc(&next, ix->cur.bits + 1) < 0)
		return -ENOMEM;
	ix->old = ix->cur;
	ix->cur = next;
	ix->cursor = 0;
	ix->migrations++;
	return 0;
}

int slot_index_insert(struct slot_index *ix, uint64_t hash, uint32_t slot)
{
	if ((ix->cur.used + 1) * 4 > ((size_t)1 << ix->cur.bits) * 3) {
		int rc = start_growth(ix);
		if (rc < 0)
			return rc;
	}
	place(&ix->cur, (uint32_t)(hash >> 32), slot + 1);
	slot_index_step(ix, STEP_PER_INSERT);
	return 0;
}

/* Whether `home` lies cyclically in (from, to]: an entry at `to` whose probe
 * started there may not move back to `from`. */
static bool cyclic_between(size_t from, size_t home, size_t to)
{
	return from <= to ? (from < home && home <= to) : (from < home || home <= to);
}

static bool table_remove(struct slot_index_table *t, uint32_t tag, uint32_t slot_plus1, bool tomb)
{
	size_t mask = mask_of(t), i = home_of(tag, t->bits);
	for (;; i = (i + 1) & mask) {
		if (!t->cells[i].slot_plus1)
			return false;
		if (t->cells[i].tag == tag && t->cells[i].slot_plus1 == slot_plus1)
			break;
	}
	t->used--;
	if (tomb) {
		t->cells[i].slot_plus1 = SLOT_INDEX_TOMB;
		return true;
	}
	/* Backward shift: pull later cluster members into the hole when their
	 * home allows it. */
	size_t hole = i;
	for (size_t j = (i + 1) & mask; t->cells[j].slot_plus1; j = (j + 1) & mask) {
		size_t home = home_of(t->cells[j].tag, t->bits);
		if (cyclic_between(hole, home, j))
			continue;
		t->cells[hole] = t->cells[j];
		hole = j;
	}
	t->cells[hole].slot_plus1 = 0;
	return true;
}

int slot_index_remove(struct slot_index *ix, uint64_t hash, uint32_t slot)
{
	uint32_t tag = (uint32_t)(hash >> 32);
	if (table_remove(&ix->cur, tag, slot + 1, false))
		return 0;
	if (ix->old.cells && table_remove(&ix->old, tag, slot + 1, true))
		return 0;
	return -ENOENT;
}

size_t slot_index_count(const struct slot_index *ix)
{
	return ix->cur.used + (ix->old.cells ? ix->old.used : 0);
}

size_t slot_index_bytes(const struct slot_index *ix)
{
	size_t b = ((size_t)1 << ix->cur.bits) * sizeof(struct slot_index_cell);
	if (ix->old.cells)
		b += ((size_t)1 << ix->old.bits) * sizeof(struct slot_index_cell);
	return b;
}
