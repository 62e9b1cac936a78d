/*
 * Linear probing with a load factor under 1/2, doubling when it would pass
 * it; removal by backward shift (no tombstones to pile up over years of
 * removals and re-registrations). Only the control thread touches it.
 */
#include <errno.h>
#include <stdlib.h>

#include "control/slot_index.h"

int slot_index_init(struct slot_index *ix, size_t initial)
{
	size_t n = 16;
	while (n < initial * 2)
		n <<= 1;
	ix->cells = calloc(n, sizeof(*ix->cells));
	ix->mask = n - 1;
	ix->used = 0;
	return ix->cells ? 0 : -ENOMEM;
}

void slot_index_destroy(struct slot_index *ix)
{
	free(ix->cells);
	ix->cells = NULL;
}

static void place(struct slot_index_cell *cells, size_t mask, uint64_t hash, uint32_t slot_plus1)
{
	size_t i = hash & mask;
	while (cells[i].slot_plus1)
		i = (i + 1) & mask;
	cells[i].hash = hash;
	cells[i].slot_plus1 = slot_plus1;
}

static int grow(struct slot_index *ix)
{
	size_t n = (ix->mask + 1) * 2;
	struct slot_index_cell *cells = calloc(n, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	for (size_t i = 0; i <= ix->mask; i++)
		if (ix->cells[i].slot_plus1)
			place(cells, n - 1, ix->cells[i].hash, ix->cells[i].slot_plus1);
	free(ix->cells);
	ix->cells = cells;
	ix->mask = n - 1;
	return 0;
}

uint32_t slot_index_find(const struct slot_index *ix, uint64_t hash, slot_index_match_fn match,
			 void *ctx, const void *key)
{
	for (size_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
		const struct slot_index_cell *c = &ix->cells[i];
		if (!c->slot_plus1)
			return UINT32_MAX;
		if (c->hash == hash && match(ctx, c->slot_plus1 - 1, key))
			return c->slot_plus1 - 1;
	}
}

int slot_index_insert(struct slot_index *ix, uint64_t hash, uint32_t slot)
{
	if ((ix->used + 1) * 2 > ix->mask + 1) {
		int rc = grow(ix);
		if (rc < 0)
			return rc;
	}
	place(ix->cells, ix->mask, hash, slot + 1);
	ix->used++;
	return 0;
}

/* Whether `home` lies cyclically in (from, to]: an entry at `to` whose probe
 * started there must not move back to `from`, or lookups would miss it. */
static bool cyclic_between(size_t from, size_t home, size_t to)
{
	return from <= to ? from < home && home <= to : from < home || home <= to;
}

int slot_index_remove(struct slot_index *ix, uint64_t hash, uint32_t slot)
{
	size_t i = hash & ix->mask;
	for (;; i = (i + 1) & ix->mask) {
		const struct slot_index_cell *c = &ix->cells[i];
		if (!c->slot_plus1)
			return -ENOENT;
		if (c->hash == hash && c->slot_plus1 == slot + 1)
			break;
	}
	/* Fill the hole with the next entry of the cluster that may move
	 * back to it, until the cluster ends. */
	for (size_t j = i;;) {
		j = (j + 1) & ix->mask;
		if (!ix->cells[j].slot_plus1)
			break;
		if (cyclic_between(i, ix->cells[j].hash & ix->mask, j))
			continue;
		ix->cells[i] = ix->cells[j];
		i = j;
	}
	ix->cells[i] = (struct slot_index_cell){0};
	ix->used--;
	return 0;
}
