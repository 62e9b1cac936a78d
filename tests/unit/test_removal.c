/*
 * Endpoint removal and slot reuse (issue #5). Proves: slot_index_remove
 * (backward shift) keeps every other entry findable under full collisions,
 * in clusters that wrap the table's end and through a long random mix
 * checked against a model; registry_remove makes the id and guid unknown,
 * drops the counts, zeroes the slot's id so the workers answer
 * HB_UNKNOWN_SLOT, and feeds one TK_REMOVED (no status transition); a
 * quarantined slot is not reused before registry_reclaim, which clears
 * every worker's timestamps; then the new owner starts at "never seen" and
 * the old owner's late heartbeat is HB_ID_MISMATCH and changes nothing,
 * also with a live RCU reader sending it all along; free slots are reused
 * oldest first and skipped by the sweep and reclassification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "control/ranges.h"
#include "control/registry.h"
#include "control/slot_index.h"
#include "control/status.h"
#include "control/sweep.h"
#include "control/transitions.h"
#include "glournet/hb_accept.h"
#include "glournet/hb_encode.h"
#define LOG_TAG "test"
#include "glournet/log.h"
#include "support/tu_heartbeat.h"
#include "support/tu_registry.h"

#define NOW 1795000000u

/* ================= slot_index_remove ================= */

/* Keys are the slots themselves: the match is slot == key. */
static bool match_slot(void *ctx, uint32_t slot, const void *key)
{
	(void)ctx;
	return slot == *(const uint32_t *)key;
}

static uint32_t find(const struct slot_index *ix, uint64_t hash, uint32_t slot)
{
	return slot_index_find(ix, hash, match_slot, NULL, &slot);
}

/* No entry sits behind a hole: from its home cell to its own, every cell
 * is taken (what lookups rely on); tombstones count as taken. */
static size_t check_table(const struct slot_index_table *t)
{
	size_t used = 0, mask = ((size_t)1 << t->bits) - 1;
	for (size_t i = 0; i <= mask; i++) {
		uint32_t sp = t->cells[i].slot_plus1;
		if (!sp || sp == UINT32_MAX)
			continue;
		used++;
		size_t home = t->cells[i].tag >> (32 - t->bits);
		for (size_t j = home; j != i; j = (j + 1) & mask)
			if (!t->cells[j].slot_plus1)
				fail_msg("cell %zu (home %zu) sits behind the empty cell %zu", i, home, j);
	}
	assert_int_equal(used, t->used);
	return used;
}

static void check_no_holes(const struct slot_index *ix)
{
	size_t used = check_table(&ix->cur);
	if (ix->old.cells)
		used += check_table(&ix->old);
	assert_int_equal(used, slot_index_count(ix));
}

/* A hash whose home cell in a 16-cell table is `home`; `salt` tells
 * hashes with the same home apart. */
#define H(home, salt) (((uint64_t)(home) << 60) | ((uint64_t)(salt) << 32))

static void test_index_remove_collisions(void **state)
{
	(void)state;
	struct slot_index ix;
	assert_int_equal(slot_index_init(&ix, 0), 0);
	for (uint32_t s = 0; s < 64; s++)
		assert_int_equal(slot_index_insert(&ix, H(5, 42), s), 0);   /* one hash for all */
	for (uint32_t s = 0; s < 64; s += 2)
		assert_int_equal(slot_index_remove(&ix, H(5, 42), s), 0);
	assert_int_equal(slot_index_remove(&ix, H(5, 42), 0), -ENOENT);    /* gone already */
	assert_int_equal(slot_index_remove(&ix, H(5, 43), 1), -ENOENT);    /* other hash */
	assert_int_equal(slot_index_remove(&ix, H(5, 42), 64), -ENOENT);   /* never there */
	assert_int_equal(slot_index_count(&ix), 32);
	check_no_holes(&ix);
	for (uint32_t s = 0; s < 64; s++)
		assert_int_equal(find(&ix, H(5, 42), s), s % 2 ? s : UINT32_MAX);
	for (uint32_t s = 0; s < 64; s += 2)
		assert_int_equal(slot_index_insert(&ix, H(5, 42), s), 0);
	for (uint32_t s = 0; s < 64; s++)
		assert_int_equal(find(&ix, H(5, 42), s), s);
	check_no_holes(&ix);
	slot_index_destroy(&ix);
}

