/*
 * The slot table's layout (slot_table.h): an entry a slot holding id, key,
 * tag and the timestamps of the first workers, 32 bytes with one worker
 * (worker 0's) and 64 with more (workers 0..SLOT_INLINE_WORKERS-1), aligned
 * to its size; the workers past them in overflow arrays of their own.
 * Proves: no entry straddles two lines; an inline worker's timestamp is
 * in its slot's entry and an overflow worker's is not; with all
 * GN_MAX_WORKERS workers recording the same slot, through the per-burst
 * path, nobody clobbers anybody (nor the id, key, tag or the neighbouring
 * slots, which with one worker share the line), and slot_table_last_seen
 * is the max wherever it sits; restore counts as worker 0's and a newer
 * heartbeat of any worker wins over it; clear_seen zeroes every worker's
 * timestamp, inline and overflow, the key and the tag; growth across
 * chunks keeps them all and accounts the memory exactly (32 B a slot with
 * one worker, 64 B up to 9, plus 4 B a slot per worker past 9). Pages
 * (gn_mem.h): with no hugepages to be had every chunk falls back to normal
 * pages, counted, and works; where the machine has 2 MiB pages free the
 * chunks take them, and a pool that runs out mid-growth falls back per
 * chunk (skipped when none are free).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "glournet/gn_mem.h"
#include "glournet/hb_accept.h"
#include "glournet/hb_encode.h"

#define NOW  1795000000u
#define SLOT 3u                    /* chunk 0, between two assigned slots */
#define FAR  (2 * SLOT_CHUNK_SLOTS + 11) /* chunk 2 */

static const uint8_t key[HB_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const struct hb_window win = {.now = NOW, .window = 3600, .skew = 30};

static uint64_t id_of(uint32_t slot) { return 0xABCD000000000000ull | slot; }

static void make(struct slot_table *t, uint32_t nworkers, uint32_t upto)
{
	assert_int_equal(slot_table_init(t, nworkers, 4 * SLOT_CHUNK_SLOTS), 0);
	assert_int_equal(slot_table_reserve(t, upto), 0);
	for (uint32_t s = SLOT - 1; s <= SLOT + 1; s++) {
		slot_table_assign(t, s, id_of(s), key);
		slot_table_set_tag(t, s, 0x0A000001u + s);
	}
}

/* A heartbeat of `slot` at `time` through the per-burst path, as `worker`. */
static enum hb_verdict burst_one(struct slot_table *t, unsigned worker, uint32_t slot,
				 uint32_t time)
{
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, slot, time, id_of(slot), key);
	const uint8_t *pl[1] = {p};
	enum hb_verdict v[1] = {HB_ACCEPTED};
	struct hb_msg m[1];
	hb_accept_burst(rcu_dereference(t->dir), worker, pl, v, m, 1, &win);
	return v[0];
}

static void check_lines(uint32_t nworkers, unsigned size, unsigned ninline)
{
	struct slot_table t;
	make(&t, nworkers, FAR);
	assert_int_equal(1u << t.dir->shift, size);
	assert_int_equal(t.dir->ninline, ninline);
	assert_int_equal(slot_dir_chunk_bytes(t.dir), SLOT_CHUNK_SLOTS * size);
	for (uint32_t s = 0; s < 3 * SLOT_CHUNK_SLOTS; s += 4099) {
		const struct slot_entry *e = slot_dir_entry(t.dir, s);
		assert_int_equal((uintptr_t)e % size, 0);
		if (s + 1 < 3 * SLOT_CHUNK_SLOTS && ((s + 1) & SLOT_CHUNK_MASK))
			assert_int_equal((uintptr_t)slot_dir_entry(t.dir, s + 1) - (uintptr_t)e, size);
		for (unsigned w = 0; w < t.nworkers; w++) {
			uintptr_t a = (uintptr_t)slot_dir_seen(t.dir, s, w);
			int inside = a >= (uintptr_t)e && a + 4 <= (uintptr_t)e + size;
			assert_int_equal(inside, w < ninline);
		}
	}
	slot_table_destroy(&t);
}

