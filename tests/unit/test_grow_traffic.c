/*
 * Issue #5: the slot table grows past one million slots while workers take
 * traffic. One control thread grows the real table (slot_table_reserve +
 * slot_table_assign) from 0 to GROW_SLOTS, publishing "slots assigned so
 * far" through an atomic; two worker threads, QSBR readers exactly like
 * dataplane/worker.c (one quiescent state per burst), send themselves valid
 * heartbeats for published slots through the real accept path.
 *
 * Proves: a published slot never gets a verdict other than ACCEPTED, even
 * while its chunk was appended a moment ago and the directory swapped under
 * the reader; every accepted heartbeat is visible afterwards in that
 * worker's own seen array with the newest time it sent (so nothing written
 * through an old directory was lost); the other worker's array is untouched
 * by it; and every superseded directory was freed (gn_table_bytes counts
 * exactly the live chunks plus one directory, and 0 after destroy).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <cmocka.h>

#include "glournet/gn_mem.h"
#include "glournet/hb_accept.h"
#include "glournet/hb_encode.h"
#include "support/tu_rand.h"

#define GROW_SLOTS   1200000u
#define BATCH        4096u           /* slots assigned between waits for the workers */
#define NWORKERS     2u
#define BURST        32u
#define NOW          1795000000u
#define DEADLINE_S   30              /* a hang fails the test instead of blocking CI */

static struct slot_table t;
static uint32_t published;           /* slots [0, published) are assigned */
static int control_done;
static int failed;                   /* set by any thread that gives up */
static const struct hb_window win = {.now = NOW, .window = 300, .skew = 30};

struct worker {
	unsigned index;
	uint64_t bursts;                 /* read by the control thread */
	uint64_t sent;
	uint64_t verdict[HB_VERDICT_COUNT];
	unsigned dirs_seen;              /* directory changes this reader went through */
	uint32_t *expect;                /* newest time sent per slot: what seen must hold */
	uint64_t rng;
	pthread_t thread;
};

static struct worker workers[NWORKERS];

static uint64_t slot_id(uint32_t slot)
{
	return 0x9E3779B97F4A7C15ull * (slot + 1) | 1;   /* never 0 */
}

static void slot_key(uint32_t slot, uint8_t key[HB_KEY_LEN])
{
	for (unsigned i = 0; i < HB_KEY_LEN; i++)
		key[i] = (uint8_t)(slot * 31 + i * 7 + (slot >> 8));
}

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A heartbeat the endpoint owning `slot` would send, MAC'd under its key. */
static void build_hb(uint8_t p[HB_PAYLOAD_LEN], uint32_t slot, uint32_t time)
{
	uint8_t key[HB_KEY_LEN];
	slot_key(slot, key);
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, slot, time, slot_id(slot), key);
}