/* A cluster that runs over the end of the table into cell 0. */
static void test_index_remove_wraps(void **state)
{
	(void)state;
	/* 16 cells: homes 14, 15, 14, 0, 15 fill cells 14, 15, 0, 1, 2. */
	static const uint64_t hash[] = {H(14, 0), H(15, 0), H(14, 1), H(0, 4), H(15, 2)};
	static const uint32_t orders[][5] = {
		{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {1, 4, 0, 3, 2}, {3, 2, 1, 0, 4},
	};
	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		struct slot_index ix;
		assert_int_equal(slot_index_init(&ix, 4), 0);
		assert_int_equal(ix.cur.bits, 4);
		for (uint32_t s = 0; s < 5; s++)
			assert_int_equal(slot_index_insert(&ix, hash[s], s), 0);
		assert_int_equal(ix.cur.cells[0].slot_plus1, 3);   /* it did wrap */
		bool gone[5] = {false};
		for (int k = 0; k < 5; k++) {
			uint32_t victim = orders[o][k];
			assert_int_equal(slot_index_remove(&ix, hash[victim], victim), 0);
			gone[victim] = true;
			check_no_holes(&ix);
			for (uint32_t s = 0; s < 5; s++)
				if (find(&ix, hash[s], s) != (gone[s] ? UINT32_MAX : s))
					fail_msg("order %zu, after removing %u: slot %u %s", o, victim,
						 s, gone[s] ? "still found" : "lost");
		}
		assert_int_equal(slot_index_count(&ix), 0);
		slot_index_destroy(&ix);
	}
}

/* Inserts and removals at random over few distinct hashes (long clusters,
 * growth on the way), checked against a model. */
static void test_index_remove_random(void **state)
{
	(void)state;
	enum { KEYS = 600, OPS = 200000 };
	struct slot_index ix;
	bool live[KEYS] = {false};
	uint32_t nlive = 0, x = 12345;
	assert_int_equal(slot_index_init(&ix, 0), 0);
	for (int op = 1; op <= OPS; op++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		uint32_t k = x % KEYS;
		uint64_t h = (uint64_t)(k % 37) * 0x9E3779B97F4A7C15ull;
		if (live[k]) {
			assert_int_equal(slot_index_remove(&ix, h, k), 0);
			nlive--;
		} else {
			assert_int_equal(slot_index_insert(&ix, h, k), 0);
			nlive++;
		}
		live[k] = !live[k];
		if (op % 4000)
			continue;
		assert_int_equal(slot_index_count(&ix), nlive);
		check_no_holes(&ix);
		for (uint32_t j = 0; j < KEYS; j++) {
			uint64_t hj = (uint64_t)(j % 37) * 0x9E3779B97F4A7C15ull;
			if (find(&ix, hj, j) != (live[j] ? j : UINT32_MAX))
				fail_msg("op %d: key %u is %s but %s", op, j, live[j] ? "in" : "out",
					 live[j] ? "not found" : "found");
		}
	}
	slot_index_destroy(&ix);
}

/* Growth does not stop the world: a full table gets a successor and the
 * old cells move over a few at a time. Meanwhile every entry is found,
 * removals reach entries still in the old table (which must then never
 * come back), and inserts land in the new one. */
