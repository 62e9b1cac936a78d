/*
 * Growth and assignment of the chunked slot table (see slot_table.h). All
 * writers run on the control thread, so no lock: the only concurrency is
 * with the readers, handled by RCU publication and store ordering.
 */
#include <errno.h>
#include <string.h>

#define LOG_TAG "slot_table"
#include "glournet/gn_mem.h"
#include "glournet/log.h"
#include "glournet/slot_table.h"

/* The entry's size for a count of workers: 32 bytes (worker 0's timestamp
 * in the entry) for one, 64 (up to 9) for more; issue 15 item 5 (memory). */
static void layout_of(uint32_t nworkers, struct slot_dir *d)
{
	d->shift = nworkers == 1 ? 5 : 6;
	d->ninline = (uint8_t)(nworkers < SLOT_INLINE_WORKERS ? nworkers : SLOT_INLINE_WORKERS);
	d->nover = (uint16_t)(nworkers - d->ninline);
}

/* 64 Ki entries: 2 or 4 MiB, whole 2 MiB pages. */
static size_t chunk_bytes(const struct slot_dir *d)
{
	return slot_dir_chunk_bytes(d);
}

/* The chunk pointers, then nover overflow pointers per chunk. */
static size_t dir_size(uint32_t nchunks, uint32_t nover)
{
	return sizeof(struct slot_dir) + (size_t)nchunks * (1 + nover) * sizeof(void *);
}

static uint32_t **dir_over(struct slot_dir *d)
{
	return (uint32_t **)(void *)&d->chunk[d->nchunks];
}

#define OVER_BYTES (SLOT_CHUNK_SLOTS * sizeof(uint32_t))

/* Frees chunk c of d and its overflow arrays (NULLs allowed). */
static void chunk_free(struct slot_dir *d, uint32_t c)
{
	uint32_t **over = dir_over(d) + (size_t)c * d->nover;
	for (uint32_t w = 0; w < d->nover; w++)
		gn_table_free(over[w], OVER_BYTES);
	gn_table_free_pages(d->chunk[c], chunk_bytes(d));
}

/* Fills chunk c of d (its entry and overflow pointers NULL on entry): the
 * entries on hugetlb pages while the pool lasts, else on normal pages,
 * counted in *huge. */
static int chunk_alloc(struct slot_dir *d, uint32_t c, bool *huge)
{
	uint32_t **over = dir_over(d) + (size_t)c * d->nover;
	d->chunk[c] = gn_table_alloc_pages(chunk_bytes(d), huge);
	if (!d->chunk[c])
		return -ENOMEM;
	for (uint32_t w = 0; w < d->nover; w++) {
		over[w] = gn_table_alloc(OVER_BYTES);
		if (!over[w])
			return -ENOMEM;
	}
	return 0;
}

int slot_table_init(struct slot_table *t, uint32_t nworkers, uint32_t max_slots)
{
	if (nworkers == 0 || nworkers > GN_MAX_WORKERS || max_slots == 0)
		return -EINVAL;
	t->nworkers = nworkers;
	t->max_slots = max_slots;
	t->huge_chunks = t->small_chunks = 0;
	t->fallback_noted = false;
	t->dir = gn_table_alloc(dir_size(0, 0));
	if (!t->dir)
		return -ENOMEM;
	layout_of(nworkers, t->dir);
	return 0;
}

void slot_table_destroy(struct slot_table *t)
{
	struct slot_dir *d = t->dir;
	if (!d)
		return;
	for (uint32_t c = 0; c < d->nchunks; c++)
		chunk_free(d, c);
	gn_table_free(d, dir_size(d->nchunks, d->nover));
	t->dir = NULL;
	t->huge_chunks = t->small_chunks = 0;
}