static void test_entry_is_one_line(void **state)
{
	(void)state;
	check_lines(1, 32, 1);
	check_lines(2, 64, 2);
	check_lines(SLOT_INLINE_WORKERS, 64, SLOT_INLINE_WORKERS);
	check_lines(SLOT_INLINE_WORKERS + 2, 64, SLOT_INLINE_WORKERS);
	/* Two overflow workers: two different arrays. */
	struct slot_table t;
	make(&t, SLOT_INLINE_WORKERS + 2, SLOT + 1);
	assert_ptr_not_equal(slot_dir_seen(t.dir, SLOT, SLOT_INLINE_WORKERS),
			     slot_dir_seen(t.dir, SLOT, SLOT_INLINE_WORKERS + 1));
	slot_table_destroy(&t);
}

/* One worker, 32-byte entries: two endpoints a line; each keeps its own
 * timestamp, id, key and tag. */
static void test_one_worker_neighbours(void **state)
{
	(void)state;
	struct slot_table t;
	make(&t, 1, SLOT + 1);
	assert_int_equal(burst_one(&t, 0, SLOT - 1, NOW - 30), HB_ACCEPTED);
	assert_int_equal(burst_one(&t, 0, SLOT, NOW - 20), HB_ACCEPTED);
	assert_int_equal(burst_one(&t, 0, SLOT + 1, NOW - 10), HB_ACCEPTED);
	for (uint32_t s = SLOT - 1; s <= SLOT + 1; s++) {
		const struct slot_entry *e = slot_dir_entry(t.dir, s);
		assert_int_equal(slot_table_last_seen(&t, s), NOW - 30 + 10 * (s - (SLOT - 1)));
		assert_int_equal(e->id, id_of(s));
		assert_memory_equal(e->key, key, HB_KEY_LEN);
		assert_int_equal(e->src_tag, 0x0A000001u + s);
	}
	slot_table_release(&t, SLOT);
	slot_table_clear_seen(&t, SLOT);
	assert_int_equal(slot_table_last_seen(&t, SLOT), 0);
	assert_int_equal(slot_table_last_seen(&t, SLOT - 1), NOW - 30);
	assert_int_equal(slot_table_last_seen(&t, SLOT + 1), NOW - 10);
	assert_int_equal(slot_dir_entry(t.dir, SLOT + 1)->id, id_of(SLOT + 1));
	slot_table_destroy(&t);
}

static void test_all_workers_keep_their_own(void **state)
{
	(void)state;
	struct slot_table t;
	make(&t, GN_MAX_WORKERS, SLOT + 1);
	const struct slot_entry *e = slot_dir_entry(t.dir, SLOT);
	for (unsigned w = 0; w < GN_MAX_WORKERS; w++)
		assert_int_equal(burst_one(&t, w, SLOT, NOW - 1000 + 7 * w), HB_ACCEPTED);
	for (unsigned w = 0; w < GN_MAX_WORKERS; w++)
		assert_int_equal(*slot_dir_seen(t.dir, SLOT, w), NOW - 1000 + 7 * w);
	assert_int_equal(slot_table_last_seen(&t, SLOT), NOW - 1000 + 7 * (GN_MAX_WORKERS - 1));
	/* The control thread's fields and the neighbours are untouched. */
	assert_int_equal(e->id, id_of(SLOT));
	assert_memory_equal(e->key, key, HB_KEY_LEN);
	assert_int_equal(e->src_tag, 0x0A000001u + SLOT);
	assert_int_equal(slot_table_last_seen(&t, SLOT - 1), 0);
	assert_int_equal(slot_table_last_seen(&t, SLOT + 1), 0);

	/* The max wherever it sits: an inline worker, then an overflow one. */
	assert_int_equal(burst_one(&t, 4, SLOT, NOW - 10), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT), NOW - 10);
	assert_int_equal(burst_one(&t, 40, SLOT, NOW - 5), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT), NOW - 5);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT, 4), NOW - 10);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT, 41), NOW - 1000 + 7 * 41);
	slot_table_destroy(&t);
}

static void test_restore_then_newer(void **state)
{
	(void)state;
	struct slot_table t;
	make(&t, 12, SLOT + 1);
	slot_table_restore_seen(&t, SLOT, NOW - 100);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT, 0), NOW - 100);
	assert_int_equal(slot_table_last_seen(&t, SLOT), NOW - 100);
	/* An older heartbeat elsewhere does not lower the max... */
	assert_int_equal(burst_one(&t, 3, SLOT, NOW - 200), HB_ACCEPTED);
	assert_int_equal(burst_one(&t, 10, SLOT, NOW - 300), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT), NOW - 100);
	/* ...and a newer one of any worker, inline or overflow, wins. */
	assert_int_equal(burst_one(&t, 11, SLOT, NOW - 50), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT), NOW - 50);
	/* Worker 0 itself only moves forward from the restored value. */
	assert_int_equal(burst_one(&t, 0, SLOT, NOW - 150), HB_ACCEPTED);
	assert_int_equal(*slot_dir_seen(t.dir, SLOT, 0), NOW - 100);
	slot_table_destroy(&t);
}