static void test_index_grows_incrementally(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct slot_index ix;
	assert_int_equal(slot_index_init(&ix, 0), 0);
	uint64_t migrations = 0;
	bool seen_midway = false;
	for (uint32_t k = 0; k < N; k++) {
		assert_int_equal(slot_index_insert(&ix, (uint64_t)(k + 1) * 0x9E3779B97F4A7C15ull, k), 0);
		if (ix.migrations != migrations && ix.old.cells && k > 1000 && !seen_midway) {
			migrations = ix.migrations;
			seen_midway = true;
			/* Midway through a growth: both tables hold entries. */
			assert_true(ix.old.used > 0);
			assert_true(ix.cur.used > 0);
			check_no_holes(&ix);
			for (uint32_t j = 0; j <= k; j++)
				assert_int_equal(find(&ix, (uint64_t)(j + 1) * 0x9E3779B97F4A7C15ull, j), j);
			/* Remove every third entry, wherever it sits. */
			for (uint32_t j = 0; j <= k; j += 3)
				assert_int_equal(slot_index_remove(&ix, (uint64_t)(j + 1) * 0x9E3779B97F4A7C15ull, j), 0);
			check_no_holes(&ix);
			/* Gone at once, moved already or not: no stale copy answers. */
			for (uint32_t j = 0; j <= k; j++)
				assert_int_equal(find(&ix, (uint64_t)(j + 1) * 0x9E3779B97F4A7C15ull, j),
						 j % 3 ? j : UINT32_MAX);
			while (slot_index_step(&ix, 7))
				;
			assert_null(ix.old.cells);
			for (uint32_t j = 0; j <= k; j++)
				assert_int_equal(find(&ix, (uint64_t)(j + 1) * 0x9E3779B97F4A7C15ull, j),
						 j % 3 ? j : UINT32_MAX);
			for (uint32_t j = 0; j <= k; j += 3)   /* back in */
				assert_int_equal(slot_index_insert(&ix, (uint64_t)(j + 1) * 0x9E3779B97F4A7C15ull, j), 0);
		}
	}
	assert_true(seen_midway);
	assert_true(ix.migrations >= 10);   /* 16 cells grew to 256 Ki */
	/* Drained: everything in the successor, at a load of at most 3/4. */
	while (slot_index_step(&ix, 1000))
		;
	assert_int_equal(slot_index_count(&ix), N);
	assert_true(((size_t)1 << ix.cur.bits) * 3 >= 4 * (size_t)N);
	check_no_holes(&ix);
	for (uint32_t j = 0; j < N; j++)
		assert_int_equal(find(&ix, (uint64_t)(j + 1) * 0x9E3779B97F4A7C15ull, j), j);
	slot_index_destroy(&ix);
}

/* ================= registry removal and reuse ================= */

static struct tu_registry fx;

/* The registry fixture, with a feed (removals are events). */
static int reg_setup(void **state)
{
	if (tu_registry_setup(state) < 0)
		return -1;
	fx.reg.feed = feed_new(1024, NULL);
	return fx.reg.feed ? 0 : -1;
}

static struct endpoint *add(const char *guid, uint32_t now)
{
	return tu_add_registered(&fx.reg, fx.pol, guid, now);
}

/* A heartbeat for (slot, id) signed with key, through the workers' check,
 * in a window wide enough for every time these tests use. */
static enum hb_verdict heartbeat(unsigned worker, uint32_t slot, uint64_t id,
				 const uint8_t key[HB_KEY_LEN], uint32_t time)
{
	struct hb_window w = {.now = NOW + 100000, .window = 200000, .skew = 30};
	return tu_heartbeat(fx.tbl.dir, worker, slot, id, key, time, &w);
}

/* Counts agree with the live endpoints; every slot is live, free or
 * quarantined, exactly once. */
static void check_counts(void)
{
	uint32_t st[EP_STATUS_COUNT] = {0}, live = 0;
	for (uint32_t s = 0; s < fx.reg.nslots; s++) {
		if (!(*registry_at(&fx.reg, s)).id)
			continue;
		live++;
		st[(*registry_at(&fx.reg, s)).status]++;
	}
	for (int i = 0; i < EP_STATUS_COUNT; i++)
		if (st[i] != fx.reg.by_status[i])
			fail_msg("by_status[%s] = %u, endpoints say %u", ep_status_name(i),
				 fx.reg.by_status[i], st[i]);
	assert_int_equal(live, fx.reg.count);
	assert_int_equal(fx.reg.nslots, fx.reg.count + fx.reg.nfree + fx.reg.nquarantine);
}

static uint32_t seen(uint32_t slot, unsigned worker)
{
	return *slot_dir_seen(fx.tbl.dir, slot, worker);
}