/* Half the traffic goes to the newest BATCH slots (the chunk appended a
 * moment ago), half anywhere published. Times vary inside the window so
 * "keeps the newest" is checked as well as "kept at all". */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t frames[BURST][HB_PAYLOAD_LEN];
	uint32_t slots[BURST], times[BURST];
	const struct slot_dir *last_dir = NULL;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	rcu_register_thread();
	for (;;) {
		int done = __atomic_load_n(&control_done, __ATOMIC_ACQUIRE);
		/* A slot below the bound is in this directory: reserve published
		 * its directory and waited a grace period before the assign. */
		uint32_t n = __atomic_load_n(&published, __ATOMIC_ACQUIRE);
		if (n > 0) {
			for (unsigned i = 0; i < BURST; i++) {
				uint64_t r = tu_rand(&w->rng);
				uint32_t span = (i & 1) && n > BATCH ? BATCH : n;
				slots[i] = n - 1 - (uint32_t)(r % span);
				times[i] = NOW - (uint32_t)((r >> 32) % 200);
				build_hb(frames[i], slots[i], times[i]);
			}
			const struct slot_dir *dir = rcu_dereference(t.dir);
			if (dir != last_dir)
				w->dirs_seen++;
			last_dir = dir;
			for (unsigned i = 0; i < BURST; i++) {
				enum hb_verdict v = hb_accept(dir, w->index, frames[i], &win);
				w->verdict[v]++;
				if (v == HB_ACCEPTED && times[i] > w->expect[slots[i]])
					w->expect[slots[i]] = times[i];
			}
			w->sent += BURST;
		}
		rcu_quiescent_state();
		__atomic_store_n(&w->bursts, w->bursts + 1, __ATOMIC_RELEASE);
		if (done || __atomic_load_n(&failed, __ATOMIC_RELAXED))
			break;
		if (elapsed_s(&t0) > DEADLINE_S) {
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	rcu_unregister_thread();
	return NULL;
}

/* Waits (bounded) until every worker finished two more bursts, so traffic
 * interleaves with every batch and every directory swap. */
static int wait_workers(const struct timespec *t0)
{
	uint64_t start[NWORKERS];
	for (unsigned i = 0; i < NWORKERS; i++)
		start[i] = __atomic_load_n(&workers[i].bursts, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < NWORKERS; i++) {
		while (__atomic_load_n(&workers[i].bursts, __ATOMIC_ACQUIRE) < start[i] + 2) {
			if (__atomic_load_n(&failed, __ATOMIC_RELAXED) || elapsed_s(t0) > DEADLINE_S)
				return -1;
			sched_yield();
		}
	}
	return 0;
}

static void test_grow_with_traffic(void **state)
{
	(void)state;
	size_t base = gn_table_bytes();
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	assert_int_equal(slot_table_init(&t, NWORKERS, GROW_SLOTS), 0);
	for (unsigned i = 0; i < NWORKERS; i++) {
		workers[i].index = i;
		workers[i].rng = 0x2545F4914F6CDD1Dull * (i + 1);
		workers[i].expect = calloc(GROW_SLOTS, sizeof(uint32_t));
		assert_non_null(workers[i].expect);
		assert_int_equal(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]), 0);
	}

	/* The control thread: not an RCU reader, like glournetd's. */
	unsigned grows = 0;
	for (uint32_t slot = 0; slot < GROW_SLOTS; slot++) {
		uint32_t cap = slot_table_capacity(&t);
		assert_int_equal(slot_table_reserve(&t, slot), 0);
		if (slot_table_capacity(&t) != cap)
			grows++;
		uint8_t key[HB_KEY_LEN];
		slot_key(slot, key);
		slot_table_assign(&t, slot, slot_id(slot), key);
		__atomic_store_n(&published, slot + 1, __ATOMIC_RELEASE);
		if ((slot + 1) % BATCH == 0 && wait_workers(&t0) != 0)
			break;
	}
	if (wait_workers(&t0) != 0)
		__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&control_done, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < NWORKERS; i++)
		pthread_join(workers[i].thread, NULL);
	assert_false(failed);
	assert_int_equal(published, GROW_SLOTS);

	uint32_t nchunks = (GROW_SLOTS + SLOT_CHUNK_SLOTS - 1) / SLOT_CHUNK_SLOTS;
	assert_int_equal(grows, nchunks);
	assert_int_equal(t.dir->nchunks, nchunks);
	print_message("grew to %u slots in %u directory swaps, %.2f s; heartbeats per worker:",
		      GROW_SLOTS, grows, elapsed_s(&t0));

	for (unsigned i = 0; i < NWORKERS; i++) {
		struct worker *w = &workers[i];
		print_message(" %llu", (unsigned long long)w->sent);
		/* Enough traffic to have crossed every swap (two bursts per batch at least). */
		assert_true(w->sent >= 2ull * BURST * (GROW_SLOTS / BATCH));
		/* Each worker read through every directory, so through every swap. */
		assert_int_equal(w->dirs_seen, nchunks);
		assert_int_equal(w->verdict[HB_ACCEPTED], w->sent);
		for (unsigned v = 0; v < HB_VERDICT_COUNT; v++)
			if (v != HB_ACCEPTED)
				assert_int_equal(w->verdict[v], 0);
	}
	print_message("\n");

	/* Every accepted heartbeat landed, with the newest time, in its own
	 * worker's array only; slots nobody hit read 0. */
	const struct slot_dir *dir = t.dir;
	uint64_t hit = 0;
	for (uint32_t slot = 0; slot < GROW_SLOTS; slot++) {
		uint32_t newest = 0;
		for (unsigned i = 0; i < NWORKERS; i++) {
			uint32_t seen = *slot_dir_seen(dir, slot, i);
			if (seen != workers[i].expect[slot])
				fail_msg("slot %u worker %u: seen %u, expected %u", slot, i, seen,
					 workers[i].expect[slot]);
			if (seen > newest)
				newest = seen;
			hit += seen != 0;
		}
		assert_int_equal(slot_table_last_seen(&t, slot), newest);
	}
	assert_true(hit > 0);

	/* Reclaim: what is held is the live chunks and one directory; the
	 * nchunks - 1 superseded directories were freed after their grace periods. */
	size_t nover = t.dir->nover;
	size_t chunk_bytes = slot_dir_chunk_bytes(t.dir) + nover * SLOT_CHUNK_SLOTS * sizeof(uint32_t);
	size_t dir_bytes = sizeof(struct slot_dir) + nchunks * (1 + nover) * sizeof(void *);
	assert_int_equal(gn_table_bytes() - base, nchunks * chunk_bytes + dir_bytes);
	slot_table_destroy(&t);
	assert_int_equal(gn_table_bytes(), base);
	for (unsigned i = 0; i < NWORKERS; i++)
		free(workers[i].expect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_with_traffic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