static void test_clear_every_worker(void **state)
{
	(void)state;
	struct slot_table t;
	make(&t, 12, SLOT + 1);
	for (unsigned w = 0; w < 12; w++)
		assert_int_equal(burst_one(&t, w, SLOT, NOW - w), HB_ACCEPTED);
	assert_int_equal(burst_one(&t, 10, SLOT + 1, NOW - 1), HB_ACCEPTED);
	slot_table_release(&t, SLOT);
	slot_table_clear_seen(&t, SLOT);
	const struct slot_entry *e = slot_dir_entry(t.dir, SLOT);
	static const uint8_t zero[HB_KEY_LEN];
	assert_int_equal(e->id, 0);
	assert_memory_equal(e->key, zero, HB_KEY_LEN);
	assert_int_equal(e->src_tag, 0);
	for (unsigned w = 0; w < 12; w++)
		assert_int_equal(*slot_dir_seen(t.dir, SLOT, w), 0);
	assert_int_equal(slot_table_last_seen(&t, SLOT), 0);
	/* Only that slot: the next one keeps its overflow worker's time. */
	assert_int_equal(slot_table_last_seen(&t, SLOT + 1), NOW - 1);
	/* The next owner starts from never seen, and is heard. */
	slot_table_assign(&t, SLOT, id_of(SLOT), key);
	assert_int_equal(burst_one(&t, 9, SLOT, NOW - 3), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, SLOT), NOW - 3);
	slot_table_destroy(&t);
}

static void test_growth_keeps_all(void **state)
{
	(void)state;
	const uint32_t nw = 12, nover = nw - SLOT_INLINE_WORKERS;
	size_t base = gn_table_bytes();
	struct slot_table t;
	make(&t, nw, SLOT + 1);
	for (unsigned w = 0; w < nw; w++)
		assert_int_equal(burst_one(&t, w, SLOT, NOW - 20 * w), HB_ACCEPTED);
	const struct slot_dir *before = t.dir;
	assert_int_equal(slot_table_reserve(&t, FAR), 0);
	assert_ptr_not_equal(t.dir, before);
	assert_int_equal(t.dir->nchunks, 3);
	for (unsigned w = 0; w < nw; w++)
		assert_int_equal(*slot_dir_seen(t.dir, SLOT, w), NOW - 20 * w);
	/* New chunks start at zero for everyone, and are written. */
	slot_table_assign(&t, FAR, id_of(FAR), key);
	for (unsigned w = 0; w < nw; w++)
		assert_int_equal(*slot_dir_seen(t.dir, FAR, w), 0);
	assert_int_equal(burst_one(&t, 11, FAR, NOW - 2), HB_ACCEPTED);
	assert_int_equal(burst_one(&t, 2, FAR, NOW - 4), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, FAR), NOW - 2);
	assert_int_equal(slot_table_last_seen(&t, SLOT), NOW);
	/* Memory: 3 chunks of 64-byte entries, 3 overflow arrays each, one
	 * directory of 3 chunk and 9 overflow pointers. */
	size_t want = 3 * (SLOT_CHUNK_SLOTS * 64 + nover * SLOT_CHUNK_SLOTS * sizeof(uint32_t)) +
		      sizeof(struct slot_dir) + 3 * (1 + nover) * sizeof(void *);
	assert_int_equal(gn_table_bytes() - base, want);
	slot_table_destroy(&t);
	assert_int_equal(gn_table_bytes(), base);
}

/* Up to SLOT_INLINE_WORKERS workers: no overflow memory at all; one
 * worker: 32 B a slot (less than the 36 of before issue 15). */