static void test_remove_basics(void **state)
{
	(void)state;
	add("a", NOW);
	struct endpoint *b = add("b", NOW);
	add("c", NOW);
	uint64_t id = b->id;
	uint8_t key[HB_KEY_LEN];
	memcpy(key, registry_key(&fx.reg, b), sizeof(key));
	assert_int_equal(heartbeat(1, 1, id, key, NOW + 5), HB_ACCEPTED);
	uint64_t seq = feed_next_seq(fx.reg.feed);

	registry_remove(&fx.reg, b, EP_REMOVED_OPERATOR, NOW + 10);
	assert_null(registry_by_id(&fx.reg, id));
	assert_null(registry_by_guid(&fx.reg, "b"));
	assert_null(registry_by_slot(&fx.reg, 1));
	assert_non_null(registry_by_guid(&fx.reg, "a"));
	assert_non_null(registry_by_guid(&fx.reg, "c"));
	assert_int_equal(registry_by_guid(&fx.reg, "c")->slot, 2);
	assert_int_equal(fx.reg.count, 2);
	assert_int_equal(fx.reg.by_status[EP_ONLINE], 2);
	assert_int_equal(fx.reg.removed[EP_REMOVED_OPERATOR], 1);
	assert_int_equal(fx.reg.nquarantine, 1);
	assert_int_equal(fx.reg.nfree, 0);
	check_counts();
	/* The workers: the slot belongs to nobody. */
	assert_int_equal(slot_dir_entry(fx.tbl.dir, 1)->id, 0);
	assert_int_equal(heartbeat(0, 1, id, key, NOW + 11), HB_UNKNOWN_SLOT);
	/* One feed event, a removal, not a status change. */
	assert_int_equal(feed_next_seq(fx.reg.feed), seq + 1);
	const struct transition *t = feed_get(fx.reg.feed, seq);
	assert_int_equal(t->kind, TK_REMOVED);
	assert_int_equal(t->id, id);
	assert_int_equal(t->slot, 1);
	assert_int_equal(t->time, NOW + 10);
	assert_int_equal(t->old_status, EP_ONLINE);
	assert_int_equal(t->reason, EP_REMOVED_OPERATOR);
	/* The free slot still names its last owner for watchers. */
	assert_int_equal((*registry_at(&fx.reg, 1)).removed_id, id);
	assert_string_equal(ep_guid(registry_at(&fx.reg, 1)), "b");
	/* Not reused while quarantined: a new endpoint gets a new slot. */
	struct endpoint *d = add("d", NOW + 12);
	assert_int_equal(d->slot, 3);
	assert_int_equal(heartbeat(0, 1, id, key, NOW + 12), HB_UNKNOWN_SLOT);
	/* Same guid again: a new endpoint, new id. */
	struct endpoint *b2 = add("b", NOW + 13);
	assert_int_equal(b2->slot, 4);
	assert_true(b2->id != id);
	check_counts();
}

