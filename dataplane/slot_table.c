/*
 * Growth and assignment of the chunked slot table (see slot_table.h). All
 * writers run on the control thread, so no lock: the only concurrency is
 * with the readers, handled by RCU publication and store ordering.
 */
#include <errno.h>
#include <string.h>

#include "glournet/gn_mem.h"
#include "glournet/slot_table.h"

static size_t dir_size(uint32_t nchunks)
{
	return sizeof(struct slot_dir) + (size_t)nchunks * sizeof(struct slot_chunk *);
}

static void chunk_free(struct slot_chunk *c, uint32_t nworkers)
{
	if (!c)
		return;
	for (uint32_t w = 0; w < nworkers; w++)
		gn_table_free(c->seen[w], SLOT_CHUNK_SLOTS * sizeof(uint32_t));
	gn_table_free(c, sizeof(*c));
}

static struct slot_chunk *chunk_alloc(uint32_t nworkers)
{
	struct slot_chunk *c = gn_table_alloc(sizeof(*c));
	if (!c)
		return NULL;
	for (uint32_t w = 0; w < nworkers; w++) {
		c->seen[w] = gn_table_alloc(SLOT_CHUNK_SLOTS * sizeof(uint32_t));
		if (!c->seen[w]) {
			chunk_free(c, nworkers);
			return NULL;
		}
	}
	return c;
}

int slot_table_init(struct slot_table *t, uint32_t nworkers, uint32_t max_slots)
{
	if (nworkers == 0 || nworkers > GN_MAX_WORKERS || max_slots == 0)
		return -EINVAL;
	t->nworkers = nworkers;
	t->max_slots = max_slots;
	t->dir = gn_table_alloc(dir_size(0));
	return t->dir ? 0 : -ENOMEM;
}

void slot_table_destroy(struct slot_table *t)
{
	struct slot_dir *d = t->dir;
	if (!d)
		return;
	for (uint32_t c = 0; c < d->nchunks; c++)
		chunk_free(d->chunk[c], t->nworkers);
	gn_table_free(d, dir_size(d->nchunks));
	t->dir = NULL;
}

int slot_table_reserve(struct slot_table *t, uint32_t slot)
{
	struct slot_dir *old = t->dir;
	if (slot >= t->max_slots)
		return -ENOSPC;
	uint32_t need = (slot >> SLOT_CHUNK_SHIFT) + 1;
	if (need <= old->nchunks)
		return 0;

	struct slot_dir *d = gn_table_alloc(dir_size(need));
	if (!d)
		return -ENOMEM;
	memcpy(d->chunk, old->chunk, old->nchunks * sizeof(d->chunk[0]));
	for (uint32_t c = old->nchunks; c < need; c++) {
		d->chunk[c] = chunk_alloc(t->nworkers);
		if (!d->chunk[c]) {
			while (c-- > old->nchunks)
				chunk_free(d->chunk[c], t->nworkers);
			gn_table_free(d, dir_size(need));
			return -ENOMEM;
		}
	}
	d->nchunks = need;
	rcu_assign_pointer(t->dir, d);
	/* Chunks are shared by both directories; only the old index goes. */
	synchronize_rcu();
	gn_table_free(old, dir_size(old->nchunks));
	return 0;
}

void slot_table_assign(struct slot_table *t, uint32_t slot, uint64_t id,
		       const uint8_t key[HB_KEY_LEN])
{
	struct slot_entry *e = (struct slot_entry *)slot_dir_entry(t->dir, slot);
	__atomic_store_n(&e->id, 0, __ATOMIC_RELEASE);
	memcpy(e->key, key, HB_KEY_LEN);
	__atomic_store_n(&e->id, id, __ATOMIC_RELEASE);
}

void slot_table_release(struct slot_table *t, uint32_t slot)
{
	struct slot_entry *e = (struct slot_entry *)slot_dir_entry(t->dir, slot);
	if (e)
		__atomic_store_n(&e->id, 0, __ATOMIC_RELEASE);
}

void slot_table_clear_seen(struct slot_table *t, uint32_t slot)
{
	struct slot_entry *e = (struct slot_entry *)slot_dir_entry(t->dir, slot);
	if (!e)
		return;
	memset(e->key, 0, HB_KEY_LEN);   /* id is 0: no worker reads it */
	__atomic_store_n(&e->src_tag, 0, __ATOMIC_RELAXED); /* the next owner's source is not known */
	for (uint32_t w = 0; w < t->nworkers; w++)
		__atomic_store_n(slot_dir_seen(t->dir, slot, w), 0, __ATOMIC_RELAXED);
}

void slot_table_restore_seen(struct slot_table *t, uint32_t slot, uint32_t last_seen)
{
	*slot_dir_seen(t->dir, slot, 0) = last_seen;
}

uint32_t slot_table_last_seen(const struct slot_table *t, uint32_t slot)
{
	uint32_t last = 0;
	if (!slot_dir_entry(t->dir, slot))
		return 0;
	for (uint32_t w = 0; w < t->nworkers; w++) {
		uint32_t v = __atomic_load_n(slot_dir_seen(t->dir, slot, w), __ATOMIC_RELAXED);
		if (v > last)
			last = v;
	}
	return last;
}

uint32_t slot_table_capacity(const struct slot_table *t)
{
	return t->dir->nchunks * SLOT_CHUNK_SLOTS;
}