static void test_inline_only_memory(void **state)
{
	(void)state;
	const uint32_t nw[] = {1, 2, SLOT_INLINE_WORKERS};
	for (unsigned i = 0; i < 3; i++) {
		size_t base = gn_table_bytes();
		struct slot_table t;
		make(&t, nw[i], SLOT_CHUNK_SLOTS);
		assert_int_equal(t.dir->nover, 0);
		assert_int_equal(gn_table_bytes() - base, 2 * SLOT_CHUNK_SLOTS * (nw[i] == 1 ? 32 : 64) +
								  sizeof(struct slot_dir) + 2 * sizeof(void *));
		slot_table_destroy(&t);
	}
}

/* As on a machine with no hugepages reserved (the tests' usual case). */
static void test_pages_fallback(void **state)
{
	(void)state;
	gn_table_pages_no_huge(true);
	size_t base = gn_table_bytes();
	struct slot_table t;
	assert_int_equal(slot_table_init(&t, 2, 4 * SLOT_CHUNK_SLOTS), 0);
	assert_int_equal(slot_table_note_pages(&t), 0); /* makes chunk 0 */
	assert_int_equal(t.dir->nchunks, 1);
	assert_int_equal(t.huge_chunks, 0);
	assert_int_equal(t.small_chunks, 1);
	assert_int_equal(slot_table_reserve(&t, FAR), 0);
	assert_int_equal(t.small_chunks, 3);
	assert_false(t.fallback_noted); /* never on hugepages: nothing ran out */
	slot_table_assign(&t, FAR, id_of(FAR), key);
	assert_int_equal(burst_one(&t, 1, FAR, NOW - 1), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&t, FAR), NOW - 1);
	assert_int_equal(gn_table_bytes() - base,
			 3 * SLOT_CHUNK_SLOTS * 64 + sizeof(struct slot_dir) + 3 * sizeof(void *));
	slot_table_destroy(&t);
	assert_int_equal(gn_table_bytes(), base);
	/* Not a multiple of 2 MiB: refused, not rounded. */
	bool huge = true;
	assert_null(gn_table_alloc_pages(GN_HUGE_PAGE + 4096, &huge));
	assert_false(huge);
	gn_table_pages_no_huge(false);
}

static long hp_count(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-2048kB/%s", name);
	FILE *f = fopen(path, "r");
	long n = -1;
	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* Free and not promised to a mapping yet (a hugetlb mmap reserves its
 * pages at once, and they count as free until touched). */
static long free_hugepages(void)
{
	return hp_count("free_hugepages") - hp_count("resv_hugepages");
}

/* Where 2 MiB pages are free: the chunks take them; when the pool runs out
 * (here: as if it had, after the first chunk) the next chunks fall back,
 * counted and noted once, and all of them work. */
static void test_pages_huge_then_out(void **state)
{
	(void)state;
	if (free_hugepages() < 2 * (long)(SLOT_CHUNK_SLOTS * 64 / GN_HUGE_PAGE))
		skip();
	struct slot_table t;
	assert_int_equal(slot_table_init(&t, 2, 4 * SLOT_CHUNK_SLOTS), 0);
	assert_int_equal(slot_table_note_pages(&t), 0);
	if (t.huge_chunks != 1) { /* another process took them meanwhile */
		slot_table_destroy(&t);
		skip();
	}
	gn_table_pages_no_huge(true);
	assert_int_equal(slot_table_reserve(&t, FAR), 0);
	gn_table_pages_no_huge(false);
	assert_int_equal(t.huge_chunks, 1);
	assert_int_equal(t.small_chunks, 2);
	assert_true(t.fallback_noted);
	for (uint32_t s = SLOT; s <= FAR; s += FAR - SLOT) {
		slot_table_assign(&t, s, id_of(s), key);
		assert_int_equal(burst_one(&t, 0, s, NOW - 2), HB_ACCEPTED);
		assert_int_equal(slot_table_last_seen(&t, s), NOW - 2);
	}
	long before = free_hugepages();
	slot_table_destroy(&t); /* munmap of the whole 4 MiB gives both pages back */
	assert_true(free_hugepages() >= before + 2);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	rcu_register_thread();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_is_one_line),
		cmocka_unit_test(test_one_worker_neighbours),
		cmocka_unit_test(test_all_workers_keep_their_own),
		cmocka_unit_test(test_restore_then_newer),
		cmocka_unit_test(test_clear_every_worker),
		cmocka_unit_test(test_growth_keeps_all),
		cmocka_unit_test(test_inline_only_memory),
		cmocka_unit_test(test_pages_fallback),
		cmocka_unit_test(test_pages_huge_then_out),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return rc;
}