static void test_reuse_after_reclaim(void **state)
{
	(void)state;
	struct endpoint *old = add("old", NOW);
	uint32_t slot = old->slot;
	uint64_t old_id = old->id;
	uint8_t old_key[HB_KEY_LEN];
	memcpy(old_key, registry_key(&fx.reg, old), sizeof(old_key));
	assert_int_equal(heartbeat(0, slot, old_id, old_key, NOW + 50), HB_ACCEPTED);
	assert_int_equal(heartbeat(1, slot, old_id, old_key, NOW + 60), HB_ACCEPTED);
	registry_remove(&fx.reg, old, EP_REMOVED_OPERATOR, NOW + 70);
	/* Quarantined: the old timestamps are still there. */
	assert_int_equal(slot_table_last_seen(&fx.tbl, slot), NOW + 60);

	assert_int_equal(registry_reclaim(&fx.reg), 1);
	assert_int_equal(registry_reclaim(&fx.reg), 0);   /* nothing left */
	assert_int_equal(fx.reg.nquarantine, 0);
	assert_int_equal(fx.reg.nfree, 1);
	assert_int_equal(seen(slot, 0), 0);
	assert_int_equal(seen(slot, 1), 0);
	const uint8_t zero[HB_KEY_LEN] = {0};
	assert_memory_equal(slot_dir_entry(fx.tbl.dir, slot)->key, zero, HB_KEY_LEN);

	struct endpoint *nu = add("new", NOW + 80);
	assert_int_equal(nu->slot, slot);
	assert_int_equal(fx.reg.nfree, 0);
	assert_true(nu->id != old_id);
	assert_int_equal(slot_dir_entry(fx.tbl.dir, slot)->id, nu->id);
	assert_int_equal(slot_table_last_seen(&fx.tbl, slot), 0);   /* never seen */
	sweep_run(&fx.sw, &fx.reg, fx.pol, NOW + 81, &(struct sweep_result){0});
	assert_int_equal(nu->last_heartbeat, 0);

	/* The old owner's late heartbeat: refused, nothing recorded. */
	uint64_t seq = feed_next_seq(fx.reg.feed);
	for (unsigned w = 0; w < 2; w++)
		assert_int_equal(heartbeat(w, slot, old_id, old_key, NOW + 90), HB_ID_MISMATCH);
	/* ... even signed with the new key, or claiming the new id with the old key. */
	assert_int_equal(heartbeat(0, slot, old_id, registry_key(&fx.reg, nu), NOW + 90), HB_ID_MISMATCH);
	assert_int_equal(heartbeat(0, slot, nu->id, old_key, NOW + 90), HB_BAD_MAC);
	assert_int_equal(slot_table_last_seen(&fx.tbl, slot), 0);
	sweep_run(&fx.sw, &fx.reg, fx.pol, NOW + 91, &(struct sweep_result){0});
	assert_int_equal(nu->last_heartbeat, 0);
	assert_int_equal(nu->status, EP_ONLINE);
	assert_int_equal(nu->reason, EP_REASON_REGISTERED);
	assert_int_equal(feed_next_seq(fx.reg.feed), seq);
	/* The new owner's own heartbeat works. */
	assert_int_equal(heartbeat(1, slot, nu->id, registry_key(&fx.reg, nu), NOW + 95), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&fx.tbl, slot), NOW + 95);
	check_counts();
}

/* A restart restores endpoints in whatever order the store reads them;
 * slots nobody holds become free, in slot order, once restoring is done. */
static void test_restore_any_order(void **state)
{
	(void)state;
	static const uint32_t slots[] = {5, 1, 3, 70000};   /* 70000: a second chunk */
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep;
	char g[16];
	for (int i = 0; i < 4; i++) {
		memset(key, i + 1, sizeof(key));
		snprintf(g, sizeof(g), "r%u", slots[i]);
		assert_int_equal(registry_add_restored(&fx.reg, g, 100 + slots[i], key, slots[i], &ep), 0);
		assert_int_equal(ep->slot, slots[i]);
	}
	memset(key, 9, sizeof(key));
	assert_int_equal(registry_add_restored(&fx.reg, "x", 999, key, 3, &ep), -EEXIST);    /* slot */
	assert_int_equal(registry_add_restored(&fx.reg, "r5", 998, key, 7, &ep), -EEXIST);   /* guid */
	assert_int_equal(registry_add_restored(&fx.reg, "y", 101, key, 8, &ep), -EEXIST);    /* id */
	assert_int_equal(fx.reg.count, 4);
	assert_int_equal(fx.reg.nslots, 70001);
	registry_restore_done(&fx.reg);
	assert_int_equal(fx.reg.nfree, 70001 - 4);
	assert_int_equal(registry_add_restored(&fx.reg, "z", 997, key, 80000, &ep), -EINVAL);
	for (int i = 0; i < 4; i++) {
		memset(key, i + 1, sizeof(key));
		ep = registry_by_id(&fx.reg, 100 + slots[i]);
		assert_non_null(ep);
		assert_int_equal(ep->slot, slots[i]);
		assert_memory_equal(registry_key(&fx.reg, ep), key, HB_KEY_LEN);
		assert_int_equal(heartbeat(0, slots[i], ep->id, key, NOW), HB_ACCEPTED);
	}
	/* The holes, lowest first: 0, 2, 4, 6, ... */
	static const uint32_t want[] = {0, 2, 4, 6, 7};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(g, sizeof(g), "n%zu", i);
		assert_int_equal(add(g, NOW)->slot, want[i]);
	}
	check_counts();
}