int slot_table_reserve(struct slot_table *t, uint32_t slot)
{
	struct slot_dir *old = t->dir;
	if (slot >= t->max_slots)
		return -ENOSPC;
	uint32_t need = (slot >> SLOT_CHUNK_SHIFT) + 1;
	if (need <= old->nchunks)
		return 0;

	uint32_t nover = old->nover;
	struct slot_dir *d = gn_table_alloc(dir_size(need, nover)); /* zeroed */
	if (!d)
		return -ENOMEM;
	d->nchunks = need;
	d->shift = old->shift;
	d->ninline = old->ninline;
	d->nover = nover;
	memcpy(d->chunk, old->chunk, old->nchunks * sizeof(d->chunk[0]));
	memcpy(dir_over(d), dir_over(old), (size_t)old->nchunks * nover * sizeof(uint32_t *));
	uint32_t huge = 0;
	for (uint32_t c = old->nchunks; c < need; c++) {
		bool h;
		if (chunk_alloc(d, c, &h) < 0) {
			for (uint32_t u = old->nchunks; u <= c; u++)
				chunk_free(d, u);
			gn_table_free(d, dir_size(need, nover));
			return -ENOMEM;
		}
		huge += h;
	}
	uint32_t small = need - old->nchunks - huge;
	if (small && t->huge_chunks && !t->fallback_noted) {
		/* The pool ran out while growing: said once, counted always. */
		LOG(WARN,
		    "slot table: the 2 MiB hugepage pool ran out at chunk %u: chunks from here on "
		    "are on 4 KiB pages (show status: slot_chunks)",
		    old->nchunks + huge);
		t->fallback_noted = true;
	}
	t->huge_chunks += huge;
	t->small_chunks += small;
	/* Publication orders the new chunks' zeroes before any worker reads
	 * them through d. */
	rcu_assign_pointer(t->dir, d);
	/* Chunks are shared by both directories; only the old index goes. */
	synchronize_rcu();
	gn_table_free(old, dir_size(old->nchunks, nover));
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
	memset(e->key, 0, HB_KEY_LEN); /* id is 0: no worker reads it */
	/* The next owner's source is not known. */
	__atomic_store_n(&e->src_tag, 0, __ATOMIC_RELAXED);
	for (uint32_t w = 0; w < t->nworkers; w++)
		__atomic_store_n(slot_dir_seen(t->dir, slot, w), 0, __ATOMIC_RELAXED);
}

void slot_table_restore_seen(struct slot_table *t, uint32_t slot, uint32_t last_seen)
{
	*slot_dir_seen(t->dir, slot, 0) = last_seen;
}

uint32_t slot_table_last_seen(const struct slot_table *t, uint32_t slot)
{
	const struct slot_entry *e = slot_dir_entry(t->dir, slot);
	if (!e)
		return 0;
	/* The inline ones first: the line the sweep reads anyway. */
	uint32_t n = t->dir->ninline;
	uint32_t last = 0;
	for (uint32_t w = 0; w < n; w++) {
		uint32_t v = __atomic_load_n(&e->seen[w], __ATOMIC_RELAXED);
		if (v > last)
			last = v;
	}
	for (uint32_t w = n; w < t->nworkers; w++) {
		uint32_t v = __atomic_load_n(slot_dir_seen(t->dir, slot, w), __ATOMIC_RELAXED);
		if (v > last)
			last = v;
	}
	return last;
}

int slot_table_note_pages(struct slot_table *t)
{
	int rc = slot_table_reserve(t, 0);
	if (rc < 0)
		return rc;
	uint32_t n = t->dir->nchunks;
	uint32_t mib = n * (uint32_t)(chunk_bytes(t->dir) >> 20);
	if (t->small_chunks == 0) {
		LOG(INFO, "slot table: 2 MiB hugetlb pages (%u chunks, %u MiB)", n, mib);
	} else if (t->huge_chunks == 0) {
		LOG(INFO,
		    "slot table: 4 KiB pages: no free 2 MiB hugepages (%u chunks, %u MiB; reserve "
		    "with echo N > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages: 16 a "
		    "million endpoints with one worker, 32 with more, beside DPDK's own)",
		    n, mib);
	} else {
		LOG(INFO,
		    "slot table: %u of %u chunks on 2 MiB hugetlb pages, the rest on 4 KiB pages "
		    "(the pool ran out; 16 pages a million endpoints, 32 with 2+ workers)",
		    t->huge_chunks, n);
		t->fallback_noted = true;
	}
	return 0;
}

uint32_t slot_table_capacity(const struct slot_table *t)
{
	return t->dir->nchunks * SLOT_CHUNK_SLOTS;
}