/* Free slots are handed out oldest first, before the table grows. */
static void test_reuse_order(void **state)
{
	(void)state;
	char g[16];
	for (int i = 0; i < 6; i++) {
		snprintf(g, sizeof(g), "e%d", i);
		add(g, NOW);
	}
	registry_remove(&fx.reg, registry_by_guid(&fx.reg, "e4"), EP_REMOVED_OPERATOR, NOW);
	registry_remove(&fx.reg, registry_by_guid(&fx.reg, "e1"), EP_REMOVED_EXPIRED, NOW);
	assert_int_equal(registry_reclaim(&fx.reg), 2);
	registry_remove(&fx.reg, registry_by_guid(&fx.reg, "e2"), EP_REMOVED_OPERATOR, NOW);
	assert_int_equal(registry_reclaim(&fx.reg), 1);
	static const uint32_t want[] = {4, 1, 2, 6, 7};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(g, sizeof(g), "n%zu", i);
		assert_int_equal(add(g, NOW)->slot, want[i]);
	}
	assert_int_equal(fx.reg.nslots, 8);
	assert_int_equal(fx.reg.count, 8);
	assert_int_equal(fx.reg.removed[EP_REMOVED_OPERATOR], 2);
	assert_int_equal(fx.reg.removed[EP_REMOVED_EXPIRED], 1);
	check_counts();
}

/* ---- the old owner keeps sending from a live worker throughout ---- */

static volatile int rd_stop;
static uint64_t rd_id;
static uint8_t rd_key[HB_KEY_LEN];
static unsigned long rd_count[HB_VERDICT_COUNT];

static void *old_owner_worker(void *arg)
{
	uint32_t slot = (uint32_t)(uintptr_t)arg;
	rcu_register_thread();
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, slot, NOW + 500, rd_id, rd_key);
	struct hb_window w = {.now = NOW + 1000, .window = 2000, .skew = 30};
	while (!__atomic_load_n(&rd_stop, __ATOMIC_ACQUIRE)) {
		const struct slot_dir *d = rcu_dereference(fx.tbl.dir);
		__atomic_fetch_add(&rd_count[hb_accept(d, 1, p, &w)], 1, __ATOMIC_RELAXED);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

static void wait_for(const unsigned long *counter, unsigned long n)
{
	for (int i = 0; i < 20000 && __atomic_load_n(counter, __ATOMIC_RELAXED) < n; i++)
		usleep(100);
	if (__atomic_load_n(counter, __ATOMIC_RELAXED) < n)
		fail_msg("the worker did not get %lu heartbeats through in 2 s", n);
}

static void test_reuse_with_live_worker(void **state)
{
	(void)state;
	for (int round = 0; round < 20; round++) {
		char g[16];
		snprintf(g, sizeof(g), "old%d", round);
		struct endpoint *old = add(g, NOW);
		uint32_t slot = old->slot;
		rd_id = old->id;
		memcpy(rd_key, registry_key(&fx.reg, old), sizeof(rd_key));
		memset(rd_count, 0, sizeof(rd_count));
		rd_stop = 0;
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, old_owner_worker,
						(void *)(uintptr_t)slot), 0);
		wait_for(&rd_count[HB_ACCEPTED], 100);
		registry_remove(&fx.reg, old, EP_REMOVED_OPERATOR, NOW + 600);
		registry_reclaim(&fx.reg);
		/* From here the worker cannot write this slot. */
		assert_int_equal(slot_table_last_seen(&fx.tbl, slot), 0);
		snprintf(g, sizeof(g), "new%d", round);
		struct endpoint *nu = add(g, NOW + 601);
		assert_int_equal(nu->slot, slot);
		unsigned long mism = rd_count[HB_ID_MISMATCH];
		wait_for(&rd_count[HB_ID_MISMATCH], mism + 100);
		__atomic_store_n(&rd_stop, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		if (slot_table_last_seen(&fx.tbl, slot) != 0)
			fail_msg("round %d: the old owner's heartbeat landed on the new owner", round);
		/* Every heartbeat was one of the three; none failed its MAC
		 * against the new owner's key. */
		for (int v = 0; v < HB_VERDICT_COUNT; v++)
			if (rd_count[v] && v != HB_ACCEPTED && v != HB_UNKNOWN_SLOT &&
			    v != HB_ID_MISMATCH)
				fail_msg("round %d: %lu heartbeats were %s", round, rd_count[v],
					 hb_verdict_name(v));
		registry_remove(&fx.reg, nu, EP_REMOVED_OPERATOR, NOW + 602);
		registry_reclaim(&fx.reg);
	}
	check_counts();
}

/* Walks over the slots skip the free ones: the sweep and reclassification. */
static void test_free_slots_skipped(void **state)
{
	(void)state;
	struct endpoint *ep;
	const char *ips[] = {"10.0.0.1", "10.0.0.2", "192.0.2.1"};
	for (int i = 0; i < 3; i++) {
		char g[8];
		snprintf(g, sizeof(g), "s%d", i);
		assert_int_equal(registry_add(&fx.reg, g, NOW, &ep), 0);
		struct gn_addr a = {.family = AF_INET};
		assert_int_equal(inet_pton(AF_INET, ips[i], a.bytes), 1);
		assert_int_equal(registry_set_ips(&fx.reg, ep, &a, 1), 0);
		status_on_register(&fx.reg, fx.pol, ep, NOW);
	}
	registry_remove(&fx.reg, registry_by_guid(&fx.reg, "s0"), EP_REMOVED_OPERATOR, NOW);
	uint64_t seq = feed_next_seq(fx.reg.feed);
	struct sweep_result res;
	sweep_run(&fx.sw, &fx.reg, fx.pol, NOW + fx.pol->offline_after, &res);
	assert_int_equal(res.went_offline, 2);
	assert_int_equal(feed_next_seq(fx.reg.feed), seq + 2);
	for (uint64_t s = seq; s < seq + 2; s++)
		assert_int_not_equal(feed_get(fx.reg.feed, s)->slot, 0);
	check_counts();

	/* A range over every address: only the live one in it moves. */
	struct range_entry e;
	char err[128];
	assert_int_equal(range_parse("10.0.0.0-10.0.0.255", &e, err, sizeof(err)), 0);
	range_set_free(fx.pol->ranges);
	fx.pol->ranges = range_set_build(&e, 1);
	uint32_t moved = 0;
	assert_int_equal(status_reclassify_all(&fx.reg, fx.pol, NOW + 3000, &moved), 0);
	assert_int_equal(moved, 1);
	assert_int_equal(fx.reg.by_range[0][0], 1);
	assert_int_equal(fx.reg.by_range[0][1], 0);
	assert_int_equal(registry_range_of(&fx.reg, registry_at(&fx.reg, 0)), -1); /* a free slot */
	assert_false((*registry_at(&fx.reg, 0)).unreachable);
	check_counts();
}

#define REG(f) cmocka_unit_test_prestate_setup_teardown(f, reg_setup, tu_registry_teardown, &fx)

/* test_removal_daemon.c: expiry, settings, the command, the store. */
extern const struct CMUnitTest removal_daemon_tests[];
extern const size_t removal_daemon_ntests;

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	gn_log_max_level = GN_LOG_ERR;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_remove_collisions),
		cmocka_unit_test(test_index_remove_wraps),
		cmocka_unit_test(test_index_remove_random),
		cmocka_unit_test(test_index_grows_incrementally),
		REG(test_remove_basics),
		REG(test_reuse_after_reclaim),
		REG(test_reuse_order),
		REG(test_restore_any_order),
		REG(test_reuse_with_live_worker),
		REG(test_free_slots_skipped),
	};
	int rc = cmocka_run_group_tests_name("registry", tests, NULL, NULL);
	rc |= _cmocka_run_group_tests("daemon", removal_daemon_tests, removal_daemon_ntests,
				      NULL, NULL);
	return rc;
}
